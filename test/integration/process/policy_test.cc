// The policy gate end to end: the real `plumbline run` binary with --policy-url, a real OPA
// server (pinned, hack/build-opa.sh) loaded with the shipped policies (deploy/policies), and
// `plumbline diff --local` as a pull request job runs it.
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "integration/process/process_fixture.h"
#include "support/cli_runner.h"
#include "support/metrics_text.h"
#include "support/opa.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::Ran;

class PolicyTest : public testing::ProcessTest {
 protected:
  void SetUp() override {
    ProcessTest::SetUp();
    opa_ = std::make_unique<testing::OpaServer>(testing::ShippedPoliciesDir(), dir_ + "/opa.log");
  }
  void TearDown() override {
    opa_.reset();
    ProcessTest::TearDown();
  }
  // app/: a Deployment running `image` (with limits) and the settings ConfigMap at `v`, written
  // to the checkout (not committed: the controller does not see it yet).
  void WriteWorkload(testing::GitRepo& repo, const std::string& image, const std::string& v) {
    repo.Write("app/deploy.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: )" + image + R"(
        resources: {limits: {cpu: 100m, memory: 64Mi}}
)");
    WriteConfig(repo, v);
  }
  // The same, committed; returns the commit.
  std::string CommitWorkload(testing::GitRepo& repo, const std::string& image,
                             const std::string& v) {
    WriteWorkload(repo, image, v);
    return repo.Commit("v" + v);
  }
  Json Deployment() {
    auto deployments = client_->Resource({"apps", "v1", "Deployment"});
    if (!deployments.ok()) return nullptr;
    auto got = client_->Get(*deployments, namespace_, "web");
    return got.ok() ? *got : Json(nullptr);
  }
  double Evaluations(const std::string& replica, const std::string& result) {
    const std::string text = testing::MustRun(
        {"curl", "-s", "--max-time", "5",
         "http://127.0.0.1:" + std::to_string(metrics_port_[replica]) + "/metrics"});
    return testing::MetricSum(text, "plumbline_policy_evaluations_total",
                              {{"namespace", namespace_}, {"name", "web"}, {"result", result}})
        .value_or(-1);
  }
  Ran Diff(const std::string& checkout, const std::string& policy_url) {
    return testing::RunCli({"diff", "web", "--local", checkout, "--policy-url", policy_url,
                            "--kubeconfig", testing::ControlPlane::Get()->kubeconfig(), "-n",
                            namespace_, "--cache-dir", dir_ + "/cli-cache"});
  }

  std::unique_ptr<testing::OpaServer> opa_;
};

