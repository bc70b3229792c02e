// A mutex the compiler can reason about. Members say which mutex guards them (GUARDED_BY) and
// functions what they need held (REQUIRES, EXCLUDES); clang's -Wthread-safety then proves every
// access holds the right lock (hack/check-thread-safety.sh, in CI). Under GCC the annotations
// are empty and this is std::mutex with a scoped lock.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define PLUMBLINE_TSA(x) __attribute__((x))
#else
#define PLUMBLINE_TSA(x)
#endif

#define CAPABILITY(x) PLUMBLINE_TSA(capability(x))
#define SCOPED_CAPABILITY PLUMBLINE_TSA(scoped_lockable)
#define GUARDED_BY(x) PLUMBLINE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) PLUMBLINE_TSA(pt_guarded_by(x))
#define REQUIRES(...) PLUMBLINE_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) PLUMBLINE_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) PLUMBLINE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) PLUMBLINE_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS PLUMBLINE_TSA(no_thread_safety_analysis)

namespace plumbline {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope. Also a BasicLockable, so a CondVar can wait with it.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // For CondVar only: a wait releases the mutex and takes it again before it returns, so to
  // the analysis the mutex stays held across the wait.
  void lock() NO_THREAD_SAFETY_ANALYSIS { mu_.lock(); }
  void unlock() NO_THREAD_SAFETY_ANALYSIS { mu_.unlock(); }

 private:
  Mutex& mu_;
};

// Waits on a MutexLock: condition_variable_any works with any lock.
using CondVar = std::condition_variable_any;

}  // namespace plumbline
