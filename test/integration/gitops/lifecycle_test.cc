// Health, suspend, events and the API cost of a reconcile (PRODUCT §2, §3.7).
#include <gtest/gtest.h>

#include <iostream>
#include <map>
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
  // The live cache knows the objects match git, the Application comes from the controller's
  // cache: one status apply only because the sync request is recorded as handled. Before the
  // drift work this was one server-side apply per object as well, and a GET of the Application.
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
  EXPECT_EQ(sent["get"], 0);    // the Application is the cached copy
  EXPECT_EQ(sent["apply"], 1);  // the status: lastHandledRequestedAt
  EXPECT_EQ(sent["list"], 0);
  EXPECT_EQ(sent["create"], 0);  // no Event: nothing changed
  EXPECT_EQ(sent["delete"], 0);
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "cm0")["metadata"]["resourceVersion"], rv_before);
  std::cout << "reconcile of " << kObjects
            << " unchanged objects: " << sent["get"] + sent["apply"] + sent["list"]
            << " API requests\n";
}

TEST_F(LifecycleTest, CredentialsAreReadAgainOnlyWhenTheirSecretChanges) {
  // A private repository's reconcile costs no request either: the Secret's credentials are kept
  // until the watch of Secrets says it changed.
  auto* env = GitOpsEnvironment::Get();
  std::string url;
  GitRepo repo = NewRepo("private", &url);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  std::string sha = repo.Commit("one");
  ApplySecret("creds", {{"username", "ci"}, {"password", "first"}});
  Json spec = Spec(url);
  spec["interval"] = "1h";
  spec["source"]["secretRef"] = {{"name", "creds"}};
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", sha));
  ASSERT_TRUE(WaitCached("v1", "ConfigMap", {"a"}));
  auto& reconciler = env->reconciler();
  auto gets = [&] {
    const auto since = std::chrono::steady_clock::now();
    reconciler.Reconcile(GetApp("web"));
    return env->request_counts().SentSince(since)["get"];
  };
  (void)gets();  // reads the Secret if the controller's own reconcile did not keep it
  EXPECT_EQ(gets(), 0);
  // The change wakes the controller too: whichever reconcile comes first reads the Secret again
  // (one GET, nothing else: the Application is cached), and the next ones keep what it read.
  const auto changed = std::chrono::steady_clock::now();
  ApplySecret("creds", {{"username", "ci"}, {"password", "second"}});
  EXPECT_TRUE(Eventually([&] {
    (void)gets();
    return env->request_counts().SentSince(changed)["get"] >= 1;
  }));
  EXPECT_EQ(gets(), 0);
}

// Twenty ConfigMaps applied and Ready, interval 1h (so only the test reconciles), cached.
class IdleTest : public LifecycleTest {
 protected:
  static constexpr int kObjects = 20;

  void SetUp() override {
    LifecycleTest::SetUp();
    std::string url;
    GitRepo repo = NewRepo("idle", &url);
    for (int i = 0; i < kObjects; ++i) {
      repo.Write("app/cm" + std::to_string(i) + ".yaml",
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm" + std::to_string(i) +
                     "}\ndata: {v: \"" + std::to_string(i) + "\"}\n");
    }
    sha_ = repo.Commit("twenty");
    spec_ = Spec(url);
    spec_["interval"] = "1h";
    spec_["prune"] = true;
    ApplyApp("web", spec_);
    ASSERT_TRUE(ReadyAt("web", sha_));
    for (int i = 0; i < kObjects; ++i) names_.push_back("cm" + std::to_string(i));
    ASSERT_TRUE(WaitCached("v1", "ConfigMap", names_));
    // The controller's own last reconcile (and its status write) is over once the status holds
    // every digest and the inventory is complete.
    ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
      const Json inv = StatusOf(a).value("inventory", Json::array());
      if (inv.size() != size_t(kObjects)) return false;
      for (const auto& e : inv) {
        if (!e.contains("digest")) return false;
      }
      return true;
    }));
    for (const auto& n : names_) versions_[n] = VersionOf(n);
  }

  std::string VersionOf(const std::string& name) {
    return Live("v1", "ConfigMap", namespace_, name)["metadata"].value("resourceVersion", "");
  }

  Json spec_;
  std::string sha_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> versions_;
};

