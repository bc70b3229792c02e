// The reconciler's bookkeeping across reconciles, as small values with pure transitions: what
// is worth an Event, what counts for DORA, when a rollout has failed. The reconciler feeds them
// what one reconcile saw and acts on the answer; each is unit-tested on its own.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/object_key.h"
#include "common/json.h"
#include "drift/tracker.h"
#include "health/health.h"

namespace plumbline::reconcile {

// A failed phase is worth a Warning Event only when it is new: the Ready condition does not
// already say the same (not on every retry of one failure).
bool FailureIsNew(const Json& status, const std::string& reason, const std::string& message);

// A commit that reverts another, as `git revert` (and `plumbline revert`) write it: the subject
// starts with `Revert "` and the body says "This reverts commit <sha>".
bool IsRevert(const std::string& commit_message);

// Drift episodes (PRODUCT §3.5): an episode lasts from the first drifted object until none is
// left, and has one Event. Each object is logged and counted once per time it starts drifting.
class DriftEpisodes {
 public:
  enum class Event { kNone, kDetected, kCorrected };
  struct Outcome {
    std::vector<drift::ObjectDrift> fresh;  // started drifting since the last reconcile
    Event event = Event::kNone;             // the episode's Event, when it starts now
  };
  // `corrected`: drifted objects this reconcile re-applied; `drifted`: those drifting still.
  Outcome Observe(const std::vector<drift::ObjectDrift>& corrected,
                  const std::vector<drift::ObjectDrift>& drifted);

 private:
  bool in_episode_ = false;
  std::set<apply::ObjectKey> logged_;  // drifting objects already logged and counted
};

// DORA's change failure rate and time to restore (PRODUCT §4): a change failure is a revision
// that failed or went unhealthy, counted once; time to restore runs from the first failure to
// the next Ready.
class Dora {
 public:
  struct Outcome {
    bool change_failed = false;              // count one change failure now
    std::optional<double> restored_seconds;  // observe one time to restore now
  };
  // One reconcile's end: whether it failed, whether Ready is True, the revision it worked on
  // ("" when it failed before fetching one).
  Outcome Observe(bool failed, bool ready, const std::string& revision,
                  std::chrono::system_clock::time_point now);

 private:
  std::string change_failure_revision_;  // the revision whose failure was counted
  std::string ready_revision_;           // the last revision seen Ready
  std::optional<std::chrono::system_clock::time_point> failing_since_;
};

// The health of an applied revision (PRODUCT §3.7) from its objects' assessments.
struct HealthVerdict {
  enum class State { kHealthy, kProgressing, kFailed };
  State state = State::kHealthy;
  std::string message;  // the first object not healthy: "Deployment team/web: ..."
};
struct ObjectHealth {
  apply::ObjectKey key;
  health::Assessment assessment;
};
// Degraded fails at once; progressing fails once `rolling_out_for` reaches `timeout`.
HealthVerdict JudgeHealth(const std::vector<ObjectHealth>& objects,
                          std::chrono::steady_clock::duration rolling_out_for,
                          std::chrono::steady_clock::duration timeout);

}  // namespace plumbline::reconcile
