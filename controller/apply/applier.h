// Applies an Application's rendered objects with server-side apply (PRODUCT §3.3, §3.4) and
// prunes what left git (§3.6). Three steps, each a plain function:
//   Prepare  — data only: the kind of each object, its namespace, its owner's labels, the order;
//   (a plan) — the caller decides, per prepared object, whether to send it (see PlannedObject);
//   ApplyAll — executes the plan and returns a ChangeSet.
// Neither ApplyAll nor Prune retries (the work queue does). Stateless: callers pass everything
// in; safe to use from many workers at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "apply/change_set.h"
#include "apply/object_key.h"
#include "apply/owner.h"
#include "common/error.h"
#include "common/json.h"
#include "common/task_pool.h"
#include "kube/client.h"

namespace plumbline::apply {

// One rendered object, ready to apply.
struct PreparedObject {
  ObjectKey key;  // with the namespace it will have (when its kind is known)
  Json object;    // labelled as the owner's; namespace defaulted or removed by the kind's scope
  // The kind as discovery serves it; nullopt when it is not served (yet: a CRD in this same
  // commit), in which case ApplyAll asks again once earlier phases are Established.
  std::optional<kube::ResourceInfo> resource;
  Error unresolved;       // why `resource` is nullopt
  bool disabled = false;  // annotated plumbline.dev/reconcile: disabled: never sent
  size_t index = 0;       // its position among the objects given to Prepare
};

struct PrepareContext {
  kube::Client* client = nullptr;  // for discovery only
  Owner owner;
  std::string default_namespace;  // for namespaced objects that name none ("": the owner's)
};

// The objects in apply order (phases of apply/order.h, render order within a phase). Makes no
// request beyond discovery.
std::vector<PreparedObject> Prepare(std::vector<Json> objects, const PrepareContext& ctx);

// What to do with one prepared object.
struct PlannedObject {
  PreparedObject prepared;
  // Set: report this change and send nothing (unchanged, or drift that is only reported).
  std::optional<Change> outcome;
  // The live resourceVersion ("" when absent) when known without a request; nullopt makes the
  // applier read the object first, to tell "unchanged" from "configured".
  std::optional<std::string> live_version;
  // JSON pointers (ignoreDifferences) whose live values an update keeps: the applied manifest
  // carries the live value there (or omits the field when live has none). A create uses git's.
  std::vector<std::string> ignored;
};

struct ApplyContext {
  kube::Client* client = nullptr;  // impersonating the Application's ServiceAccount, if any
  Owner owner;
  std::string default_namespace;  // as given to Prepare, for kinds resolved late
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // How long a kind of a CRD this run created or changed may stay missing from discovery after
  // the CRD is Established before its objects fail (the server serves it a moment later).
  std::chrono::milliseconds discovery_grace{std::chrono::seconds(5)};
  // Runs the objects of one phase at once (shared by every reconcile); null: one after another.
  TaskPool* pool = nullptr;
};

// Executes `plan` (in Prepare's order): the objects of one phase at once (ctx.pool), waiting for
// them all, and for CRDs to be Established, before the next phase. The change set lists the
// objects in plan order. Disabled objects are Skipped; a failure of one object does not stop the
// others.
ChangeSet ApplyAll(std::vector<PlannedObject> plan, const ApplyContext& ctx);

struct PruneContext {
  kube::Client* client = nullptr;
  Owner owner;
  std::string controller_namespace;  // never deleted
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// Deletes `stale` (objects in the inventory that git no longer renders) in reverse phase order.
// Skips objects annotated plumbline.dev/prune: disabled, objects not labelled as the owner's,
// and the controller's own namespace. Deleted and skipped objects leave the inventory; failed
// ones stay.
ChangeSet Prune(std::vector<ObjectKey> stale, const PruneContext& ctx);

}  // namespace plumbline::apply
