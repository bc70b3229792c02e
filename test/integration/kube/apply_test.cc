// Server-side apply, dry runs, conflicts, status updates and deletes against the real API server.
#include <gtest/gtest.h>

#include "kube/errors.h"
#include "support/kube_test.h"

namespace plumbline {
namespace {

using testing::KubeTest;

Json Deployment(const std::string& ns, const std::string& name, const std::string& image) {
  return Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": ")" +
                     name + R"(", "namespace": ")" + ns + R"("},
    "spec": {
      "replicas": 2,
      "selector": {"matchLabels": {"app": ")" +
                     name + R"("}},
      "template": {
        "metadata": {"labels": {"app": ")" +
                     name + R"("}},
        "spec": {"containers": [{"name": "web", "image": ")" +
                     image + R"(",
                                 "resources": {"requests": {"cpu": "1000m"}}}]}
      }
    }})");
}

std::string ResourceVersion(const Json& obj) { return obj["metadata"]["resourceVersion"]; }

class ApplyTest : public KubeTest {};

TEST_F(ApplyTest, AppliesConfigMapAndDeploymentAndReadsThemBack) {
  auto cm = client_->Apply(ConfigMap("settings", {{"color", "blue"}}));
  ASSERT_TRUE(cm.ok()) << cm.error().message();
  auto dep = client_->Apply(Deployment(namespace_, "web", "nginx:1.27"));
  ASSERT_TRUE(dep.ok()) << dep.error().message();

  auto cm_res = client_->Resource({"", "v1", "ConfigMap"});
  ASSERT_TRUE(cm_res.ok());
  auto cm_read = client_->Get(*cm_res, namespace_, "settings");
  ASSERT_TRUE(cm_read.ok()) << cm_read.error().message();
  EXPECT_EQ((*cm_read)["data"]["color"], "blue");

  auto dep_res = client_->Resource({"apps", "v1", "Deployment"});
  ASSERT_TRUE(dep_res.ok());
  EXPECT_EQ(dep_res->resource, "deployments");
  EXPECT_TRUE(dep_res->namespaced);
  auto dep_read = client_->Get(*dep_res, namespace_, "web");
  ASSERT_TRUE(dep_read.ok()) << dep_read.error().message();
  const Json& container = (*dep_read)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "nginx:1.27");
  // The server normalizes quantities: what we read back is what it stores.
  EXPECT_EQ(container["resources"]["requests"]["cpu"], "1");
  // Our field manager owns what we applied.
  bool managed_by_us = false;
  for (const auto& entry : (*dep_read)["metadata"]["managedFields"]) {
    if (entry["manager"] == "plumbline" && entry["operation"] == "Apply") managed_by_us = true;
  }
  EXPECT_TRUE(managed_by_us);
}

TEST_F(ApplyTest, ApplyingTheSameObjectTwiceDoesNotWrite) {
  auto first = client_->Apply(Deployment(namespace_, "web", "nginx:1.27"));
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto second = client_->Apply(Deployment(namespace_, "web", "nginx:1.27"));
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(ResourceVersion(*first), ResourceVersion(*second));

  auto changed = client_->Apply(Deployment(namespace_, "web", "nginx:1.28"));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(ResourceVersion(*first), ResourceVersion(*changed));
}

TEST_F(ApplyTest, ConflictingManagerWithoutForceGetsConflict) {
  ASSERT_TRUE(client_->Apply(ConfigMap("shared", {{"owner", "plumbline"}})).ok());
  kube::ApplyOptions other;
  other.field_manager = "someone-else";
  other.force = false;
  auto conflict = client_->Apply(ConfigMap("shared", {{"owner", "someone-else"}}), other);
  ASSERT_FALSE(conflict.ok());
  EXPECT_TRUE(kube::IsConflict(conflict.error())) << conflict.error().message();
  EXPECT_EQ(conflict.error().http_status(), 409);
  EXPECT_NE(conflict.error().message().find("ConfigMap " + namespace_ + "/shared"),
            std::string::npos)
      << conflict.error().message();
  EXPECT_NE(conflict.error().message().find("conflict"), std::string::npos);

  other.force = true;  // force takes the field over
  auto forced = client_->Apply(ConfigMap("shared", {{"owner", "someone-else"}}), other);
  ASSERT_TRUE(forced.ok()) << forced.error().message();
  EXPECT_EQ((*forced)["data"]["owner"], "someone-else");
}

