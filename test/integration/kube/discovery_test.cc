// Discovery against the real API server, including a CRD installed while the client runs.
#include <gtest/gtest.h>

#include "kube/errors.h"
#include "support/kube_test.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::KubeTest;

Json WidgetCrd(const std::string& group) {
  return Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.)" +
                     group + R"("},
    "spec": {
      "group": ")" + group +
                     R"(",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
      "scope": "Namespaced",
      "versions": [{
        "name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "properties": {
            "size": {"type": "integer", "default": 3},
            "color": {"type": "string"}}},
          "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}
      }]
    }})");
}

bool Established(kube::Client& client, const kube::ResourceInfo& crds, const std::string& name) {
  auto crd = client.Get(crds, "", name);
  if (!crd.ok() || !crd->contains("status")) return false;
  for (const auto& c : (*crd)["status"].value("conditions", Json::array())) {
    if (c["type"] == "Established" && c["status"] == "True") return true;
  }
  return false;
}

class DiscoveryTest : public KubeTest {};

TEST_F(DiscoveryTest, MapsBuiltInKindsToResourcesAndScope) {
  auto ns = client_->Resource({"", "v1", "Namespace"});
  ASSERT_TRUE(ns.ok()) << ns.error().message();
  EXPECT_EQ(ns->resource, "namespaces");
  EXPECT_FALSE(ns->namespaced);
  auto role = client_->Resource({"rbac.authorization.k8s.io", "v1", "ClusterRole"});
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(role->resource, "clusterroles");
  EXPECT_FALSE(role->namespaced);
  auto dep = client_->Resource({"apps", "v1", "Deployment"});
  ASSERT_TRUE(dep.ok());
  EXPECT_TRUE(dep->has_status);

  // Looking the same group-version up again is served from the cache.
  int fetches = client_->discovery().fetch_count();
  ASSERT_TRUE(client_->Resource({"apps", "v1", "StatefulSet"}).ok());
  EXPECT_EQ(client_->discovery().fetch_count(), fetches);
}

TEST_F(DiscoveryTest, UnknownKindIsNotFoundWithAClearMessage) {
  auto missing = client_->Resource({"apps", "v1", "Frobnicator"});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(kube::IsNotFound(missing.error()));
  EXPECT_EQ(missing.error().message(),
            "no matches for kind \"Frobnicator\" in version \"apps/v1\"");

  auto no_group = client_->Resource({"nope.example.com", "v1", "Thing"});
  ASSERT_FALSE(no_group.ok());
  EXPECT_TRUE(kube::IsNotFound(no_group.error()));
}

TEST_F(DiscoveryTest, FindsACrdInstalledAfterStartAndCreatesAnObjectOfIt) {
  const std::string group = namespace_ + ".plumbline.test";
  kube::GroupVersionKind widget{group, "v1", "Widget"};
  // Before the CRD exists the kind is unknown (and that miss must not stick in the cache).
  auto before = client_->Resource(widget);
  ASSERT_FALSE(before.ok());
  ASSERT_TRUE(kube::IsNotFound(before.error()));

  auto crd = client_->Apply(WidgetCrd(group));
  ASSERT_TRUE(crd.ok()) << crd.error().message();
  auto crds = client_->Resource({"apiextensions.k8s.io", "v1", "CustomResourceDefinition"});
  ASSERT_TRUE(crds.ok());
  ASSERT_TRUE(Eventually([&] { return Established(*client_, *crds, "widgets." + group); }));

  // Established does not promise that discovery serves the group yet: poll through our client.
  ASSERT_TRUE(Eventually([&] { return client_->Resource(widget).ok(); }));
  auto info = client_->Resource(widget);
  EXPECT_EQ(info->resource, "widgets");
  EXPECT_TRUE(info->namespaced);
  EXPECT_TRUE(info->has_status);

  Json obj = {{"apiVersion", group + "/v1"},
              {"kind", "Widget"},
              {"metadata", {{"name", "w1"}, {"namespace", namespace_}}},
              {"spec", {{"color", "green"}}}};
  auto applied = client_->Apply(obj);
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  EXPECT_EQ((*applied)["spec"]["size"], 3);  // the CRD's schema default
  auto read = client_->Get(*info, namespace_, "w1");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ((*read)["spec"]["color"], "green");

  ASSERT_TRUE(client_->Delete(*crds, "", "widgets." + group).ok());
}

}  // namespace
}  // namespace plumbline
