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
  EXPECT_EQ(names, (std::vector<std::string>{"CustomResourceDefinition", "Namespace", "ClusterRole",
                                             "ClusterRoleBinding", "Deployment", "ConfigMap",
                                             "Role"}));
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

#include "apply/applier.h"

namespace plumbline::apply {
namespace {

TEST(ProjectOnto, KeepsOnlyThePathsTheManifestSets) {
  Json desired = Json::parse(R"({"kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}},
                                  "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}}})");
  Json live = Json::parse(R"({"kind": "Deployment",
      "metadata": {"name": "web", "labels": {"a": "1", "other": "x"}, "resourceVersion": "9"},
      "spec": {"replicas": 2, "paused": false,
               "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
      "status": {"replicas": 2}})");
  Json projected = ProjectOnto(live, desired);
  EXPECT_EQ(projected, Json::parse(R"({"kind": "Deployment", "metadata": {"name": "web", "labels": {"a": "1"}},
      "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})"));

  // Another writer's change (status, an unowned label) leaves the projection alone...
  Json other_writer = live;
  other_writer["status"]["replicas"] = 3;
  other_writer["metadata"]["labels"]["other"] = "y";
  other_writer["metadata"]["resourceVersion"] = "10";
  EXPECT_EQ(ProjectOnto(other_writer, desired), projected);
  // ...a change to a field the manifest sets does not.
  Json changed = live;
  changed["spec"]["replicas"] = 5;
  EXPECT_NE(ProjectOnto(changed, desired), projected);
  // A missing field projects to null.
  EXPECT_TRUE(ProjectOnto(Json::object(), desired)["spec"]["replicas"].is_null());
}

}  // namespace
}  // namespace plumbline::apply