TEST_F(PolicyTest, ALatestImageIsDeniedWithNothingAppliedAndTheFixIsApplied) {
  ASSERT_TRUE(opa_->Start()) << testing::ReadFile(dir_ + "/opa.log");
  testing::GitRepo repo(dir_ + "/repos/policy");
  const std::string bad = CommitWorkload(repo, "nginx:latest", "1");
  StartReplica("a", {"--policy-url", opa_->RuleUrl()});
  ApplyApp(daemon_->Url("policy"), "1s");

  // The whole revision is blocked: not the Deployment, and not the ConfigMap beside it either.
  const std::string message =
      "Deployment/" + namespace_ + "/web: container \"web\" uses image \"nginx:latest\"";
  ASSERT_TRUE(
      Eventually([&] { return Ready().rfind("PolicyDenied: ", 0) == 0; }, std::chrono::seconds(60)))
      << Ready() << "\n"
      << replicas_["a"]->Log();
  EXPECT_NE(Ready().find(message), std::string::npos) << Ready();
  EXPECT_NE(Ready().find(bad.substr(0, 12)), std::string::npos) << Ready();
  EXPECT_EQ(LiveValue(), "");
  EXPECT_TRUE(Deployment().is_null());
  EXPECT_TRUE(Eventually([&] { return !Warnings("PolicyDenied").empty(); }));
  EXPECT_GE(Evaluations("a", "denied"), 1);
  EXPECT_EQ(Evaluations("a", "allowed"), 0);

  // The pull request job: the same policy on the unmerged checkout blocks the merge (exit 3).
  Ran denied = Diff(repo.dir(), opa_->RuleUrl());
  EXPECT_EQ(denied.code, 3) << denied.out << denied.err;
  EXPECT_NE(denied.out.find("policy denied this change"), std::string::npos) << denied.out;
  EXPECT_NE(denied.out.find(message), std::string::npos) << denied.out;

  // A checkout whose dry run fails too (a kind the cluster does not serve) still gets its verdict.
  repo.Write("app/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n");
  Ran denied_and_broken = Diff(repo.dir(), opa_->RuleUrl());
  EXPECT_EQ(denied_and_broken.code, 3) << denied_and_broken.out << denied_and_broken.err;
  EXPECT_NE(denied_and_broken.err.find("Widget"), std::string::npos) << denied_and_broken.err;
  std::filesystem::remove(repo.dir() + "/app/widget.yaml");  // never committed

  // The fix, checked before merge (not committed yet, so the controller cannot have applied it
  // already), then merged: applied.
  WriteWorkload(repo, "nginx:1.27.3", "2");
  Ran allowed = Diff(repo.dir(), opa_->RuleUrl());
  const std::string fixed = repo.Commit("v2");
  EXPECT_EQ(allowed.code, 1) << allowed.out << allowed.err;  // changes, and allowed
  EXPECT_NE(allowed.out.find("Policy: allowed."), std::string::npos) << allowed.out;
  ASSERT_TRUE(Eventually([&] { return AppliedAt(fixed); }, std::chrono::seconds(60))) << Ready();
  EXPECT_EQ(LiveValue(), "2");
  EXPECT_FALSE(Deployment().is_null());
  EXPECT_GE(Evaluations("a", "allowed"), 1);

  // An Application that names a rule the server does not define is not let through.
  Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
              {"kind", "Application"},
              {"metadata", {{"name", "web"}, {"namespace", namespace_}}},
              {"spec",
               {{"source", {{"repoURL", daemon_->Url("policy")}, {"path", "app"}}},
                {"destination", {{"namespace", namespace_}}},
                {"interval", "1s"},
                {"policy", {{"rules", {"plumbline/production/deny"}}}}}}};
  ASSERT_TRUE(client_->Apply(app).ok());
  CommitWorkload(repo, "nginx:1.27.3", "3");
  ASSERT_TRUE(Eventually([&] { return Ready().rfind("PolicyCheckFailed: ", 0) == 0; },
                         std::chrono::seconds(60)))
      << Ready();
  EXPECT_NE(Ready().find("plumbline/production/deny is not defined"), std::string::npos) << Ready();
  EXPECT_EQ(LiveValue(), "2");
}

TEST_F(PolicyTest, APolicyServerThatCannotAnswerFailsClosedUnlessToldToFailOpen) {
  // The server's port is reserved, and nothing listens there yet.
  testing::GitRepo repo(dir_ + "/repos/down");
  const std::string first = CommitWorkload(repo, "nginx:1.27.3", "1");
  const std::string url =
      "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/v1/data/plumbline/deny";
  StartReplica("a", {"--policy-url", url});
  ApplyApp(daemon_->Url("down"), "1s");
  ASSERT_TRUE(Eventually([&] { return Ready().rfind("PolicyCheckFailed: ", 0) == 0; },
                         std::chrono::seconds(60)))
      << Ready() << "\n"
      << replicas_["a"]->Log();
  EXPECT_NE(Ready().find("failing closed"), std::string::npos) << Ready();
  EXPECT_EQ(LiveValue(), "");
  EXPECT_GE(Evaluations("a", "error"), 1);

  // --policy-fail-open: the same server still down, the revision goes through with a warning.
  replicas_["a"]->Signal(SIGKILL);
  replicas_["a"]->Wait(std::chrono::seconds(30));
  (void)client_->Delete(leases_, namespace_, "plumbline-leader");
  StartReplica("b", {"--policy-url", url, "--policy-fail-open"});
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); }, std::chrono::seconds(90)))
      << Ready() << "\n"
      << replicas_["b"]->Log();
  EXPECT_EQ(LiveValue(), "1");
  EXPECT_TRUE(Eventually(
      [&] { return WarnedWith("PolicyCheckFailed", "applying anyway (--policy-fail-open)"); }));
}

}  // namespace
}  // namespace plumbline
