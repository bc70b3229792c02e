// Applies an Application's rendered objects with server-side apply (PRODUCT §3.3, §3.4) and
// prunes what left git (§3.6). Both return a ChangeSet; neither retries (the work queue does).
// Stateless: callers pass everything in; safe to use from many workers at once.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apply/change_set.h"
#include "common/json.h"
#include "kube/client.h"

namespace plumbline::apply {

struct ApplyContext {
  kube::Client* client = nullptr;  // impersonating the Application's ServiceAccount, if any
  std::string app_name;
  std::string app_namespace;
  std::string default_namespace;  // for namespaced objects that name none
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Asked for each object (labels and namespace filled in) before any request: a Change to
  // report instead of applying (it was unchanged, or its drift is only reported), or nullopt to
  // apply it. Unset: apply everything.
  std::function<std::optional<Change>(const ObjectKey&, const Json& object)> skip;
  // The live object's resourceVersion ("" when it does not exist) when known without a request;
  // nullopt makes the applier read the object to tell "unchanged" from "configured".
  std::function<std::optional<std::string>(const ObjectKey&)> live_version;
  // JSON pointers (ignoreDifferences) whose live values an update keeps: the applied manifest
  // carries the live value there (or omits the field when live has none). A create uses git's.
  std::function<std::vector<std::string>(const ObjectKey&)> ignored;
};

// Applies `objects` in phase order, waiting for CRDs to be Established before the next phase.
// Adds the tracking labels and defaults namespaces. An object annotated
// plumbline.dev/reconcile: disabled is skipped; a failure of one object does not stop the others.
ChangeSet ApplyAll(const std::vector<Json>& objects, const ApplyContext& ctx);

// The keys `objects` will have once applied (namespaces defaulted via discovery). Objects whose
// kind is unknown keep the namespace they name.
std::vector<ObjectKey> DesiredKeys(const std::vector<Json>& objects, const ApplyContext& ctx);

struct PruneContext {
  kube::Client* client = nullptr;
  std::string app_name;
  std::string app_namespace;
  std::string controller_namespace;  // never deleted
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// Deletes `stale` (objects in the inventory that git no longer renders) in reverse phase order.
// Skips objects annotated plumbline.dev/prune: disabled, objects not labelled as this
// Application's, and the controller's own namespace. Deleted and skipped objects leave the
// inventory; failed ones stay.
ChangeSet Prune(std::vector<ObjectKey> stale, const PruneContext& ctx);

}  // namespace plumbline::apply
