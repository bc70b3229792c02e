// Drift (PRODUCT §3.5): live edits and deletions are seen through watches within moments, then
// corrected (drift: correct) or reported (drift: report), with status, Events and metrics.
#include <gtest/gtest.h>

#include "drift_fixture.h"

namespace plumbline {
namespace {

using testing::DriftTest;
using testing::Eventually;
using testing::GitRepo;
using testing::kDriftDeployment;
using testing::kImagePointer;

TEST_F(DriftTest, ALiveEditIsRevertedAtOnceInCorrectMode) {
  std::string url;
  GitRepo repo = NewRepo("correct", &url);
  repo.Write("app/deploy.yaml", kDriftDeployment);
  std::string sha = repo.Commit("web");
  ApplyApp("web", Spec(url, "correct"));
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha && Cond(a, "Drifted") == "False";
  }));
  EXPECT_EQ(AppMetric("plumbline_drift_corrected_total"), 0);

  SetImage("nginx:evil");
  // Reverted by the controller, woken by the watch (the interval is an hour).
  ASSERT_TRUE(Eventually([&] { return LiveImage() == "nginx:1.25"; }))
      << "image is " << LiveImage();
  ASSERT_TRUE(WaitApp(
      "web", [](const Json& a) { return Cond(a, "Drifted", "reason") == "DriftCorrected"; }));
  Json app = GetApp("web");
  EXPECT_EQ(Cond(app, "Drifted"), "False");
  EXPECT_NE(Cond(app, "Drifted", "message").find(kImagePointer), std::string::npos)
      << Cond(app, "Drifted", "message");
  EXPECT_NE(Cond(app, "Drifted", "message").find("Deployment " + namespace_ + "/web"),
            std::string::npos);
  EXPECT_EQ(DriftOf(app).value("count", -1), 0);
  EXPECT_EQ(AppMetric("plumbline_drift_detected_total"), 1);
  EXPECT_EQ(AppMetric("plumbline_drift_corrected_total"), 1);
  EXPECT_EQ(AppMetric("plumbline_drifted_resources"), 0);
  EXPECT_TRUE(Eventually([&] { return EventCount("DriftCorrected") == 1; }));
  EXPECT_EQ(StatusOf(app).value("lastAppliedRevision", ""), sha);
}

TEST_F(DriftTest, ReportModeReportsTheEditLeavesItAndClearsWhenItIsUndone) {
  std::string url;
  GitRepo repo = NewRepo("report", &url);
  repo.Write("app/deploy.yaml", kDriftDeployment);
  std::string sha = repo.Commit("web");
  ApplyApp("web", Spec(url, "report"));
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha && Cond(a, "Drifted") == "False";
  }));

  SetImage("nginx:evil");
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "True"; }));
  Json drift = DriftOf(GetApp("web"));
  EXPECT_EQ(drift.value("count", 0), 1);
  ASSERT_EQ(drift["objects"].size(), 1u);
  EXPECT_EQ(drift["objects"][0].value("kind", ""), "Deployment");
  EXPECT_EQ(drift["objects"][0].value("name", ""), "web");
  EXPECT_EQ(drift["objects"][0]["fields"], Json::array({kImagePointer}));
  // The gauge is set once the status write is answered: a moment after the status shows it.
  EXPECT_TRUE(Eventually([&] { return AppMetric("plumbline_drifted_resources") == 1; }));
  EXPECT_EQ(Cond(GetApp("web"), "Drifted", "reason"), "DriftDetected");
  EXPECT_EQ(LiveImage(), "nginx:evil");  // reported, not corrected

  // More drift in the same episode: reported, but no second Event.
  EditAs("autoscaler", "apps/v1", "Deployment", "web", {{"spec", {{"replicas", 7}}}});
  ASSERT_TRUE(WaitApp("web", [](const Json& a) {
    return DriftOf(a).value("objects", Json::array()).size() == 1 &&
           DriftOf(a)["objects"][0]["fields"].size() == 2;
  }));
  EXPECT_EQ(DriftOf(GetApp("web"))["objects"][0]["fields"],
            Json::array({"/spec/replicas", kImagePointer}));
  EXPECT_TRUE(Eventually([&] { return EventCount("DriftDetected") == 1; }));
  EXPECT_EQ(LiveImage(), "nginx:evil");

  // Undoing the edits by hand ends the drift.
  SetImage("nginx:1.25");
  EditAs("autoscaler", "apps/v1", "Deployment", "web", {{"spec", {{"replicas", 2}}}});
  ASSERT_TRUE(WaitApp("web", [](const Json& a) {
    return Cond(a, "Drifted") == "False" && DriftOf(a).value("count", -1) == 0;
  }));
  EXPECT_EQ(Cond(GetApp("web"), "Drifted", "reason"), "NoDrift");
  EXPECT_EQ(AppMetric("plumbline_drifted_resources"), 0);
  EXPECT_EQ(EventCount("DriftDetected"), 1);

  // A new episode is a new Event.
  SetImage("nginx:evil-again");
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "True"; }));
  EXPECT_TRUE(Eventually([&] { return EventCount("DriftDetected") == 2; }));
}

