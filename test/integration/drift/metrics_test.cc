// Metrics (PRODUCT §6): every series of an Application exists from its first reconcile (zeros),
// leaves with it, and the DORA series follow deployments, failures and recoveries.
#include <gtest/gtest.h>

#include "drift_fixture.h"

namespace plumbline {
namespace {

using testing::DriftTest;
using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitRepo;
using testing::MetricSum;

using MetricsTest = DriftTest;

// Every per-Application series PRODUCT §6 names (histograms by their _count).
const std::vector<std::pair<std::string, std::map<std::string, std::string>>> kAppSeries = {
    {"plumbline_reconcile_total", {{"result", "success"}}},
    {"plumbline_reconcile_total", {{"result", "failure"}}},
    {"plumbline_reconcile_duration_seconds_count", {}},
    {"plumbline_drifted_resources", {}},
    {"plumbline_managed_resources", {}},
    {"plumbline_application_ready", {}},
    {"plumbline_application_suspended", {}},
    {"plumbline_last_applied_timestamp_seconds", {}},
    {"plumbline_git_fetch_duration_seconds_count", {}},
    {"plumbline_git_fetch_failures_total", {}},
    {"plumbline_apply_total", {{"action", "created"}}},
    {"plumbline_apply_total", {{"action", "configured"}}},
    {"plumbline_apply_total", {{"action", "deleted"}}},
    {"plumbline_apply_total", {{"action", "unchanged"}}},
    {"plumbline_deployments_total", {}},
    {"plumbline_lead_time_seconds_count", {}},
    {"plumbline_change_failures_total", {}},
    {"plumbline_time_to_restore_seconds_count", {}},
};

TEST_F(MetricsTest, EverySeriesExistsFromTheFirstReconcileAndLeavesWithTheApplication) {
  std::string url;
  GitRepo repo = NewRepo("series", &url);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n");
  std::string sha = repo.Commit("one");
  ApplyApp("web", Spec(url, "correct"));
  ASSERT_TRUE(ReadyAt("web", sha));
  for (const auto& [name, labels] : kAppSeries) {
    EXPECT_TRUE(AppMetric(name, "web", labels).has_value()) << name << " is missing";
  }
  // Zeros that alerts rely on, and values that follow the Application.
  EXPECT_EQ(AppMetric("plumbline_reconcile_total", "web", {{"result", "failure"}}), 0);
  EXPECT_EQ(AppMetric("plumbline_git_fetch_failures_total"), 0);
  EXPECT_EQ(AppMetric("plumbline_drifted_resources"), 0);
  EXPECT_EQ(AppMetric("plumbline_apply_total", "web", {{"action", "created"}}), 1);
  EXPECT_EQ(AppMetric("plumbline_managed_resources"), 1);
  EXPECT_EQ(AppMetric("plumbline_application_ready"), 1);
  EXPECT_EQ(AppMetric("plumbline_application_suspended"), 0);
  EXPECT_GT(AppMetric("plumbline_last_applied_timestamp_seconds").value_or(0), 1.7e9);

  // Controller-wide series.
  const std::string text = GitOpsEnvironment::Get()->metrics().Scrape();
  EXPECT_GT(MetricSum(text, "plumbline_kube_requests_total", {{"verb", "apply"}, {"code", "200"}})
                .value_or(0),
            0);
  EXPECT_GT(MetricSum(text, "plumbline_kube_request_duration_seconds_count", {{"verb", "get"}})
                .value_or(0),
            0);
  EXPECT_TRUE(MetricSum(text, "plumbline_workqueue_depth").has_value());
  EXPECT_EQ(MetricSum(text, "plumbline_build_info"), 1);

  // Served over HTTP as Prometheus scrapes it.
  int port = GitOpsEnvironment::Get()->metrics().port();
  ASSERT_GT(port, 0);
  std::string served =
      testing::MustRun({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  EXPECT_NE(
      served.find("plumbline_drifted_resources{name=\"web\",namespace=\"" + namespace_ + "\"}"),
      std::string::npos);

  auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  ASSERT_TRUE(apps.ok());
  ASSERT_TRUE(client_->Delete(*apps, namespace_, "web").ok());
  EXPECT_TRUE(Eventually([&] { return !AppMetric("plumbline_reconcile_total").has_value(); }))
      << "a deleted Application's series stayed";
  for (const auto& [name, labels] : kAppSeries) {
    EXPECT_FALSE(AppMetric(name, "web", labels).has_value()) << name << " stayed";
  }
}

TEST_F(MetricsTest, DoraSeriesFollowDeploymentsFailuresAndRecoveries) {
  std::string url;
  GitRepo repo = NewRepo("dora", &url);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n");
  std::string v1 = repo.Commit("one");
  ApplyApp("web", Spec(url, "correct"));
  ASSERT_TRUE(ReadyAt("web", v1));
  EXPECT_EQ(AppMetric("plumbline_deployments_total"), 1);
  EXPECT_EQ(AppMetric("plumbline_lead_time_seconds_count"), 1);
  EXPECT_EQ(AppMetric("plumbline_change_failures_total"), 0);

  // A release that cannot be applied: one change failure, however often it is retried.
  repo.Write("app/bad.yaml",
             "apiVersion: example.com/v1\nkind: Nonexistent\nmetadata: {name: x}\n");
  std::string bad = repo.Commit("bad release");

  RequestSync("web", "bad");
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAttemptedRevision", "") == bad &&
           Cond(a, "Ready", "reason") == "ApplyFailed";
  }));
  ASSERT_TRUE(Eventually([&] {
    return AppMetric("plumbline_reconcile_total", "web", {{"result", "failure"}}).value_or(0) >= 3;
  })) << "the failing release was not retried";
  EXPECT_EQ(AppMetric("plumbline_change_failures_total"), 1);
  EXPECT_EQ(AppMetric("plumbline_deployments_total"), 1);
  EXPECT_EQ(AppMetric("plumbline_time_to_restore_seconds_count"), 0);

  // The fix restores service: a deployment and one time-to-restore observation.
  repo.Remove("app/bad.yaml");
  std::string fixed = repo.Commit("revert bad release");
  RequestSync("web", "fixed");
  ASSERT_TRUE(ReadyAt("web", fixed));
  EXPECT_TRUE(
      Eventually([&] { return AppMetric("plumbline_time_to_restore_seconds_count") == 1; }));
  EXPECT_EQ(AppMetric("plumbline_deployments_total"), 2);
  EXPECT_EQ(AppMetric("plumbline_lead_time_seconds_count"), 2);
  EXPECT_EQ(AppMetric("plumbline_change_failures_total"), 1);
  EXPECT_GT(AppMetric("plumbline_time_to_restore_seconds_sum").value_or(0), 0);
}

}  // namespace
}  // namespace plumbline
