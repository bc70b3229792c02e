#include "kube/rate_limiter.h"

#include "common/mutex.h"

#include <algorithm>
#include <thread>

namespace plumbline::kube {

RateLimiter::RateLimiter(double qps, int burst, NowFn now)
    : qps_(qps), burst_(std::max(1, burst)), now_(std::move(now)), tokens_(burst_), last_(now_()) {}

RateLimiter::Clock::duration RateLimiter::Reserve() {
  if (qps_ <= 0) return Clock::duration::zero();
  MutexLock lock(mu_);
  auto now = now_();
  double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(-tokens_ / qps_));
}

void RateLimiter::Wait() {
  auto delay = Reserve();
  if (delay > Clock::duration::zero()) std::this_thread::sleep_for(delay);
}

}  // namespace plumbline::kube