TEST_F(ApplyTest, DryRunChangesNothing) {
  auto cm_res = client_->Resource({"", "v1", "ConfigMap"});
  ASSERT_TRUE(cm_res.ok());
  kube::ApplyOptions dry;
  dry.dry_run = true;

  // A dry-run create returns the object as it would be stored, but stores nothing.
  auto would_create = client_->Apply(ConfigMap("ghost", {{"k", "v"}}), dry);
  ASSERT_TRUE(would_create.ok()) << would_create.error().message();
  EXPECT_EQ((*would_create)["data"]["k"], "v");
  auto missing = client_->Get(*cm_res, namespace_, "ghost");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(kube::IsNotFound(missing.error()));

  // A dry-run change shows the change but leaves the stored object alone.
  auto real = client_->Apply(ConfigMap("settings", {{"color", "blue"}}));
  ASSERT_TRUE(real.ok());
  auto would_change = client_->Apply(ConfigMap("settings", {{"color", "red"}}), dry);
  ASSERT_TRUE(would_change.ok());
  EXPECT_EQ((*would_change)["data"]["color"], "red");
  auto stored = client_->Get(*cm_res, namespace_, "settings");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)["data"]["color"], "blue");
  EXPECT_EQ(ResourceVersion(*stored), ResourceVersion(*real));
}

TEST_F(ApplyTest, InvalidObjectIsTheApisInvalidError) {
  Json bad = ConfigMap("Not_A_Valid_Name", {{"k", "v"}});
  auto result = client_->Apply(bad);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(kube::IsInvalid(result.error())) << result.error().message();
  EXPECT_EQ(result.error().reason(), "Invalid");
}

TEST_F(ApplyTest, CreateOfAnExistingObjectIsAlreadyExists) {
  ASSERT_TRUE(client_->Create(ConfigMap("once", {{"k", "v"}})).ok());
  auto again = client_->Create(ConfigMap("once", {{"k", "v"}}));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(kube::IsAlreadyExists(again.error())) << again.error().message();
}

TEST_F(ApplyTest, DeleteHonoursPreconditions) {
  auto cm = client_->Apply(ConfigMap("doomed", {{"k", "v"}}));
  ASSERT_TRUE(cm.ok());
  auto res = client_->Resource({"", "v1", "ConfigMap"});
  ASSERT_TRUE(res.ok());

  kube::DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  Status refused = client_->Delete(*res, namespace_, "doomed", wrong_uid);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(kube::IsConflict(refused.error())) << refused.error().message();

  kube::DeleteOptions right;
  right.precondition_uid = (*cm)["metadata"]["uid"];
  ASSERT_TRUE(client_->Delete(*res, namespace_, "doomed", right).ok());
  auto gone = client_->Get(*res, namespace_, "doomed");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(kube::IsNotFound(gone.error()));

  Status again = client_->Delete(*res, namespace_, "doomed");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(kube::IsNotFound(again.error()));
}

TEST_F(ApplyTest, DeleteSendsThePropagationPolicy) {
  ASSERT_TRUE(client_->Apply(ConfigMap("slow", {{"k", "v"}})).ok());
  auto res = client_->Resource({"", "v1", "ConfigMap"});
  ASSERT_TRUE(res.ok());
  kube::DeleteOptions foreground;
  foreground.propagation_policy = "Foreground";
  ASSERT_TRUE(client_->Delete(*res, namespace_, "slow", foreground).ok());
  // Foreground deletion parks the object behind the foregroundDeletion finalizer until the
  // garbage collector (not running here) lets it go.
  auto parked = client_->Get(*res, namespace_, "slow");
  ASSERT_TRUE(parked.ok()) << parked.error().message();
  EXPECT_TRUE((*parked)["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ((*parked)["metadata"]["finalizers"], Json::array({"foregroundDeletion"}));
}

TEST_F(ApplyTest, UpdatesTheStatusSubresource) {
  auto dep = client_->Apply(Deployment(namespace_, "web", "nginx:1.27"));
  ASSERT_TRUE(dep.ok()) << dep.error().message();
  Json with_status = *dep;
  with_status["status"] = {{"observedGeneration", 1},
                           {"replicas", 2},
                           {"readyReplicas", 2},
                           {"updatedReplicas", 2},
                           {"availableReplicas", 2}};
  auto updated = client_->UpdateStatus(with_status);
  ASSERT_TRUE(updated.ok()) << updated.error().message();
  EXPECT_EQ((*updated)["status"]["readyReplicas"], 2);

  // The resourceVersion is a precondition: a stale one conflicts.
  auto stale = client_->UpdateStatus(with_status);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(kube::IsConflict(stale.error())) << stale.error().message();
}

}  // namespace
}  // namespace plumbline
