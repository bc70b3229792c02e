// Benchmarks for drift detection and reconcile cost (issue: drift). Run on demand with
// hack/bench/run.sh, never in CI: they time things, and machines are noisy.
//
// Reports counts (API requests per reconcile, by the client and by kube-apiserver) and latencies
// (median and p90 over repeated live edits).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "support/control_plane.h"
#include "support/gitops_env.h"
#include "support/metrics_text.h"

namespace plumbline {
namespace {

using Clock = std::chrono::steady_clock;
using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;
using testing::MetricSum;

class Bench : public GitOpsTest {
 protected:
  Json Spec(const std::string& url, const std::string& path, const std::string& drift,
            const std::string& interval) {
    return {{"source", {{"repoURL", url}, {"path", path}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", interval},
            {"drift", drift}};
  }
  double Metric(const std::string& name, const std::string& app,
                std::map<std::string, std::string> labels = {}) {
    labels["namespace"] = namespace_;
    labels["name"] = app;
    return MetricSum(GitOpsEnvironment::Get()->metrics().Scrape(), name, labels).value_or(-1);
  }
  void EditAs(const std::string& manager, Json patch) {
    kube::ApplyOptions options;
    options.field_manager = manager;
    options.force = true;
    auto applied = client_->Apply(patch, options);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }
  Json ImagePatch(const std::string& name, const std::string& image) {
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}, {"namespace", namespace_}}},
            {"spec",
             {{"template",
               {{"spec", {{"containers", Json::array({{{"name", "web"}, {"image", image}}})}}}}}}}};
  }
  static void Summary(const char* what, std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * ms.size()))]; };
    std::printf("%-52s n=%zu  median %7.1f ms  p90 %7.1f ms  max %7.1f ms\n", what, ms.size(),
                at(0.5), at(0.9), ms.back());
  }
};

std::string Deployment(const std::string& name) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name +
         "}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: " + name +
         "}}\n  template:\n    metadata: {labels: {app: " + name +
         "}}\n    spec: {containers: [{name: web, image: \"nginx:1.25\"}]}\n";
}

TEST_F(Bench, RequestsPerUnchangedReconcile) {
  std::string url;
  GitRepo repo = NewRepo("cost", &url);
  const std::vector<int> sizes = {10, 100, 1000};
  for (int n : sizes) {
    for (int i = 0; i < n; ++i) {
      repo.Write("n" + std::to_string(n) + "/cm" + std::to_string(i) + ".yaml",
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n" + std::to_string(n) + "-" +
                     std::to_string(i) + "}\ndata: {i: \"" + std::to_string(i) + "\"}\n");
    }
  }
  std::string sha = repo.Commit("objects");
  std::printf("\n%-10s %-12s %-22s %-26s\n", "objects", "reconciles", "client requests/rec.",
              "apiserver configmap reqs");
  for (int n : sizes) {
    const std::string app = "cost" + std::to_string(n);
    ApplyApp(app, Spec(url, "n" + std::to_string(n), "correct", "1s"));
    ASSERT_TRUE(ReadyAt(app, sha));
    double start = Metric("plumbline_reconcile_total", app);
    ASSERT_TRUE(Eventually([&] { return Metric("plumbline_reconcile_total", app) >= start + 2; }));
    auto& counts = GitOpsEnvironment::Get()->request_counts();
    auto server = [&] {
      auto text = client_->GetText("/metrics");
      return text.ok() ? MetricSum(*text, "apiserver_request_total", {{"resource", "configmaps"}})
                             .value_or(0)
                       : -1.0;
    };
    auto before = counts.Snapshot();
    double server_before = server();
    double rec_before = Metric("plumbline_reconcile_total", app);
    ASSERT_TRUE(
        Eventually([&] { return Metric("plumbline_reconcile_total", app) >= rec_before + 5; },
                   std::chrono::seconds(60)));
    auto after = counts.Snapshot();
    double reconciles = Metric("plumbline_reconcile_total", app) - rec_before;
    int requests = 0;
    for (auto& [verb, c] : after) requests += c - before[verb];
    std::printf("%-10d %-12.0f %-22.2f %-26.0f\n", n, reconciles, requests / reconciles,
                server() - server_before);
    // Stop it reconciling before the next size.
    ApplyApp(app, Spec(url, "n" + std::to_string(n), "correct", "1h"));
  }
}

TEST_F(Bench, DriftLatency) {
  constexpr int kEdits = 20;
  std::string url;
  GitRepo repo = NewRepo("latency", &url);
  repo.Write("correct/deploy.yaml", Deployment("fixed"));
  repo.Write("report/deploy.yaml", Deployment("watched"));
  std::string sha = repo.Commit("two Deployments");
  ApplyApp("fixer", Spec(url, "correct", "correct", "1h"));
  ApplyApp("reporter", Spec(url, "report", "report", "1h"));
  ASSERT_TRUE(WaitApp(
      "fixer", [&](const Json& a) { return StatusOf(a).value("lastAppliedRevision", "") == sha; }));
  ASSERT_TRUE(WaitApp("reporter", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha;
  }));

  auto image_of = [&](const std::string& name) {
    Json d = Live("apps/v1", "Deployment", namespace_, name);
    return d.is_null() ? std::string()
                       : d["spec"]["template"]["spec"]["containers"][0].value("image", "");
  };
  std::vector<double> reverted, in_metrics, in_status;
  for (int i = 0; i < kEdits; ++i) {
    // drift: correct — edit to revert, as seen through the API.
    auto t0 = Clock::now();
    EditAs("kubectl-edit", ImagePatch("fixed", "nginx:edit-" + std::to_string(i)));
    ASSERT_TRUE(Eventually([&] { return image_of("fixed") == "nginx:1.25"; }));
    reverted.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());

    // drift: report — edit to the drift gauge, then to the status.
    t0 = Clock::now();
    EditAs("kubectl-edit", ImagePatch("watched", "nginx:edit-" + std::to_string(i)));
    ASSERT_TRUE(Eventually([&] { return Metric("plumbline_drifted_resources", "reporter") == 1; }));
    in_metrics.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ASSERT_TRUE(WaitApp("reporter", [](const Json& a) {
      return StatusOf(a).value("drift", Json::object()).value("count", 0) == 1;
    }));
    in_status.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    EditAs("kubectl-edit", ImagePatch("watched", "nginx:1.25"));
    ASSERT_TRUE(Eventually([&] { return Metric("plumbline_drifted_resources", "reporter") == 0; }));
  }
  std::printf("\n");
  Summary("correct: live edit -> reverted (seen via GET polls)", reverted);
  Summary("report: live edit -> plumbline_drifted_resources=1", in_metrics);
  Summary("report: live edit -> status.drift.count=1", in_status);
}

}  // namespace
}  // namespace plumbline

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  plumbline::testing::AddControlPlaneEnvironment();
  plumbline::testing::AddGitOpsEnvironment(std::chrono::hours(1));
  return RUN_ALL_TESTS();
}
