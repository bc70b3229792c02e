// What keeps webhook senders in check: token buckets per key with a bounded number of keys, and
// the delivery IDs recently handled. Neither is thread-safe: the Receiver locks around them.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace plumbline::webhook {

// A token bucket per key (a source address). Past `max_keys`, the key used least recently is
// forgotten, one at a time: a flood of new addresses costs old, idle addresses their state,
// never an active one.
class KeyedRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // rate <= 0 allows everything.
  KeyedRateLimiter(double rate_per_second, int burst, size_t max_keys)
      : rate_(rate_per_second), burst_(burst), max_keys_(max_keys) {}

  // Takes a token from `key`'s bucket; false when it has none.
  bool Allow(const std::string& key, Clock::time_point now);
  size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at{};
    std::list<std::string>::iterator recent;  // in recent_
  };
  const double rate_;
  const int burst_;
  const size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> recent_;  // most recently used first
};

// The last `capacity` IDs seen, oldest forgotten first.
class RecentIds {
 public:
  explicit RecentIds(size_t capacity) : capacity_(capacity) {}
  // True the first time `id` is seen (within the window); "" is never remembered.
  bool Insert(const std::string& id);

 private:
  const size_t capacity_;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;
};

}  // namespace plumbline::webhook
