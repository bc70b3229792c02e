// The shipped alert rules, end to end (PRODUCT §6): a real Prometheus scrapes the controller with
// deploy/alerts/plumbline-rules.yaml loaded; a live edit in drift: report mode makes
// PlumblineDriftDetected fire, and undoing it resolves the alert.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "drift_fixture.h"

namespace plumbline {
namespace {

using testing::BackgroundProcess;
using testing::DriftTest;
using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitRepo;

class AlertsTest : public DriftTest {
 protected:
  void SetUp() override {
    DriftTest::SetUp();
    char tmpl[] = "/tmp/plumbline-prometheus-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    port_ = testing::FreePort();
    // Short intervals so the test waits on the rule's own `for`, not on scrapes.
    testing::WriteFile(dir_ + "/prometheus.yml",
                       "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                       "rule_files: ['" +
                           std::string(PLUMBLINE_SOURCE_DIR) +
                           "/deploy/alerts/plumbline-rules.yaml']\n"
                           "scrape_configs:\n"
                           "- job_name: plumbline\n"
                           "  static_configs: [{targets: ['127.0.0.1:" +
                           std::to_string(GitOpsEnvironment::Get()->metrics().port()) + "']}]\n");
    auto started = prometheus_.Start(
        {"prometheus", "--config.file=" + dir_ + "/prometheus.yml",
         "--storage.tsdb.path=" + dir_ + "/data",
         "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        dir_ + "/prometheus.log");
    ASSERT_TRUE(started.ok()) << started.error().message();
    ASSERT_TRUE(Eventually([&] { return testing::PortOpen(port_); }))
        << testing::ReadFile(dir_ + "/prometheus.log");
  }
  void TearDown() override {
    prometheus_.Stop();
    std::filesystem::remove_all(dir_);
    DriftTest::TearDown();
  }

  Json Api(const std::string& path) {
    std::string body =
        testing::MustRun({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port_) + path});
    return Json::parse(body, nullptr, false);
  }

  // This test's Application's alert named `name`: its state ("pending", "firing"), "" if none.
  std::string AlertState(const std::string& name) {
    Json alerts = Api("/api/v1/alerts");
    if (alerts.is_discarded()) return "";
    for (const auto& a : alerts["data"]["alerts"]) {
      const Json& l = a["labels"];
      if (l.value("alertname", "") == name && l.value("namespace", "") == namespace_ &&
          l.value("name", "") == "web") {
        return a.value("state", "");
      }
    }
    return "";
  }

  std::string dir_;
  int port_ = 0;
  BackgroundProcess prometheus_;
};

TEST_F(AlertsTest, DriftFiresPlumblineDriftDetectedAndUndoingItResolvesIt) {
  std::string url;
  GitRepo repo = NewRepo("alerts", &url);
  repo.Write("app/deploy.yaml", testing::kDriftDeployment);
  std::string sha = repo.Commit("web");
  ApplyApp("web", Spec(url, "report"));
  ASSERT_TRUE(WaitApp(
      "web", [&](const Json& a) { return StatusOf(a).value("lastAppliedRevision", "") == sha; }));
  // Prometheus scrapes the controller and has loaded the shipped rules.
  ASSERT_TRUE(Eventually([&] {
    Json targets = Api("/api/v1/targets");
    return !targets.is_discarded() && !targets["data"]["activeTargets"].empty() &&
           targets["data"]["activeTargets"][0].value("health", "") == "up";
  })) << testing::ReadFile(dir_ + "/prometheus.log");
  Json rules = Api("/api/v1/rules");
  ASSERT_FALSE(rules.is_discarded());
  EXPECT_EQ(rules["data"]["groups"][0]["rules"].size(), 6u);
  EXPECT_EQ(AlertState("PlumblineDriftDetected"), "");

  SetImage("nginx:evil");
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "True"; }));
  // The rule waits 1m before firing; allow for scrapes and evaluations on a busy machine.
  ASSERT_TRUE(Eventually([&] { return AlertState("PlumblineDriftDetected") == "firing"; },
                         std::chrono::seconds(150)))
      << "state: " << AlertState("PlumblineDriftDetected");

  SetImage("nginx:1.25");  // undo the edit: git and the cluster agree again
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "False"; }));
  EXPECT_TRUE(Eventually([&] { return AlertState("PlumblineDriftDetected").empty(); },
                         std::chrono::seconds(60)))
      << "state: " << AlertState("PlumblineDriftDetected");
}

}  // namespace
}  // namespace plumbline
