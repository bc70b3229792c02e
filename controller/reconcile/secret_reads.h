// What the reconciler reads from Secrets (git credentials, decryption keys), kept until the watch
// of Secrets says that Secret changed, so that an idle reconcile reads none. Without a watch
// nothing is kept: every reconcile reads the Secret. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>

#include "common/error.h"
#include "common/mutex.h"
#include "source/git_source.h"
#include "verify/signature.h"

namespace plumbline::reconcile {

class SecretReads {
 public:
  using Value = std::variant<source::GitAuth, std::string, verify::TrustedKeys>;

  // The watch (re)listed: everything kept is dropped, and from now on reads may be kept.
  void Listed();
  // An event about ns/name: what was read from it is dropped.
  void Changed(const std::string& ns, const std::string& name);

  // What `read` gives for Secret ns/name, kept under `what` ("git", "age") when no Secret event
  // came in while it was read (that event may be about a newer version than the one read).
  template <typename T>
  Result<T> Get(const std::string& what, const std::string& ns, const std::string& name,
                const std::function<Result<T>()>& read) {
    const std::string key = ns + "/" + name;
    uint64_t events_before = 0;
    {
      MutexLock lock(mu_);
      if (auto it = kept_.find({key, what}); it != kept_.end()) return std::get<T>(it->second);
      events_before = events_;
    }
    Result<T> value = read();
    if (value.ok()) {
      MutexLock lock(mu_);
      if (watched_ && events_ == events_before) kept_[{key, what}] = *value;
    }
    return value;
  }

 private:
  Mutex mu_;
  bool watched_ GUARDED_BY(mu_) = false;
  uint64_t events_ GUARDED_BY(mu_) = 0;
  // ("ns/name", what) -> what was read.
  std::map<std::pair<std::string, std::string>, Value> kept_ GUARDED_BY(mu_);
};

}  // namespace plumbline::reconcile
