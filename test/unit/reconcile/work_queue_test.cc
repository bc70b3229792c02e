#include "reconcile/work_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace plumbline::reconcile {
namespace {

using std::chrono::milliseconds;

TEST(WorkQueue, DeduplicatesKeys) {
  WorkQueue q({});
  q.Add("a");
  q.Add("a");
  q.Add("b");
  EXPECT_EQ(q.Depth(), 2u);
  EXPECT_EQ(q.TryGet(milliseconds(0)), "a");
  EXPECT_EQ(q.TryGet(milliseconds(0)), "b");
  EXPECT_EQ(q.TryGet(milliseconds(0)), std::nullopt);
}

TEST(WorkQueue, AKeyBeingProcessedIsNotHandedOutTwice) {
  WorkQueue q({});
  q.Add("a");
  ASSERT_EQ(q.TryGet(milliseconds(0)), "a");
  q.Add("a");  // changed while processing
  EXPECT_EQ(q.TryGet(milliseconds(0)), std::nullopt);
  q.Done("a");  // now it comes back, once
  EXPECT_EQ(q.TryGet(milliseconds(0)), "a");
  q.Done("a");
  EXPECT_EQ(q.TryGet(milliseconds(0)), std::nullopt);
}

TEST(WorkQueue, DelayedAddsWaitForTheirTime) {
  WorkQueue::Clock::time_point now{};
  WorkQueue q({}, [&] { return now; });
  q.AddAfter("a", milliseconds(1000));
  q.AddAfter("a", milliseconds(5000));  // the earlier time wins
  EXPECT_EQ(q.TryGet(milliseconds(0)), std::nullopt);
  now += milliseconds(999);
  EXPECT_EQ(q.TryGet(milliseconds(0)), std::nullopt);
  now += milliseconds(1);
  EXPECT_EQ(q.TryGet(milliseconds(0)), "a");
  q.Done("a");
  now += milliseconds(10000);
  EXPECT_EQ(q.TryGet(milliseconds(0)), std::nullopt);  // the later duplicate was dropped
}

TEST(WorkQueue, BackoffDoublesPerKeyUpToTheCapAndResetsOnForget) {
  WorkQueue q({milliseconds(100), milliseconds(1000)});
  EXPECT_EQ(q.NextBackoff("a"), milliseconds(100));
  q.AddRateLimited("a");
  EXPECT_EQ(q.NextBackoff("a"), milliseconds(200));
  q.AddRateLimited("a");
  q.AddRateLimited("a");
  q.AddRateLimited("a");
  EXPECT_EQ(q.NextBackoff("a"), milliseconds(1000));
  EXPECT_EQ(q.NextBackoff("b"), milliseconds(100));  // per key
  q.Forget("a");
  EXPECT_EQ(q.NextBackoff("a"), milliseconds(100));
}

TEST(WorkQueue, ShutDownWakesBlockedWorkers) {
  WorkQueue q({});
  std::optional<std::string> got = "unset";
  std::thread worker([&] { got = q.Get(); });
  q.ShutDown();
  worker.join();
  EXPECT_EQ(got, std::nullopt);
}

}  // namespace
}  // namespace plumbline::reconcile
