// Notifications end to end: the real `plumbline run` binary, Notifiers for Slack, a generic
// webhook and GitHub commit statuses, and a real HTTP receiver in the test that records what
// arrives. Deployments, failures, recoveries, drift and reverts are told; a receiver that fails
// is retried, one that hangs holds up nothing; the Secret's URL and token are never logged.
#include <memory>

#include <gtest/gtest.h>

#include "common/base64.h"
#include "integration/process/process_fixture.h"
#include "support/http_recorder.h"
#include "support/metrics_text.h"
#include "webhook/signature.h"

namespace plumbline {
namespace {

using testing::Eventually;

constexpr char kHmacKey[] = "generic-hmac-key";
constexpr char kGithubToken[] = "ghp_notifytesttoken";
// Slack's webhook URL is itself the credential: its path must not be logged.
constexpr char kSlackPath[] = "/services/T000/B000/slacksecretpath";

class NotifyTest : public testing::ProcessTest {
 protected:
  void SetUp() override {
    ProcessTest::SetUp();
    ASSERT_TRUE(receiver_.Start());
  }

  void ApplySecret(const std::string& name, const std::map<std::string, std::string>& data) {
    Json d = Json::object();
    for (const auto& [k, v] : data) d[k] = Base64Encode(v);
    Json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", {{"name", name}, {"namespace", namespace_}}},
                   {"data", d}};
    ASSERT_TRUE(client_->Apply(secret).ok());
  }
  void ApplyNotifier(const std::string& name, const Json& spec) {
    Json notifier = {{"apiVersion", "plumbline.dev/v1alpha1"},
                     {"kind", "Notifier"},
                     {"metadata", {{"name", name}, {"namespace", namespace_}}},
                     {"spec", spec}};
    auto applied = client_->Apply(notifier);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }
  // The three providers, each with its own Secret.
  void ApplyNotifiers() {
    ApplySecret("slack", {{"address", receiver_.Url(kSlackPath)}});
    ApplySecret("generic", {{"address", receiver_.Url("/generic")}, {"token", kHmacKey}});
    ApplySecret("github", {{"address", receiver_.Url("/github")}, {"token", kGithubToken}});
    ApplyNotifier("slack", {{"provider", "slack"}, {"secretRef", {{"name", "slack"}}}});
    ApplyNotifier("generic", {{"provider", "generic"}, {"secretRef", {{"name", "generic"}}}});
    ApplyNotifier(
        "github",
        {{"provider", "github"}, {"secretRef", {{"name", "github"}}}, {"repository", "o/r"}});
  }

  // The generic webhook's events so far, as JSON, each checked against its HMAC signature.
  std::vector<Json> GenericEvents() {
    std::vector<Json> out;
    for (const auto& r : receiver_.Requests("/generic")) {
      auto sig = r.headers.find("x-plumbline-signature");
      EXPECT_NE(sig, r.headers.end());
      if (sig != r.headers.end()) {
        EXPECT_EQ(sig->second, "sha256=" + webhook::HmacSha256Hex(kHmacKey, r.body)) << r.body;
      }
      out.push_back(Json::parse(r.body, nullptr, false));
    }
    return out;
  }
  std::optional<Json> GenericEvent(const std::string& type, const std::string& revision) {
    for (const Json& e : GenericEvents()) {
      if (e.value("event", "") == type && e.value("revision", "") == revision) return e;
    }
    return std::nullopt;
  }
  // "state" of each commit status POSTed for `sha`, in order.
  std::vector<std::string> GithubStates(const std::string& sha) {
    std::vector<std::string> out;
    for (const auto& r : receiver_.Requests("/github/repos/o/r/statuses/" + sha)) {
      EXPECT_EQ(r.headers.count("authorization") ? r.headers.at("authorization") : "",
                std::string("Bearer ") + kGithubToken);
      out.push_back(Json::parse(r.body, nullptr, false).value("state", ""));
    }
    return out;
  }
  std::vector<std::string> SlackTexts() {
    std::vector<std::string> out;
    for (const auto& r : receiver_.Requests(kSlackPath)) out.push_back(r.body);
    return out;
  }
  double Notifications(const std::string& provider, const std::string& result) {
    const std::string text =
        testing::MustRun({"curl", "-s", "--max-time", "5",
                          "http://127.0.0.1:" + std::to_string(metrics_port_["a"]) + "/metrics"});
    return testing::MetricSum(text, "plumbline_notifications_total",
                              {{"provider", provider}, {"result", result}})
        .value_or(0);
  }

