#include "common/task_pool.h"

#include <algorithm>
#include <memory>

namespace plumbline {

TaskPool::TaskPool(size_t threads) {
  threads = std::max<size_t>(threads, 1);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

TaskPool::~TaskPool() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void TaskPool::RunAll(std::vector<std::function<void()>> tasks) {
  if (tasks.empty()) return;
  // One batch: a count of unfinished tasks, and its own wake-up.
  struct Batch {
    Mutex mu;
    CondVar done_cv;
    size_t left GUARDED_BY(mu) = 0;
  };
  auto batch = std::make_shared<Batch>();
  {
    MutexLock lock(batch->mu);
    batch->left = tasks.size();
  }
  {
    MutexLock lock(mu_);
    for (auto& task : tasks) {
      queue_.push_back([batch, task = std::move(task)] {
        task();
        MutexLock done(batch->mu);
        if (--batch->left == 0) batch->done_cv.notify_all();
      });
    }
  }
  work_cv_.notify_all();
  MutexLock lock(batch->mu);
  while (batch->left != 0) batch->done_cv.wait(lock);
}

void TaskPool::Work() {
  while (true) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) work_cv_.wait(lock);
      if (queue_.empty()) return;  // stopping, and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace plumbline
