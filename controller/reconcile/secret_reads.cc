#include "reconcile/secret_reads.h"

namespace plumbline::reconcile {

void SecretReads::Listed() {
  MutexLock lock(mu_);
  watched_ = true;
  ++events_;
  kept_.clear();
}

void SecretReads::Changed(const std::string& ns, const std::string& name) {
  MutexLock lock(mu_);
  ++events_;
  const std::string key = ns + "/" + name;
  for (auto it = kept_.lower_bound({key, ""}); it != kept_.end() && it->first.first == key;) {
    it = kept_.erase(it);
  }
}

}  // namespace plumbline::reconcile
