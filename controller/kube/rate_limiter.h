// A token bucket limiting how fast the client sends requests (client-go's QPS and burst).
// Thread-safe. Time is injected so the arithmetic is tested without sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>

#include "common/mutex.h"

namespace plumbline::kube {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // qps <= 0 disables limiting. `burst` tokens are available at start.
  RateLimiter(
      double qps, int burst, NowFn now = [] { return Clock::now(); });

  // Takes one token and returns how long the caller must wait before using it (zero when a token
  // was available). Callers that give up must still wait: the token is spent.
  Clock::duration Reserve();
  // Reserve, then sleep for the returned time.
  void Wait();

 private:
  const double qps_;
  const double burst_;
  const NowFn now_;
  Mutex mu_;
  double tokens_ GUARDED_BY(mu_);  // may go negative (reservations queued)
  Clock::time_point last_ GUARDED_BY(mu_);
};

}  // namespace plumbline::kube
