// The client-side token bucket, on an injected clock: no sleeping.
#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

namespace plumbline::kube {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiter, AllowsABurstThenPacesAtQps) {
  RateLimiter::Clock::time_point now{};
  RateLimiter limiter(10, 3, [&] { return now; });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Reserve(), RateLimiter::Clock::duration::zero());
  // The bucket is empty: the 4th waits 1/qps, the 5th 2/qps.
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(limiter.Reserve()), milliseconds(100));
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(limiter.Reserve()), milliseconds(200));
  now += milliseconds(1000);  // refills 10 tokens, pays the 2 owed, and caps at the burst
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Reserve(), RateLimiter::Clock::duration::zero());
  EXPECT_GT(limiter.Reserve(), RateLimiter::Clock::duration::zero());
}

TEST(RateLimiter, RefillIsCappedAtTheBurst) {
  RateLimiter::Clock::time_point now{};
  RateLimiter limiter(10, 2, [&] { return now; });
  now += std::chrono::hours(1);
  EXPECT_EQ(limiter.Reserve(), RateLimiter::Clock::duration::zero());
  EXPECT_EQ(limiter.Reserve(), RateLimiter::Clock::duration::zero());
  EXPECT_GT(limiter.Reserve(), RateLimiter::Clock::duration::zero());
}

TEST(RateLimiter, ZeroQpsMeansUnlimited) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Reserve(), RateLimiter::Clock::duration::zero());
}

}  // namespace
}  // namespace plumbline::kube
