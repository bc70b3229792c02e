// What the controller did to an Application, as notifications tell it (Slack, a webhook, commit
// statuses on GitHub or GitLab). Plain values; the Sink interface is where the reconciler hands
// them over.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace plumbline::notify {

enum class EventType {
  // A new revision is being applied. Sent only to commit-status providers (the "pending" state
  // of the commit) and not selectable in spec.events.
  kApplying,
  kDeployed,
  kFailed,
  kDrifted,
  kDriftCorrected,
  kRecovered,  // applied again after failures
  kReverted,
};

// "applying", "deployed", "failed", "drifted", "drift-corrected", "recovered", "reverted".
const char* ToString(EventType type);
// The inverse of ToString; nullopt for anything else.
std::optional<EventType> ParseEventType(std::string_view text);

struct Event {
  EventType type = EventType::kDeployed;
  std::string app_namespace, app_name;
  std::map<std::string, std::string> app_labels;
  std::string repo_url;
  std::string revision;         // full commit sha
  std::string author, subject;  // commit author, first line of the commit message
  // failed: the phase (Fetch, Render, Apply, ...), the reason (RenderFailed, ...) and the
  // error; others: a summary in `message`.
  std::string phase, reason, message;
  size_t created = 0, configured = 0, deleted = 0, drifted = 0;
  std::string trace_id;
  std::chrono::system_clock::time_point time;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Never blocks: the caller is a reconcile worker.
  virtual void Publish(const Event& event) = 0;
};

}  // namespace plumbline::notify
