// Names for Kubernetes types and objects: group/version/kind, the REST resource a kind maps to,
// and an object's identity. Plain values; thread-safe to copy.
#pragma once

#include <string>
#include <vector>

namespace plumbline::kube {

struct GroupVersionKind {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string kind;     // "Deployment"

  // Splits an apiVersion ("apps/v1" or "v1") and a kind.
  static GroupVersionKind FromApiVersion(const std::string& api_version, const std::string& kind);
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  bool operator==(const GroupVersionKind&) const = default;
  auto operator<=>(const GroupVersionKind&) const = default;
};

// What discovery knows about one kind.
struct ResourceInfo {
  GroupVersionKind gvk;
  std::string resource;  // plural name in URLs: "deployments"
  bool namespaced = false;
  bool has_status = false;  // serves the status subresource
  std::vector<std::string> verbs;

  // "/apis/apps/v1/namespaces/web/deployments" (ns ignored for cluster-scoped kinds; empty ns
  // on a namespaced kind means all namespaces).
  std::string CollectionPath(const std::string& ns) const;
  // CollectionPath + "/" + name.
  std::string ObjectPath(const std::string& ns, const std::string& name) const;
};

}  // namespace plumbline::kube
