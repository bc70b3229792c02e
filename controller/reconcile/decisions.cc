#include "reconcile/decisions.h"

#include "app/conditions.h"

namespace plumbline::reconcile {

bool FailureIsNew(const Json& status, const std::string& reason, const std::string& message) {
  const Json* ready = app::FindCondition(status, app::kReady);
  return ready == nullptr || ready->value("reason", "") != reason ||
         ready->value("message", "") != message;
}

bool IsRevert(const std::string& commit_message) {
  return commit_message.rfind("Revert \"", 0) == 0 &&
         commit_message.find("This reverts commit ") != std::string::npos;
}

DriftEpisodes::Outcome DriftEpisodes::Observe(const std::vector<drift::ObjectDrift>& corrected,
                                              const std::vector<drift::ObjectDrift>& drifted) {
  Outcome out;
  // Corrected objects count too: they drifted, only briefly.
  for (const auto* list : {&corrected, &drifted}) {
    for (const auto& d : *list) {
      if (logged_.insert(d.key).second) out.fresh.push_back(d);
    }
  }
  if (!out.fresh.empty() && !in_episode_) {
    in_episode_ = true;
    out.event = drifted.empty() ? Event::kCorrected : Event::kDetected;
  }
  // An object that stops drifting (or was corrected) is new again when it next drifts.
  logged_.clear();
  for (const auto& d : drifted) logged_.insert(d.key);
  if (drifted.empty()) in_episode_ = false;
  return out;
}

Dora::Outcome Dora::Observe(bool failed, bool ready, const std::string& revision,
                            std::chrono::system_clock::time_point now) {
  Outcome out;
  if (failed) {
    if (!failing_since_) failing_since_ = now;
    if (!revision.empty() && revision != ready_revision_ && revision != change_failure_revision_) {
      change_failure_revision_ = revision;
      out.change_failed = true;
    }
  } else if (ready) {
    if (failing_since_) {
      out.restored_seconds = std::chrono::duration<double>(now - *failing_since_).count();
      failing_since_.reset();
    }
    ready_revision_ = revision;
  }
  return out;
}

HealthVerdict JudgeHealth(const std::vector<ObjectHealth>& objects,
                          std::chrono::steady_clock::duration rolling_out_for,
                          std::chrono::steady_clock::duration timeout) {
  HealthVerdict verdict;
  bool degraded = false;
  for (const auto& o : objects) {
    if (o.assessment.state == health::State::kHealthy) continue;
    degraded |= o.assessment.state == health::State::kDegraded;
    if (verdict.message.empty()) verdict.message = o.key.ToString() + ": " + o.assessment.message;
  }
  if (verdict.message.empty()) return verdict;
  verdict.state = degraded || rolling_out_for >= timeout ? HealthVerdict::State::kFailed
                                                         : HealthVerdict::State::kProgressing;
  return verdict;
}

}  // namespace plumbline::reconcile