TEST_F(IdleTest, AnIdleReconcileMakesNoRequestAtAll) {
  // PRODUCT §9: the Application from the cache (here: as the API has it now, which the cache
  // would hold), the objects from the watches, nothing to write.
  auto* env = GitOpsEnvironment::Get();
  const Json app = GetApp("web");
  const auto since = std::chrono::steady_clock::now();
  reconcile::ReconcileResult result = env->reconciler().Reconcile(app);
  EXPECT_EQ(result.requeue_after, std::chrono::milliseconds(std::chrono::hours(1)));
  EXPECT_FALSE(result.retry);
  std::map<std::string, int> sent = env->request_counts().SentSince(since);
  int total = 0;
  for (const auto& [verb, n] : sent) total += n;
  EXPECT_EQ(total, 0) << "get " << sent["get"] << ", apply " << sent["apply"] << ", list "
                      << sent["list"] << ", create " << sent["create"];
  EXPECT_EQ(Cond(GetApp("web"), "Ready"), "True");
}

TEST_F(IdleTest, AStaleCachedCopyIsReadAgainBeforeItsInventoryIsTrusted) {
  // A copy older than the controller's own last status write: its inventory may miss objects
  // the controller manages now, and the inventory decides what a prune deletes.
  auto* env = GitOpsEnvironment::Get();
  Json stale = GetApp("web");
  stale["metadata"]["resourceVersion"] = "1";
  stale["status"]["inventory"] = Json::array();
  // Make the reconciler write once, so that it knows a version newer than the stale copy.
  RequestSync("web", "write-once");
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastHandledRequestedAt", "") == "write-once";
  }));
  const auto since = std::chrono::steady_clock::now();
  env->reconciler().Reconcile(stale);
  EXPECT_EQ(env->request_counts().SentSince(since)["get"], 1);  // the Application, fresh
  EXPECT_EQ(StatusOf(GetApp("web")).value("inventory", Json::array()).size(), size_t(kObjects));
}

TEST_F(IdleTest, ARestartOverUnchangedObjectsMakesNoPerObjectRequestAndNoWrite) {
  // A restarted controller: nothing learnt, no watches. It lists and watches the kind once, and
  // trusts each object whose watched state has the digest status.inventory kept for it.
  auto* env = GitOpsEnvironment::Get();
  std::unique_ptr<reconcile::Reconciler> restarted = env->NewReconciler();
  const Json app = GetApp("web");
  const auto since = std::chrono::steady_clock::now();
  reconcile::ReconcileResult result = restarted->Reconcile(app);
  restarted->Stop();
  EXPECT_FALSE(result.retry);
  std::map<std::string, int> sent = env->request_counts().SentSince(since);
  EXPECT_EQ(sent["get"], 0);
  EXPECT_EQ(sent["apply"], 0);  // no object, no status
  EXPECT_EQ(sent["create"], 0);
  EXPECT_EQ(sent["update"], 0);
  EXPECT_EQ(sent["delete"], 0);
  EXPECT_EQ(sent["list"], 1);  // the one kind, ConfigMap
  for (const auto& n : names_) EXPECT_EQ(VersionOf(n), versions_[n]) << n;
  EXPECT_TRUE(restarted->tracker().Drifted(namespace_ + "/web").empty());
}

TEST_F(IdleTest, ARestartStillSeesWhatChangedWhileNobodyWatched) {
  auto* env = GitOpsEnvironment::Get();
  // drift: report, so that the running controller leaves the changes below in place.
  spec_["drift"] = "report";
  ApplyApp("web", spec_);
  ASSERT_TRUE(WaitApp("web", [](const Json& a) {
    return StatusOf(a).value("observedGeneration", int64_t(0)) ==
           a["metadata"].value("generation", int64_t(-1));
  }));
  // While "down": a live edit by another manager (as kubectl edit makes), and a deletion.
  Json edited = Live("v1", "ConfigMap", namespace_, "cm1");
  edited["data"]["v"] = "edited";
  auto cms = client_->Resource({"", "v1", "ConfigMap"});
  ASSERT_TRUE(cms.ok());
  ASSERT_TRUE(client_->Update(edited, "kubectl-edit").ok());
  ASSERT_TRUE(client_->Delete(*cms, namespace_, "cm2").ok());
  std::unique_ptr<reconcile::Reconciler> restarted = env->NewReconciler();
  restarted->Reconcile(GetApp("web"));
  restarted->Stop();
  // The edit is not taken for what the last apply stored: it is drift, reported, not applied.
  std::vector<drift::ObjectDrift> drifted = restarted->tracker().Drifted(namespace_ + "/web");
  ASSERT_EQ(drifted.size(), 1u);
  EXPECT_EQ(drifted[0].key.name, "cm1");
  EXPECT_EQ(drifted[0].fields, std::vector<std::string>{"/data/v"});
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "cm1")["data"]["v"], "edited");
  // A missing object is applied (nothing to learn from).
  EXPECT_FALSE(Live("v1", "ConfigMap", namespace_, "cm2").is_null());
  for (const auto& n : names_) {
    if (n != "cm1" && n != "cm2") {
      EXPECT_EQ(VersionOf(n), versions_[n]) << n;
    }
  }
}

}  // namespace
}  // namespace plumbline
