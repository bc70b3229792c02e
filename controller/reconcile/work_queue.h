// A work queue of keys ("namespace/name"), as in client-go: a key is queued at most once, a key
// being processed is not handed to a second worker (it is re-queued when Done), delayed adds
// wait for their time, and failures back off exponentially per key up to a cap.
//
// Thread-safe. Time is injected so backoff and delays are tested without sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/mutex.h"

namespace plumbline::reconcile {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  struct Options {
    std::chrono::milliseconds base_backoff{std::chrono::milliseconds(500)};
    std::chrono::milliseconds max_backoff{std::chrono::minutes(5)};
  };

  explicit WorkQueue(
      Options options, NowFn now = [] { return Clock::now(); });

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  // Re-queues after this key's next backoff delay (doubling from base_backoff, capped).
  void AddRateLimited(const std::string& key);
  // Resets the key's backoff (after a success).
  void Forget(const std::string& key);
  // The delay AddRateLimited would use next, without using it.
  std::chrono::milliseconds NextBackoff(const std::string& key) const;

  // Blocks until a key is ready or the queue shuts down (nullopt). Call Done(key) after.
  std::optional<std::string> Get();
  // Like Get, but returns nullopt after `wait` with nothing ready (for tests).
  std::optional<std::string> TryGet(std::chrono::milliseconds wait);
  void Done(const std::string& key);
  void ShutDown();

  size_t Depth() const;  // keys ready now

 private:
  void AddLocked(const std::string& key) REQUIRES(mu_);
  void PromoteDueLocked() REQUIRES(mu_);
  std::optional<std::string> PopLocked() REQUIRES(mu_);

  const Options options_;
  const NowFn now_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::string> ready_ GUARDED_BY(mu_);
  std::set<std::string> dirty_ GUARDED_BY(mu_);  // queued or to re-queue
  std::set<std::string> processing_ GUARDED_BY(mu_);
  std::multimap<Clock::time_point, std::string> delayed_ GUARDED_BY(mu_);
  std::map<std::string, int> failures_ GUARDED_BY(mu_);
  bool shutting_down_ GUARDED_BY(mu_) = false;
};

}  // namespace plumbline::reconcile
