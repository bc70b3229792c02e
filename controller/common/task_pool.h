// A fixed set of threads that runs batches of independent tasks. It bounds how many run at once
// across every caller: the applier hands it one apply phase's objects, and the bound holds however
// many Applications are reconciled at the same time (--apply-concurrency).
//
// Thread-safe. A task must not call RunAll itself (the pool would wait on itself).
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace plumbline {

class TaskPool {
 public:
  // `threads` at least 1.
  explicit TaskPool(size_t threads);
  ~TaskPool();
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Runs every task and returns once all of them have returned. Tasks of different callers
  // run in the order they were handed in (first come, first served).
  void RunAll(std::vector<std::function<void()>> tasks);

  size_t threads() const { return threads_.size(); }

 private:
  void Work();

  Mutex mu_;
  CondVar work_cv_;
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace plumbline
