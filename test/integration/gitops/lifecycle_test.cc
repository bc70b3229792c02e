// Health, suspend, events and the API cost of a reconcile (PRODUCT §2, §3.7).
#include <gtest/gtest.h>

#include <iostream>
#include <set>

#include "support/gitops_env.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;

const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
)";

class LifecycleTest : public GitOpsTest {
 protected:
  Json Spec(const std::string& url) {
    return {{"source", {{"repoURL", url}, {"path", "app"}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"}};
  }
};

TEST_F(LifecycleTest, ReadyWaitsForTheDeploymentRolloutAndFollowsItsStatus) {
  std::string url;
  GitRepo repo = NewRepo("health", &url);
  repo.Write("app/deploy.yaml", kDeployment);
  std::string sha = repo.Commit("deployment");
  ApplyApp("web", Spec(url));
  // No kubelet here: the rollout never completes by itself.
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha && Cond(a, "Healthy") == "False";
  }));
  Json app = GetApp("web");
  EXPECT_EQ(Cond(app, "Ready"), "False");
  EXPECT_EQ(Cond(app, "Healthy", "reason"), "Progressing");
  EXPECT_NE(Cond(app, "Healthy", "message").find("Deployment " + namespace_ + "/web"),
            std::string::npos);

  // Write the status a finished rollout has, through the status subresource.
  Json live = Live("apps/v1", "Deployment", namespace_, "web");
  live["status"] = {{"observedGeneration", live["metadata"]["generation"]},
                    {"replicas", 2},
                    {"updatedReplicas", 2},
                    {"readyReplicas", 2},
                    {"availableReplicas", 2}};
  auto written = client_->UpdateStatus(live);
  ASSERT_TRUE(written.ok()) << written.error().message();
  ASSERT_TRUE(ReadyAt("web", sha));
  EXPECT_EQ(Cond(GetApp("web"), "Healthy"), "True");
  // Another writer (the status) changed the object, not git: nothing was applied, and Ready
  // still names the last reconcile that changed something.
  EXPECT_EQ(Cond(GetApp("web"), "Ready", "message"),
            "Applied revision " + sha.substr(0, 12) + ": created 1");
}

TEST_F(LifecycleTest, ASuspendedApplicationIsLeftAlone) {
  std::string url;
  GitRepo repo = NewRepo("suspend", &url);
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: '1'}\n");
  std::string first = repo.Commit("one");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", first));

  Json spec = Spec(url);
  spec["suspend"] = true;
  ApplyApp("web", spec);
  ASSERT_TRUE(WaitApp(
      "web", [&](const Json& a) { return Cond(a, "Reconciling", "reason") == "Suspended"; }));
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: '2'}\n");
  std::string second = repo.Commit("two");
  // Several intervals pass without the new commit being applied.
  int polls = 0;
  EXPECT_FALSE(Eventually(
      [&] {
        ++polls;
        return GetApp("web")["status"].value("lastAttemptedRevision", "") == second;
      },
      std::chrono::seconds(4)));
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "a")["data"]["v"], "1");

  spec["suspend"] = false;
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", second));
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "a")["data"]["v"], "2");
}

TEST_F(LifecycleTest, AppliesAndFailuresAreRecordedAsEvents) {
  std::string url;
  GitRepo repo = NewRepo("events", &url);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  std::string sha = repo.Commit("one");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", sha));
  repo.Write("app/bad.yaml", "kind: [\n");
  repo.Commit("bad");
  auto events = client_->Resource({"", "v1", "Event"});
  ASSERT_TRUE(events.ok());
  auto reasons = [&] {
    std::set<std::string> out;
    auto list = client_->List(*events, namespace_);
    if (!list.ok()) return out;
    for (const auto& e : list->items) {
      if (e["involvedObject"].value("name", "") == "web") {
        out.insert(e.value("type", "") + "/" + e.value("reason", ""));
      }
    }
    return out;
  };
  ASSERT_TRUE(Eventually([&] {
    auto r = reasons();
    return r.count("Normal/ReconciliationSucceeded") && r.count("Warning/RenderFailed");
  }));
}

TEST_F(LifecycleTest, AReconcileOfUnchangedObjectsMakesNoPerObjectRequest) {
  // The live cache knows the objects match git: a GET of the Application, and one status apply
  // only because the sync request is recorded as handled. Before the drift work this was one
  // server-side apply per object as well.
  constexpr int kObjects = 20;
  std::string url;
  GitRepo repo = NewRepo("cost", &url);
  for (int i = 0; i < kObjects; ++i) {
    repo.Write("app/cm" + std::to_string(i) + ".yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm" + std::to_string(i) + "}\n");
  }
  std::string sha = repo.Commit("twenty");
  Json spec = Spec(url);
  spec["interval"] = "1h";
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", sha));
  std::vector<std::string> names;
  for (int i = 0; i < kObjects; ++i) names.push_back("cm" + std::to_string(i));
  ASSERT_TRUE(WaitCached("v1", "ConfigMap", names));
  std::string rv_before = Live("v1", "ConfigMap", namespace_, "cm0")["metadata"]["resourceVersion"];

  auto& counts = GitOpsEnvironment::Get()->request_counts();
  // Requests sent from here on: the first reconcile's own status write, reported by a thread
  // that ran late, is not this one's.
  const auto since = std::chrono::steady_clock::now();
  RequestSync("web", "cost-check");
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastHandledRequestedAt", "") == "cost-check";
  }));
  // The request hook runs just after the response that made the status visible.
  ASSERT_TRUE(Eventually([&] { return counts.SentSince(since)["apply"] > 0; }));
  auto sent = counts.SentSince(since);
  EXPECT_EQ(sent["get"], 1);    // the Application
  EXPECT_EQ(sent["apply"], 1);  // the status: lastHandledRequestedAt
  EXPECT_EQ(sent["list"], 0);
  EXPECT_EQ(sent["create"], 0);  // no Event: nothing changed
  EXPECT_EQ(sent["delete"], 0);
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "cm0")["metadata"]["resourceVersion"], rv_before);
  std::cout << "reconcile of " << kObjects
            << " unchanged objects: " << sent["get"] + sent["apply"] + sent["list"]
            << " API requests\n";
}

}  // namespace
}  // namespace plumbline
