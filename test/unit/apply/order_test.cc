#include "apply/order.h"

#include <gtest/gtest.h>

namespace plumbline::apply {
namespace {

ObjectKey K(const std::string& group, const std::string& kind, const std::string& name) {
  return {group, "v1", kind, "", name};
}

TEST(Order, NamespacesAndCrdsThenClusterRbacThenTheRest) {
  std::vector<ObjectKey> keys = {
      K("apps", "Deployment", "web"),
      K("rbac.authorization.k8s.io", "ClusterRole", "reader"),
      K("", "ConfigMap", "a"),
      K("apiextensions.k8s.io", "CustomResourceDefinition", "widgets.example.com"),
      K("", "Namespace", "web"),
      K("rbac.authorization.k8s.io", "Role", "local"),
      K("rbac.authorization.k8s.io", "ClusterRoleBinding", "reader"),
  };
  SortForApply(&keys);
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(k.kind);
  EXPECT_EQ(names,
            (std::vector<std::string>{"CustomResourceDefinition", "Namespace", "ClusterRole",
                                      "ClusterRoleBinding", "Deployment", "ConfigMap", "Role"}));
  SortForPrune(&keys);
  EXPECT_EQ(keys.front().kind, "Deployment");
  EXPECT_EQ(keys.back().kind, "Namespace");
}

TEST(ObjectKey, IgnoresTheVersionAndRoundTripsTheInventory) {
  ObjectKey a{"apps", "v1", "Deployment", "web", "api"};
  ObjectKey b{"apps", "v1beta2", "Deployment", "web", "api"};
  EXPECT_EQ(a, b);
  EXPECT_EQ(ObjectKey::FromInventory(a.ToInventory()).version, "v1");
  EXPECT_EQ(a.ToString(), "Deployment web/api");
  EXPECT_EQ((ObjectKey{"", "v1", "Namespace", "", "web"}).ToString(), "Namespace web");
  EXPECT_FALSE((ObjectKey{"", "v1", "Namespace", "", "web"}).ToInventory().contains("namespace"));
}

}  // namespace
}  // namespace plumbline::apply
