// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas exactly one
// reconciles and writes.
//
// A candidate takes the Lease when it is free, released, or when its holder has not renewed it
// for the Lease's duration as measured on the candidate's own clock (clocks of different
// machines are never compared). The leader renews every retry period. Writes are fenced: the
// kube client asks MayWrite() before each write, which holds only while the last successful
// renewal was sent less than the renew deadline ago. The deadline is shorter than the Lease's
// duration, so a leader that cannot renew stops writing before anyone may take over.
//
// Thread-safe. Acquire() and the renewal loop may be ended from any thread with Stop().
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "common/mutex.h"
#include "kube/client.h"
#include "log/logger.h"

namespace plumbline::leader {

struct ElectorOptions {
  std::string ns = "plumbline-system";  // where the Lease lives
  std::string name = "plumbline-leader";
  std::string identity;  // unique per replica (the pod name plus a random suffix)
  std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
  std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
};

// Checks that retry_period < renew_deadline and that lease_duration exceeds renew_deadline by
// more than retry_period.
Status Validate(const ElectorOptions& options);

class Elector {
 public:
  // `client` should have a request timeout well under the renew deadline, so one hung request
  // does not hold the renewal loop past it.
  // `clock` measures the lease: tests move it forward instead of waiting.
  Elector(kube::Client& client, ElectorOptions options, log::Logger& logger,
          const Clock& clock = Clock::Real());
  ~Elector();

  // Blocks until this replica holds the Lease (true) or Stop() was called (false).
  bool Acquire();
  // Renews in the background. Calls `on_lost` once, from the renewal thread, when another replica
  // holds the Lease or no renewal succeeded within the renew deadline.
  void StartRenewing(std::function<void()> on_lost);
  // The write fence: OK while the Lease is held with time to spare.
  Status MayWrite() const;
  // Ends Acquire() and the renewal loop.
  void Stop();
  // Hands the Lease over at once (clears the holder) if this replica still holds it. Call after
  // the last write; MayWrite() fails from then on.
  void Release();

  const std::string& identity() const { return options_.identity; }

 private:
  enum class Attempt { kHeld, kHeldByOther, kFailed };
  Attempt TryAcquireOrRenew();
  bool WaitRetry();  // false when stopping

  kube::Client& client_;
  const ElectorOptions options_;
  log::Logger& log_;
  const Clock& clock_;

  mutable Mutex mu_;
  CondVar wake_;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool lost_ GUARDED_BY(mu_) = false;
  // Send time of our last successful acquire or renewal; unset while not leading.
  std::optional<std::chrono::steady_clock::time_point> renewed_at_ GUARDED_BY(mu_);
  // The Lease record seen last (its resourceVersion) and when it changed, on our clock.
  std::string observed_version_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point observed_at_ GUARDED_BY(mu_){};
  // our previous read
  std::optional<std::chrono::steady_clock::time_point> last_look_ GUARDED_BY(mu_);
  // Started by StartRenewing and joined by Stop, which may run on different threads.
  Mutex thread_mu_;
  std::thread renewer_ GUARDED_BY(thread_mu_);
};

}  // namespace plumbline::leader
