// Shares fetches between Applications (PRODUCT §3.1): Applications with the same repository URL,
// revision and credentials share one fetch per interval; different credentials never share one.
// Concurrent callers for one key wait for a single fetch. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/mutex.h"
#include "source/git_source.h"

namespace plumbline::source {

class SharedFetcher {
 public:
  explicit SharedFetcher(GitSource& source) : source_(source) {}

  // Returns the last fetch of this key when it is younger than `max_age`, else fetches.
  // A failure is shared only briefly, so a recovered server is noticed by the next retry.
  Result<std::shared_ptr<const Snapshot>> Fetch(const FetchRequest& request,
                                                std::chrono::milliseconds max_age);
  // Fetches actually made (for metrics and tests).
  int fetches() const { return fetches_; }

 private:
  struct Entry {
    Mutex mu;  // held while fetching
    std::chrono::steady_clock::time_point at GUARDED_BY(mu){};
    std::shared_ptr<const Snapshot> snapshot GUARDED_BY(mu);
    std::optional<Error> error GUARDED_BY(mu);
  };

  GitSource& source_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_ GUARDED_BY(mu_);
  std::atomic<int> fetches_{0};
};

}  // namespace plumbline::source
