#include "apply/order.h"

#include <algorithm>

namespace plumbline::apply {

int ApplyPhase(const std::string& group, const std::string& kind) {
  if ((group.empty() && kind == "Namespace") ||
      (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition")) {
    return 0;
  }
  if (group == "rbac.authorization.k8s.io" &&
      (kind == "ClusterRole" || kind == "ClusterRoleBinding")) {
    return 1;
  }
  return 2;
}

void SortForApply(std::vector<ObjectKey>* keys) {
  std::stable_sort(keys->begin(), keys->end(), [](const ObjectKey& a, const ObjectKey& b) {
    return ApplyPhase(a) < ApplyPhase(b);
  });
}

void SortForPrune(std::vector<ObjectKey>* keys) {
  std::stable_sort(keys->begin(), keys->end(), [](const ObjectKey& a, const ObjectKey& b) {
    return ApplyPhase(a) > ApplyPhase(b);
  });
}

}  // namespace plumbline::apply
