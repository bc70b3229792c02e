// What one apply or prune did, object by object (created / configured / unchanged / deleted /
// skipped / failed). Logs, events, metrics, history and the inventory are all built from it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "apply/object_key.h"
#include "common/json.h"

namespace plumbline::apply {

enum class Action { kCreated, kConfigured, kUnchanged, kDeleted, kSkipped, kFailed };
const char* ActionName(Action action);

struct Change {
  ObjectKey key;
  Action action = Action::kUnchanged;
  std::string message;  // why it failed or was skipped
  Json live;            // the object as stored after apply (empty for deletes and failures)
  Json desired;         // what git rendered, labels and namespace filled in (applies only)
};

struct ChangeSet {
  std::vector<Change> changes;

  int Count(Action action) const;
  bool HasFailures() const { return Count(Action::kFailed) > 0; }
  // The first failure's message, or "".
  std::string FirstFailure() const;
  // "created 2, configured 1, unchanged 5".
  std::string Summary() const;
  void Append(const ChangeSet& other);
};

}  // namespace plumbline::apply
