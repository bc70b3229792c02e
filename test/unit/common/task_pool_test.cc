#include "common/task_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/digest.h"

namespace plumbline {
namespace {

TEST(TaskPool, RunsEveryTaskAndReturnsWhenAllHaveRun) {
  TaskPool pool(3);
  std::atomic<int> ran{0};
  std::vector<std::function<void()>> tasks;
  for (int i = 0; i < 50; ++i) tasks.push_back([&] { ran++; });
  pool.RunAll(std::move(tasks));
  EXPECT_EQ(ran.load(), 50);
  pool.RunAll({});  // nothing to do: returns at once
}

TEST(TaskPool, RunsAtMostItsThreadsAtOnceAcrossCallers) {
  TaskPool pool(4);
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, most = 0;
  // Each task waits (a bounded time) until 4 run together, so a pool that ran fewer at once
  // would show it in `most`, and one that ran more would too.
  auto task = [&] {
    std::unique_lock<std::mutex> lock(mu);
    most = std::max(most, ++running);
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return most >= 4; });
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    lock.lock();
    --running;
  };
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      std::vector<std::function<void()>> tasks(6, task);
      pool.RunAll(std::move(tasks));
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(most, 4);
  EXPECT_EQ(running, 0);
}

TEST(Digest, IsFixedForAFixedInputAndSeparatesParts) {
  // FNV-1a 64 of "a" then the separator: kept in status, so it must never change.
  EXPECT_EQ(Digest().Add("a").Hex(), Digest().Add("a").Hex());
  EXPECT_EQ(Digest().Hex(), "cbf29ce484222325");
  EXPECT_NE(Digest().Add("ab").Add("c").Hex(), Digest().Add("a").Add("bc").Hex());
  EXPECT_NE(Digest().Add(uint64_t{1}).Hex(), Digest().Add(uint64_t{2}).Hex());
}

}  // namespace
}  // namespace plumbline