  testing::HttpRecorder receiver_;
};

TEST_F(NotifyTest, DeployFailRecoverDriftAndRevertAreToldToSlackAWebhookAndGithub) {
  ApplyNotifiers();
  testing::GitRepo repo(dir_ + "/repos/notify");
  const std::string v1 = CommitConfig(repo, "1");
  StartReplica("a");
  ApplyApp(daemon_->Url("notify"), "1s");

  // Deployed: each provider hears of it; GitHub's commit goes pending, then success.
  ASSERT_TRUE(Eventually([&] { return GenericEvent("deployed", v1).has_value(); },
                         std::chrono::seconds(60)))
      << replicas_["a"]->Log();
  Json deployed = *GenericEvent("deployed", v1);
  EXPECT_EQ(deployed["application"].value("namespace", ""), namespace_);
  EXPECT_EQ(deployed["application"].value("name", ""), "web");
  EXPECT_EQ(deployed.value("subject", ""), "v1");
  EXPECT_NE(deployed.value("author", "").find("Dev Eloper"), std::string::npos) << deployed.dump();
  EXPECT_EQ(deployed["counts"].value("created", -1), 1) << deployed.dump();
  EXPECT_EQ(deployed.value("traceID", "").size(), 32u) << deployed.dump();
  ASSERT_TRUE(Eventually([&] { return GithubStates(v1).size() >= 2; })) << replicas_["a"]->Log();
  EXPECT_EQ(GithubStates(v1), (std::vector<std::string>{"pending", "success"}));
  ASSERT_TRUE(Eventually([&] { return !SlackTexts().empty(); }));
  const std::string slack = SlackTexts().front();
  const Json slack_json = Json::parse(slack, nullptr, false);
  ASSERT_TRUE(slack_json.is_object()) << slack;
  EXPECT_TRUE(slack_json.contains("blocks")) << slack;
  for (const std::string& part : {namespace_ + "/web", v1.substr(0, 12), std::string("v1")}) {
    EXPECT_NE(slack.find(part), std::string::npos) << part << " not in " << slack;
  }

  // A commit that does not render: failed, with the phase and reason; the commit fails on GitHub.
  repo.Write("app/broken.yaml", "kind: [unclosed\n");
  const std::string v2 = repo.Commit("broken");
  ASSERT_TRUE(
      Eventually([&] { return GenericEvent("failed", v2).has_value(); }, std::chrono::seconds(60)))
      << Ready();
  Json failed = *GenericEvent("failed", v2);
  EXPECT_EQ(failed.value("phase", ""), "Render") << failed.dump();
  EXPECT_EQ(failed.value("reason", ""), "RenderFailed") << failed.dump();
  EXPECT_NE(failed.value("message", "").find("broken.yaml"), std::string::npos) << failed.dump();
  ASSERT_TRUE(Eventually([&] { return !GithubStates(v2).empty(); }));
  EXPECT_EQ(GithubStates(v2).back(), "failure");
  // The next commit fails with the very same error: its commit is marked failed too.
  const std::string v2b = CommitConfig(repo, "2b");
  ASSERT_TRUE(Eventually([&] { return !GithubStates(v2b).empty(); }, std::chrono::seconds(60)))
      << replicas_["a"]->Log();
  EXPECT_EQ(GithubStates(v2b).back(), "failure");
  EXPECT_TRUE(GenericEvent("failed", v2b).has_value());

  // The fix: deployed, and the Application recovered.
  repo.Remove("app/broken.yaml");
  const std::string v3 = CommitConfig(repo, "3");
  ASSERT_TRUE(Eventually([&] { return GenericEvent("recovered", v3).has_value(); },
                         std::chrono::seconds(60)))
      << Ready();
  EXPECT_TRUE(GenericEvent("deployed", v3).has_value());
  ASSERT_TRUE(Eventually([&] { return GithubStates(v3).size() >= 2; }));
  EXPECT_EQ(GithubStates(v3).front(), "pending");
  EXPECT_EQ(GithubStates(v3).back(), "success");

  // Someone edits the live object: drift, corrected from git (spec.drift defaults to correct).
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", "settings"}, {"namespace", namespace_}}},
             {"data", {{"v", "hand-edited"}}}};
  kube::ApplyOptions by_hand;
  by_hand.field_manager = "kubectl-edit";
  ASSERT_TRUE(client_->Apply(cm, by_hand).ok());
  ASSERT_TRUE(Eventually([&] { return GenericEvent("drift-corrected", v3).has_value(); },
                         std::chrono::seconds(60)))
      << replicas_["a"]->Log();
  EXPECT_NE(GenericEvent("drift-corrected", v3)->value("message", "").find("settings"),
            std::string::npos);

