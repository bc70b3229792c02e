// Slack commands end to end: the real `plumbline run` binary serving /hooks/slack/command, a
// ConfigMap of rules, requests signed as Slack signs them, a real HTTP receiver standing in for
// Slack's response_url, and `rollback` pushing a revert to the git daemon that the cluster then
// rolls back to.
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "http/http_client.h"
#include "integration/process/process_fixture.h"
#include "support/http_recorder.h"
#include "webhook/signature.h"

namespace plumbline {
namespace {

using testing::Eventually;

constexpr char kSigningSecret[] = "slack-signing-secret";

std::string FormEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

class ChatOpsTest : public testing::ProcessTest {
 protected:
  void SetUp() override {
    ProcessTest::SetUp();
    ASSERT_TRUE(slack_.Start());
  }

  void StartChatOps() {
    port_ = testing::FreePort();
    testing::WriteFile(dir_ + "/slack-secret", std::string(kSigningSecret) + "\n");
    StartReplica(
        "a", {"--webhook-addr", "127.0.0.1:" + std::to_string(port_), "--slack-signing-secret-file",
              dir_ + "/slack-secret", "--chatops-default-namespace", namespace_,
              "--slack-response-url-prefix", slack_.Url("/r/")});
    ASSERT_TRUE(Eventually([&] { return testing::PortOpen(port_); })) << replicas_["a"]->Log();
    auto client = http::NewClient(
        {"http://127.0.0.1:" + std::to_string(port_), {}, std::chrono::seconds(60)});
    ASSERT_TRUE(client.ok());
    http_ = std::move(*client);
  }

  // U1 may do anything in C1 to this namespace's Applications; U2 may only read status.
  void ApplyRules() {
    const std::string rules =
        "rules:\n"
        "- users: [U1]\n"
        "  channels: [C1]\n"
        "  applications: [\"" +
        namespace_ +
        "/*\"]\n"
        "  verbs: [\"*\"]\n"
        "- users: [U2]\n"
        "  channels: [\"*\"]\n"
        "  applications: [\"" +
        namespace_ +
        "/web\"]\n"
        "  verbs: [status]\n";
    Json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", "plumbline-chatops"}, {"namespace", namespace_}}},
               {"data", {{"rules.yaml", rules}}}};
    ASSERT_TRUE(client_->Apply(cm).ok());
  }

  std::string Body(const std::string& user, const std::string& channel, const std::string& text,
                   const std::string& response_path) {
    return "token=legacy&team_id=T1&team_domain=example&channel_id=" + channel +
           "&channel_name=deploys&user_id=" + user + "&user_name=" + FormEscape("name-" + user) +
           "&command=%2Fplumbline&text=" + FormEscape(text) +
           "&response_url=" + FormEscape(slack_.Url(response_path)) + "&trigger_id=1.2.3";
  }

  http::Response Command(const std::string& body, std::string timestamp = "",
                         const std::string& secret = kSigningSecret) {
    if (timestamp.empty()) {
      timestamp = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
    }
    http::Request r;
    r.method = "POST";
    r.path = "/hooks/slack/command";
    r.headers = {{"X-Slack-Request-Timestamp", timestamp},
                 {"X-Slack-Signature",
                  "v0=" + webhook::HmacSha256Hex(secret, "v0:" + timestamp + ":" + body)}};
    r.body = body;
    r.content_type = "application/x-www-form-urlencoded";
    auto resp = http_->Send(r);
    EXPECT_TRUE(resp.ok()) << (resp.ok() ? "" : resp.error().message());
    return resp.ok() ? *resp : http::Response{};
  }

  // The text of every message posted to `path` (the command's response_url), in order.
  std::vector<std::string> Posted(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& r : slack_.Requests(path)) {
      Json j = Json::parse(r.body, nullptr, false);
      EXPECT_EQ(j.value("response_type", ""), "in_channel") << r.body;
      out.push_back(j.value("text", ""));
    }
    return out;
  }
  bool PostedWith(const std::string& path, const std::string& part) {
    for (const auto& t : Posted(path)) {
      if (t.find(part) != std::string::npos) return true;
    }
    return false;
  }
  Json App() {
    auto app = client_->Get(apps_, namespace_, "web");
    return app.ok() ? *app : Json::object();
  }

  int port_ = 0;
  std::unique_ptr<http::Client> http_;
  testing::HttpRecorder slack_;
};

