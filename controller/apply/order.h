// The order objects are applied in (PRODUCT §3.3): Namespaces and CRDs, then cluster-scoped RBAC,
// then everything else. Prune deletes in the reverse order. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "apply/object_key.h"

namespace plumbline::apply {

// 0: Namespace, CustomResourceDefinition; 1: ClusterRole, ClusterRoleBinding; 2: the rest.
int ApplyPhase(const std::string& group, const std::string& kind);
inline int ApplyPhase(const ObjectKey& key) { return ApplyPhase(key.group, key.kind); }
constexpr int kPhaseCount = 3;

// Stable: objects in the same phase keep their render order.
void SortForApply(std::vector<ObjectKey>* keys);
void SortForPrune(std::vector<ObjectKey>* keys);

}  // namespace plumbline::apply
