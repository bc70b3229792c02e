#include "reconcile/work_queue.h"

#include "common/mutex.h"

#include <algorithm>

namespace plumbline::reconcile {

WorkQueue::WorkQueue(Options options, NowFn now) : options_(options), now_(std::move(now)) {}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  if (processing_.count(key)) return;  // Done() re-queues it
  ready_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  MutexLock lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  MutexLock lock(mu_);
  if (shutting_down_) return;
  if (delay.count() <= 0) {
    AddLocked(key);
    return;
  }
  // Keep only the earliest pending time for a key.
  auto when = now_() + delay;
  for (auto it = delayed_.begin(); it != delayed_.end(); ++it) {
    if (it->second == key) {
      if (it->first <= when) return;
      delayed_.erase(it);
      break;
    }
  }
  delayed_.emplace(when, key);
  cv_.notify_all();
}

std::chrono::milliseconds WorkQueue::NextBackoff(const std::string& key) const {
  MutexLock lock(mu_);
  auto it = failures_.find(key);
  int n = it == failures_.end() ? 0 : it->second;
  auto delay = options_.base_backoff * (int64_t(1) << std::min(n, 30));
  return std::min(delay, options_.max_backoff);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  auto delay = NextBackoff(key);
  {
    MutexLock lock(mu_);
    ++failures_[key];
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  MutexLock lock(mu_);
  failures_.erase(key);
}

void WorkQueue::PromoteDueLocked() {
  auto now = now_();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::PopLocked() {
  if (ready_.empty()) return std::nullopt;
  std::string key = ready_.front();
  ready_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

std::optional<std::string> WorkQueue::Get() {
  MutexLock lock(mu_);
  while (true) {
    PromoteDueLocked();
    if (auto key = PopLocked()) return key;
    if (shutting_down_) return std::nullopt;
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      // The clock may be injected: bound the wait so a fake clock's advance is noticed.
      auto wait = std::min<Clock::duration>(delayed_.begin()->first - now_(),
                                            std::chrono::milliseconds(100));
      cv_.wait_for(lock, wait);
    }
  }
}

std::optional<std::string> WorkQueue::TryGet(std::chrono::milliseconds wait) {
  MutexLock lock(mu_);
  auto deadline = Clock::now() + wait;
  while (true) {
    PromoteDueLocked();
    if (auto key = PopLocked()) return key;
    if (shutting_down_ || Clock::now() >= deadline) return std::nullopt;
    cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
}

void WorkQueue::Done(const std::string& key) {
  MutexLock lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutting_down_) {
    ready_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  MutexLock lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

size_t WorkQueue::Depth() const {
  MutexLock lock(mu_);
  return ready_.size();
}

}  // namespace plumbline::reconcile
