// The inventory: the objects an Application manages, kept in its status.inventory. It decides
// what a prune deletes, so how one reconcile moves it is written here once, as pure functions
// of keys and change sets. The rule throughout: no failure drops an object from it, so nothing
// managed is ever forgotten (and left behind) or pruned by mistake (PRODUCT §3).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "apply/change_set.h"
#include "apply/object_key.h"
#include "common/json.h"

namespace plumbline::inventory {

using Keys = std::vector<apply::ObjectKey>;
using KeySet = std::set<apply::ObjectKey>;

// What was managed and git no longer declares, in inventory order: what a prune would delete.
Keys Stale(const Keys& previous, const KeySet& in_git);

// The inventory once the apply ran: each object applied (or skipped as unchanged), in the order
// applied; then each that failed but was managed before and is still in git. When anything
// failed, the stale objects too, since no prune follows a failed apply.
Keys AfterApply(const Keys& previous, const KeySet& in_git, const apply::ChangeSet& applied);

// The inventory once the prune ran: what the prune failed to delete stays managed.
Keys AfterPrune(Keys after_apply, const apply::ChangeSet& pruned);

// What our last apply stored, per object (drift::StoredDigest), kept beside the inventory so a
// restarted controller can trust unchanged live objects without asking for them again.
using Digests = std::map<apply::ObjectKey, std::string>;

// status.inventory: one {group, version, kind, namespace, name} per key, plus `digest` where
// `digests` has one.
Json ToJson(const Keys& keys, const Digests& digests = {});

// The digests of a status.inventory (entries without one, or not of the expected shape, have
// none).
Digests DigestsOf(const Json& inventory);

}  // namespace plumbline::inventory
