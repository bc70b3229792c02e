#include "source/shared_fetcher.h"

#include <openssl/evp.h>

namespace plumbline::source {
namespace {

// Credentials are part of the key (two secrets may see different things) but never stored.
std::string KeyFor(const FetchRequest& r) {
  std::string secret = r.auth.username + '\0' + r.auth.password + '\0' + r.auth.bearer_token +
                       '\0' + r.auth.ssh_private_key + '\0' + r.auth.known_hosts + '\0' +
                       r.auth.ca_pem;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(secret.data(), secret.size(), digest, &len, EVP_sha256(), nullptr);
  return r.url + '\n' + r.revision + '\n' + std::string(reinterpret_cast<char*>(digest), len);
}

constexpr auto kErrorReuse = std::chrono::seconds(2);

}  // namespace

Result<std::shared_ptr<const Snapshot>> SharedFetcher::Fetch(const FetchRequest& request,
                                                             std::chrono::milliseconds max_age) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& e = entries_[KeyFor(request)];
    if (!e) e = std::make_shared<Entry>();
    entry = e;
  }
  std::lock_guard<std::mutex> lock(entry->mu);
  auto now = std::chrono::steady_clock::now();
  if (entry->at != std::chrono::steady_clock::time_point{}) {
    auto age = now - entry->at;
    if (entry->snapshot && !entry->error && age < max_age) return entry->snapshot;
    if (entry->error && age < std::min<std::chrono::steady_clock::duration>(max_age, kErrorReuse)) {
      return *entry->error;
    }
  }
  ++fetches_;
  auto result = source_.Fetch(request);
  entry->at = std::chrono::steady_clock::now();
  if (result.ok()) {
    entry->snapshot = *result;
    entry->error.reset();
  } else {
    entry->error = result.error();
  }
  return result;
}

}  // namespace plumbline::source