TEST_F(DriftTest, ADeletedObjectIsRecreatedInCorrectModeAndReportedMissingInReportMode) {
  std::string url;
  GitRepo repo = NewRepo("deleted", &url);
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
             "data: {color: blue}\n");
  std::string sha = repo.Commit("settings");
  ApplyApp("web", Spec(url, "correct"));
  ASSERT_TRUE(ReadyAt("web", sha));
  auto configmaps = ConfigMaps();
  std::string uid = Live("v1", "ConfigMap", namespace_, "settings")["metadata"]["uid"];

  ASSERT_TRUE(client_->Delete(configmaps, namespace_, "settings").ok());
  ASSERT_TRUE(Eventually([&] {
    Json cm = Live("v1", "ConfigMap", namespace_, "settings");
    return !cm.is_null() && cm["metadata"].value("uid", "") != uid;
  })) << "the deleted ConfigMap was not recreated";
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "settings")["data"]["color"], "blue");
  ASSERT_TRUE(WaitApp(
      "web", [](const Json& a) { return Cond(a, "Drifted", "reason") == "DriftCorrected"; }));
  EXPECT_NE(Cond(GetApp("web"), "Drifted", "message").find("(missing)"), std::string::npos);

  // Report mode: the object stays gone, and status says it is missing.
  Json spec = Spec(url, "report");
  ApplyApp("web", spec);
  ASSERT_TRUE(WaitApp("web", [](const Json& a) {
    return StatusOf(a).value("observedGeneration", 0) == a["metadata"].value("generation", -1);
  }));
  ASSERT_TRUE(client_->Delete(configmaps, namespace_, "settings").ok());
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "True"; }));
  Json drift = DriftOf(GetApp("web"));
  ASSERT_EQ(drift.value("objects", Json::array()).size(), 1u);
  EXPECT_EQ(drift["objects"][0].value("missing", false), true);
  EXPECT_EQ(drift["objects"][0].value("name", ""), "settings");
  EXPECT_EQ(AppMetric("plumbline_drifted_resources"), 1);
  // Even a sync request does not recreate it in report mode.
  RequestSync("web", "after-delete");
  ASSERT_TRUE(WaitApp("web", [](const Json& a) {
    return StatusOf(a).value("lastHandledRequestedAt", "") == "after-delete";
  }));
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "settings").is_null());
  EXPECT_EQ(Cond(GetApp("web"), "Drifted"), "True");
}

}  // namespace
}  // namespace plumbline

namespace plumbline {
namespace {

using testing::DriftTest;
using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitRepo;

TEST_F(DriftTest, AfterARestartReportModeJudgesByADryRunAndWritesNothing) {
  std::string url;
  GitRepo repo = NewRepo("restart", &url);
  repo.Write("app/deploy.yaml", testing::kDriftDeployment);
  std::string sha = repo.Commit("web");
  ApplyApp("web", Spec(url, "report"));
  ASSERT_TRUE(WaitApp(
      "web", [&](const Json& a) { return StatusOf(a).value("lastAppliedRevision", "") == sha; }));
  // What a restart loses: everything the controller learnt about this Application.
  GitOpsEnvironment::Get()->reconciler().Forget(namespace_ + "/web");
  SetImage("nginx:while-down");
  std::string edited_version =
      Live("apps/v1", "Deployment", namespace_, "web")["metadata"]["resourceVersion"];

  RequestSync("web", "restarted");
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "True"; }));
  Json drift = DriftOf(GetApp("web"));
  ASSERT_EQ(drift.value("objects", Json::array()).size(), 1u);
  EXPECT_EQ(drift["objects"][0]["fields"], Json::array({kImagePointer}));
  // Judged without a write: the edit and its resourceVersion are as they were.
  EXPECT_EQ(LiveImage(), "nginx:while-down");
  EXPECT_EQ(Live("apps/v1", "Deployment", namespace_, "web")["metadata"]["resourceVersion"],
            edited_version);
}

TEST_F(DriftTest, WatchesFollowTheKindsInGitAndHoldOnlyManagedObjects) {
  const auto& cache = GitOpsEnvironment::Get()->reconciler().live_cache();
  // Earlier tests' Applications are gone, and their kinds with them.
  ASSERT_TRUE(Eventually([&] { return cache.watches() == 0; })) << cache.watches();
  // Objects Plumbline does not manage are never held.
  ASSERT_TRUE(client_->Apply(ConfigMap("unmanaged", {{"a", "b"}})).ok());

  std::string url;
  GitRepo repo = NewRepo("kinds", &url);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: managed}\n");
  std::string v1 = repo.Commit("a ConfigMap");
  Json spec = Spec(url, "correct");
  spec["prune"] = true;
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", v1));
  EXPECT_EQ(cache.watches(), 1u);
  // The watch delivers our own create shortly after the apply returns.
  EXPECT_TRUE(Eventually([&] {
    return cache.Lookup({"", "v1", "ConfigMap", namespace_, "managed"}).has_value();
  }));
  EXPECT_FALSE(cache.Lookup({"", "v1", "ConfigMap", namespace_, "unmanaged"}).has_value());

  // A new kind in git gets a watch; a kind that leaves git loses it.
  repo.Write("app/svc.yaml",
             "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
             "spec: {ports: [{port: 80}]}\n");
  std::string v2 = repo.Commit("a Service");
  RequestSync("web", "v2");
  ASSERT_TRUE(ReadyAt("web", v2));
  EXPECT_EQ(cache.watches(), 2u);
  EXPECT_TRUE(Eventually([&] {
    return cache.Lookup({"", "v1", "Service", namespace_, "web"}).has_value();
  }));

  repo.Remove("app/cm.yaml");
  std::string v3 = repo.Commit("no ConfigMap");
  RequestSync("web", "v3");
  ASSERT_TRUE(ReadyAt("web", v3));
  EXPECT_EQ(cache.watches(), 1u);
  EXPECT_FALSE(cache.Lookup({"", "v1", "ConfigMap", namespace_, "managed"}).has_value());

  auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  ASSERT_TRUE(apps.ok());
  ASSERT_TRUE(client_->Delete(*apps, namespace_, "web").ok());
  EXPECT_TRUE(Eventually([&] { return cache.watches() == 0; })) << cache.watches();
}

}  // namespace
}  // namespace plumbline