TEST_F(ChatOpsTest, ForgedStaleAndUnauthorizedCommandsChangeNothing) {
  ApplyRules();
  testing::GitRepo repo(dir_ + "/repos/chat-deny");
  const std::string v1 = CommitConfig(repo, "1");
  StartChatOps();
  ApplyApp(daemon_->Url("chat-deny"), "1h");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v1); }, std::chrono::seconds(60))) << Ready();

  const std::string sync = Body("U1", "C1", "suspend web", "/r/forged");
  EXPECT_EQ(Command(sync, "", "not-the-secret").status, 401);
  // Signed, but older than five minutes: a replay.
  const std::string old = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count() -
                                         600);
  EXPECT_EQ(Command(sync, old).status, 401);
  // Signed and fresh, but U2 may only read status, and U1 only in C1.
  http::Response denied = Command(Body("U2", "C1", "suspend web", "/r/denied"));
  EXPECT_EQ(denied.status, 200);
  EXPECT_NE(denied.body.find("not allowed"), std::string::npos) << denied.body;
  http::Response elsewhere = Command(Body("U1", "C9", "suspend web", "/r/elsewhere"));
  EXPECT_EQ(elsewhere.status, 200);
  EXPECT_NE(elsewhere.body.find("not allowed"), std::string::npos) << elsewhere.body;
  // U2's status is allowed.
  EXPECT_EQ(Command(Body("U2", "C7", "status web", "/r/status")).status, 200);
  ASSERT_TRUE(Eventually([&] { return PostedWith("/r/status", v1.substr(0, 12)); }))
      << replicas_["a"]->Log();

  // A response_url outside --slack-response-url-prefix is never posted to.
  EXPECT_EQ(Command(Body("U2", "C7", "status web", "/elsewhere/status")).status, 200);
  ASSERT_TRUE(Eventually([&] {
    return replicas_["a"]->Log().find("response_url is not under") != std::string::npos;
  })) << replicas_["a"]->Log();
  EXPECT_TRUE(slack_.Requests("/elsewhere").empty());

  EXPECT_FALSE(App()["spec"].value("suspend", false));
  EXPECT_TRUE(slack_.Requests("/r/forged").empty());
  const std::string log = replicas_["a"]->Log();
  EXPECT_NE(log.find("U2"), std::string::npos);  // the refusal is in the audit trail
  EXPECT_EQ(log.find(kSigningSecret), std::string::npos);
}

TEST_F(ChatOpsTest, RollbackPushesARevertAndTheClusterRollsBack) {
  ApplyRules();
  testing::GitRepo repo(dir_ + "/repos/chat");
  testing::MustRun({"git", "config", "receive.denyCurrentBranch", "updateInstead"}, repo.dir());
  const std::string good = CommitConfig(repo, "1");
  StartChatOps();
  ApplyApp(daemon_->Url("chat"), "1h");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(good); }, std::chrono::seconds(60))) << Ready();
  const std::string bad = CommitConfig(repo, "2");
  // sync: the Application polls hourly, the command makes it look now.
  const auto asked = std::chrono::steady_clock::now();
  http::Response ack = Command(Body("U1", "C1", "sync web", "/r/sync"));
  EXPECT_EQ(ack.status, 200);
  EXPECT_NE(ack.body.find("in_channel"), std::string::npos) << ack.body;
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(3));
  ASSERT_TRUE(Eventually([&] { return AppliedAt(bad); }, std::chrono::seconds(60))) << Ready();
  EXPECT_TRUE(Eventually([&] { return PostedWith("/r/sync", "reconcile requested"); }));

  // history lists both revisions.
  EXPECT_EQ(Command(Body("U1", "C1", "history web", "/r/history")).status, 200);
  ASSERT_TRUE(Eventually([&] { return !Posted("/r/history").empty(); }));
  EXPECT_NE(Posted("/r/history").back().find(bad.substr(0, 12)), std::string::npos);
  EXPECT_NE(Posted("/r/history").back().find(good.substr(0, 12)), std::string::npos);

  // rollback: a revert commit authored as the Slack user, pushed, then applied.
  EXPECT_EQ(Command(Body("U1", "C1", "rollback web", "/r/rollback")).status, 200);
  ASSERT_TRUE(
      Eventually([&] { return PostedWith("/r/rollback", "Pushed"); }, std::chrono::seconds(60)))
      << (Posted("/r/rollback").empty() ? "" : Posted("/r/rollback").back()) << "\n"
      << replicas_["a"]->Log();
  const std::string reverted = repo.Head();
  EXPECT_NE(reverted, bad);
  const std::string message =
      testing::MustRun({"git", "log", "-1", "--format=%an%n%B"}, repo.dir());
  EXPECT_NE(message.find("name-U1"), std::string::npos) << message;
  EXPECT_NE(message.find("Revert \"v2\""), std::string::npos) << message;
  ASSERT_TRUE(Eventually([&] { return AppliedAt(reverted); }, std::chrono::seconds(60))) << Ready();
  EXPECT_EQ(LiveValue(), "1");

  // suspend and resume; a sync in between leaves the Application suspended.
  EXPECT_EQ(Command(Body("U1", "C1", "suspend web", "/r/suspend")).status, 200);
  ASSERT_TRUE(Eventually([&] { return App()["spec"].value("suspend", false); }));
  EXPECT_EQ(Command(Body("U1", "C1", "sync web", "/r/sync-suspended")).status, 200);
  ASSERT_TRUE(Eventually([&] { return PostedWith("/r/sync-suspended", "reconcile requested"); }));
  EXPECT_TRUE(App()["spec"].value("suspend", false)) << "a sync resumed the Application";
  EXPECT_EQ(Command(Body("U1", "C1", "resume web", "/r/resume")).status, 200);
  ASSERT_TRUE(Eventually([&] { return !App()["spec"].value("suspend", true); }));
  EXPECT_TRUE(Eventually([&] { return PostedWith("/r/resume", "resumed"); }));
}

}  // namespace
}  // namespace plumbline