  // A revert is told as one.
  const std::string v4 = CommitConfig(repo, "4");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v4); }, std::chrono::seconds(60))) << Ready();
  const std::string v5 = repo.Revert(v4);
  ASSERT_TRUE(Eventually([&] { return GenericEvent("reverted", v5).has_value(); },
                         std::chrono::seconds(60)))
      << Ready();
  EXPECT_FALSE(GenericEvent("deployed", v5).has_value());
  EXPECT_EQ(LiveValue(), "3");
  ASSERT_TRUE(Eventually([&] { return GithubStates(v5).size() >= 2; }));
  EXPECT_EQ(GithubStates(v5).back(), "success");

  // Credentials stay out of the log.
  const std::string log = replicas_["a"]->Log();
  EXPECT_EQ(log.find(kSlackPath), std::string::npos);
  EXPECT_EQ(log.find(kGithubToken), std::string::npos);
  EXPECT_EQ(log.find(kHmacKey), std::string::npos);
  EXPECT_GE(Notifications("generic", "sent"), 5);
  EXPECT_EQ(Notifications("generic", "failed"), 0);
}

TEST_F(NotifyTest, AFailingReceiverIsRetriedAndAHangingOneHoldsUpNothing) {
  ApplyNotifiers();
  testing::GitRepo repo(dir_ + "/repos/retry");
  const std::string v1 = CommitConfig(repo, "1");
  // The webhook answers 500 twice, then takes the event: it arrives, after two retries.
  receiver_.Fail("/generic", 2, 500);
  StartReplica("a");
  ApplyApp(daemon_->Url("retry"), "1s");
  ASSERT_TRUE(Eventually([&] { return receiver_.Requests("/generic").size() >= 3; },
                         std::chrono::seconds(60)))
      << replicas_["a"]->Log();
  const auto attempts = receiver_.Requests("/generic");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(Json::parse(attempts[0].body, nullptr, false).value("event", ""), "deployed");
  EXPECT_EQ(attempts[2].body, attempts[0].body);  // the same delivery, again
  EXPECT_TRUE(Eventually([&] { return Notifications("generic", "retried") == 2; }));
  EXPECT_TRUE(Eventually([&] { return Notifications("generic", "sent") == 1; }));

  // Slack hangs: the next commits are still applied at once, and the others still told.
  receiver_.Hang(kSlackPath);
  const std::string v2 = CommitConfig(repo, "2");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v2); }, std::chrono::seconds(60))) << Ready();
  ASSERT_TRUE(Eventually([&] { return receiver_.Held() >= 1; })) << replicas_["a"]->Log();
  const std::string v3 = CommitConfig(repo, "3");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v3); }, std::chrono::seconds(60))) << Ready();
  EXPECT_TRUE(Eventually([&] { return GenericEvent("deployed", v3).has_value(); }));
  EXPECT_TRUE(Eventually([&] { return GithubStates(v3).size() >= 2; }));
  receiver_.Release();
  // Once it answers again, Slack gets what was queued for it, in order.
  ASSERT_TRUE(Eventually([&] { return SlackTexts().size() >= 3; }, std::chrono::seconds(60)));
  const auto texts = SlackTexts();
  EXPECT_NE(texts[1].find(v2.substr(0, 12)), std::string::npos) << texts[1];
  EXPECT_NE(texts[2].find(v3.substr(0, 12)), std::string::npos) << texts[2];
}

TEST_F(NotifyTest, ANotifierHearsOnlyTheApplicationsAndEventsItSelects) {
  ApplySecret("generic", {{"address", receiver_.Url("/generic")}, {"token", kHmacKey}});
  // Only failures, and only of an Application named "other": this one is never told.
  ApplyNotifier("others", {{"provider", "generic"},
                           {"secretRef", {{"name", "generic"}}},
                           {"applications", {{"names", {"other"}}}}});
  ApplySecret("failures", {{"address", receiver_.Url("/failures")}});
  ApplyNotifier(
      "failures",
      {{"provider", "generic"}, {"secretRef", {{"name", "failures"}}}, {"events", {"failed"}}});
  testing::GitRepo repo(dir_ + "/repos/select");
  const std::string v1 = CommitConfig(repo, "1");
  StartReplica("a");
  ApplyApp(daemon_->Url("select"), "1s");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v1); }, std::chrono::seconds(60))) << Ready();
  repo.Write("app/broken.yaml", "kind: [unclosed\n");
  const std::string v2 = repo.Commit("broken");
  ASSERT_TRUE(Eventually([&] { return !receiver_.Requests("/failures").empty(); },
                         std::chrono::seconds(60)))
      << replicas_["a"]->Log();
  const auto failures = receiver_.Requests("/failures");
  ASSERT_EQ(failures.size(), 1u);
  Json failed = Json::parse(failures[0].body, nullptr, false);
  EXPECT_EQ(failed.value("event", ""), "failed");
  EXPECT_EQ(failed.value("revision", ""), v2);
  EXPECT_TRUE(receiver_.Requests("/generic").empty());
}

}  // namespace
}  // namespace plumbline
