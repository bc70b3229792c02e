#include "apply/change_set.h"

namespace plumbline::apply {

const char* ActionName(Action action) {
  switch (action) {
    case Action::kCreated:
      return "created";
    case Action::kConfigured:
      return "configured";
    case Action::kUnchanged:
      return "unchanged";
    case Action::kDeleted:
      return "deleted";
    case Action::kSkipped:
      return "skipped";
    case Action::kFailed:
      return "failed";
  }
  return "unknown";
}

int ChangeSet::Count(Action action) const {
  int n = 0;
  for (const auto& c : changes) n += c.action == action;
  return n;
}

std::string ChangeSet::FirstFailure() const {
  for (const auto& c : changes) {
    if (c.action == Action::kFailed) return c.message;
  }
  return "";
}

std::string ChangeSet::Summary() const {
  std::string out;
  for (Action a : {Action::kCreated, Action::kConfigured, Action::kUnchanged, Action::kDeleted,
                   Action::kSkipped, Action::kFailed}) {
    int n = Count(a);
    if (n == 0) continue;
    out += (out.empty() ? "" : ", ") + std::string(ActionName(a)) + " " + std::to_string(n);
  }
  return out.empty() ? "no objects" : out;
}

void ChangeSet::Append(const ChangeSet& other) {
  changes.insert(changes.end(), other.changes.begin(), other.changes.end());
}

}  // namespace plumbline::apply
