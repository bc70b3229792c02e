#include "source/shared_fetcher.h"

#include "common/mutex.h"

namespace plumbline::source {
namespace {

// Credentials are part of the key, never stored: one tenant's fetch (or failure) is never
// handed to another whose credentials differ, since the remote may refuse those.
std::string KeyFor(const FetchRequest& r) {
  return r.url + '\n' + r.revision + '\n' + AuthFingerprint(r.auth);
}

constexpr auto kErrorReuse = std::chrono::seconds(2);

}  // namespace

Result<std::shared_ptr<const Snapshot>> SharedFetcher::Fetch(const FetchRequest& request,
                                                             std::chrono::milliseconds max_age) {
  std::shared_ptr<Entry> entry;
  {
    MutexLock lock(mu_);
    auto& e = entries_[KeyFor(request)];
    if (!e) e = std::make_shared<Entry>();
    entry = e;
  }
  MutexLock lock(entry->mu);
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
