#include "webhook/limits.h"

#include <algorithm>

namespace plumbline::webhook {

bool KeyedRateLimiter::Allow(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return true;
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_ && !recent_.empty()) {
      buckets_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(key);
    it = buckets_.emplace(key, Bucket{static_cast<double>(burst_), now, recent_.begin()}).first;
  } else {
    Bucket& b = it->second;
    const double refill = std::chrono::duration<double>(now - b.at).count() * rate_;
    b.tokens = std::min<double>(burst_, b.tokens + std::max(0.0, refill));
    b.at = now;
    recent_.splice(recent_.begin(), recent_, b.recent);
  }
  Bucket& b = it->second;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

bool RecentIds::Insert(const std::string& id) {
  if (id.empty() || capacity_ == 0) return true;
  if (!ids_.insert(id).second) return false;
  order_.push_back(id);
  if (order_.size() > capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

}  // namespace plumbline::webhook
