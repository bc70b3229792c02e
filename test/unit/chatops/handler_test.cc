#include "chatops/handler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "webhook/signature.h"

namespace plumbline::chatops {
namespace {

using namespace std::chrono_literals;

const char kSecret[] = "s3cret-signing";
const char kResponseUrl[] = "https://hooks.slack.com/commands/T1/42/abc";

// Holds actions until the test opens it. Bounded: an action run where it must not be (on the
// request's thread) fails its test instead of hanging it.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 10s, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Records every call; each may wait on `gate` so a test can hold it running.
class FakeActions final : public Actions {
 public:
  Result<std::string> Status(const std::string& ns, const std::string& name) override {
    return Call("status " + ns + "/" + name);
  }
  Result<std::string> History(const std::string& ns, const std::string& name) override {
    return Call("history " + ns + "/" + name);
  }
  Result<std::string> Sync(const std::string& ns, const std::string& name) override {
    return Call("sync " + ns + "/" + name);
  }
  Result<std::string> Rollback(const std::string& ns, const std::string& name,
                               const std::string& sha, const std::string& user_name,
                               const std::string& user_id) override {
    return Call("rollback " + ns + "/" + name + " " + sha + " by " + user_name + " " + user_id);
  }
  Result<std::string> Suspend(const std::string& ns, const std::string& name) override {
    return Call("suspend " + ns + "/" + name);
  }
  Result<std::string> Resume(const std::string& ns, const std::string& name) override {
    return Call("resume " + ns + "/" + name);
  }

  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls_;
  }

  void SetGate(Gate* g) {
    std::lock_guard<std::mutex> lock(mu);
    gate = g;
  }

  std::mutex mu;
  Gate* gate = nullptr;
  Result<std::string> result = std::string("done: in sync");

 private:
  Result<std::string> Call(const std::string& call) {
    Gate* wait = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      calls_.push_back(call);
      wait = gate;
    }
    if (wait != nullptr) wait->Wait();
    std::lock_guard<std::mutex> lock(mu);
    return result;
  }
  std::vector<std::string> calls_;
};

// Polls `done` for up to 10 s.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

struct Post {
  std::string url;
  Json message;
};

class HandlerTest : public ::testing::Test {
 protected:
  HandlerTest() : logger_(log_, log::Format::kText, log::Level::kInfo) {}

  std::unique_ptr<Handler> Make(HandlerOptions options = {}) {
    if (options.default_namespace.empty()) options.default_namespace = "apps";
    return std::make_unique<Handler>(
        [this]() -> Result<std::string> {
          if (!secret_available_) return Error(ErrorCode::kNotFound, "Secret slack not found");
          return secret_;
        },
        [this]() -> Result<Authorizer> {
          ++authorizer_reads_;
          return Authorizer::Parse(rules_);
        },
        actions_,
        [this](const std::string& url, const std::string& json) -> plumbline::Status {
          std::lock_guard<std::mutex> lock(mu_);
          posts_.push_back({url, Json::parse(json)});
          posted_.notify_all();
          return respond_status_;
        },
        logger_, options);
  }

  // A request as Slack signs it; each gets its own trigger_id, as Slack's do.
  http::ServerRequest Request(const std::string& text, const std::string& user = "U1",
                              std::chrono::seconds skew = 0s) {
    const std::string body =
        "token=x&team_id=T1&channel_id=C1&channel_name=deploys&user_id=" + user +
        "&user_name=alice&command=%2Fplumbline&text=" + text +
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F42%"
        "2Fabc&trigger_id=" +
        std::to_string(++triggers_);
    const auto now = std::chrono::system_clock::now() + skew;
    const std::string ts = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    return {
        "POST",
        "/hooks/slack/command",
        {{"x-slack-request-timestamp", ts},
         {"x-slack-signature", "v0=" + webhook::HmacSha256Hex(secret_, "v0:" + ts + ":" + body)},
         {"content-type", "application/x-www-form-urlencoded"}},
        body,
        "10.0.0.1"};
  }

  // Waits (bounded) until `n` messages were posted; returns them.
  std::vector<Post> WaitForPosts(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    posted_.wait_for(lock, 10s, [&] { return posts_.size() >= n; });
    return posts_;
  }
  std::vector<Post> Posts() {
    std::lock_guard<std::mutex> lock(mu_);
    return posts_;
  }

  static Json Body(const http::ServerResponse& r) {
    EXPECT_EQ(r.content_type, "application/json");
    return Json::parse(r.body, nullptr, false);
  }

  std::string secret_ = kSecret;
  bool secret_available_ = true;
  std::string rules_ = R"(
rules:
- users: [U1]
  channels: [C1]
  applications: ["team-a/*", "apps/web"]
  verbs: ["*"]
)";
  std::atomic<int> authorizer_reads_{0};
  plumbline::Status respond_status_;
  FakeActions actions_;
  std::mutex mu_;
  std::condition_variable posted_;
  std::vector<Post> posts_;
  int triggers_ = 0;
  std::ostringstream log_;
  log::Logger logger_;
};

TEST_F(HandlerTest, ASourcePastItsBudgetOfFailedSignaturesGets429AndNoLogLine) {
  HandlerOptions options;
  options.failure_rate = 0.001;  // no refill within the test
  options.failure_burst = 3;
  auto h = Make(options);
  http::ServerRequest forged = Request("sync+team-a%2Fweb");
  forged.body += "x";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h->Handle(forged).status, 401) << i;
  EXPECT_EQ(h->Handle(forged).status, 429);
  http::ServerRequest elsewhere = forged;
  elsewhere.remote_address = "10.0.0.2";  // another source has its own budget
  EXPECT_EQ(h->Handle(elsewhere).status, 401);
  // A valid request from the spent source still goes through: the budget is for failures.
  EXPECT_EQ(h->Handle(Request("status+web")).status, 200);
  h->Stop();
  size_t refusals = 0;
  for (size_t at = 0; (at = log_.str().find("slack command refused", at)) != std::string::npos;
       ++at) {
    ++refusals;
  }
  EXPECT_EQ(refusals, 4u);
}

TEST_F(HandlerTest, RefusesOtherMethodsMissingSecretsAndBadSignatures) {
  auto h = Make();
  http::ServerRequest get = Request("sync+team-a%2Fweb");
  get.method = "GET";
  EXPECT_EQ(h->Handle(get).status, 405);

  http::ServerRequest forged = Request("sync+team-a%2Fweb");
  forged.body += "x";
  auto r = h->Handle(forged);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "invalid signature\n");  // the log has the detail, not the client

  http::ServerRequest unsigned_request = Request("sync+team-a%2Fweb");
  unsigned_request.headers.erase("x-slack-signature");
  EXPECT_EQ(h->Handle(unsigned_request).status, 401);

  r = h->Handle(Request("sync+team-a%2Fweb", "U1", -10min));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "stale request\n");
  EXPECT_EQ(h->Handle(Request("sync+team-a%2Fweb", "U1", 10min)).body, "stale request\n");

  http::ServerRequest signed_with_old = Request("sync+team-a%2Fweb");
  secret_ = "rotated";
  EXPECT_EQ(h->Handle(signed_with_old).status, 401);
  secret_available_ = false;
  EXPECT_EQ(h->Handle(Request("sync+team-a%2Fweb")).status, 503);
  secret_available_ = true;
  secret_ = "";  // an empty secret would let anyone sign
  EXPECT_EQ(h->Handle(Request("sync+team-a%2Fweb")).status, 503);

  h->Stop();
  EXPECT_TRUE(actions_.calls().empty());
  EXPECT_TRUE(Posts().empty());
  EXPECT_EQ(authorizer_reads_.load(), 0);
  EXPECT_NE(log_.str().find("signature does not match"), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("Secret slack not found"), std::string::npos);
  EXPECT_EQ(log_.str().find(kSecret), std::string::npos) << log_.str();
  EXPECT_EQ(log_.str().find("rotated"), std::string::npos);
}

TEST_F(HandlerTest, AnAllowedCommandIsAcknowledgedThenRunAndItsOutcomePosted) {
  auto h = Make();
  auto r = h->Handle(Request("sync+team-a%2Fweb"));
  ASSERT_EQ(r.status, 200);
  Json reply = Body(r);
  EXPECT_EQ(reply["response_type"], "in_channel");
  EXPECT_EQ(reply["text"], "<@U1> ran `sync team-a/web`…");

  std::vector<Post> posts = WaitForPosts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].url, kResponseUrl);
  EXPECT_EQ(posts[0].message["response_type"], "in_channel");
  EXPECT_EQ(posts[0].message["text"], "<@U1> `sync team-a/web`:\ndone: in sync");
  h->Stop();
  EXPECT_EQ(actions_.calls(), (std::vector<std::string>{"sync team-a/web"}));
  const std::string log = log_.str();
  EXPECT_NE(log.find("result=allowed"), std::string::npos) << log;
  EXPECT_NE(log.find("result=done"), std::string::npos) << log;
  EXPECT_NE(log.find("user=U1 user_name=alice channel=C1 verb=sync app=team-a/web"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(kResponseUrl), std::string::npos) << "the response_url lets anyone post";
}

TEST_F(HandlerTest, EveryVerbCallsItsActionAndRollbackNamesTheAuthor) {
  auto h = Make();
  const std::string sha = "0123456789abcdef0123456789abcdef01234567";
  for (const std::string& text : std::vector<std::string>{
           "status+web", "history+team-a%2Fweb", "suspend+team-a%2Fweb", "resume+team-a%2Fweb",
           "rollback+team-a%2Fweb", "rollback+team-a%2Fweb+" + sha}) {
    EXPECT_EQ(Body(h->Handle(Request(text)))["response_type"], "in_channel") << text;
  }
  WaitForPosts(6);
  h->Stop();
  std::vector<std::string> calls = actions_.calls();
  std::sort(calls.begin(), calls.end());
  EXPECT_EQ(calls, (std::vector<std::string>{"history team-a/web", "resume team-a/web",
                                             "rollback team-a/web  by alice U1",
                                             "rollback team-a/web " + sha + " by alice U1",
                                             "status apps/web", "suspend team-a/web"}));
}

TEST_F(HandlerTest, AFailedActionIsPostedAndLogged) {
  actions_.result = Error(ErrorCode::kNotFound, "Application team-a/web not found <!channel>");
  auto h = Make();
  EXPECT_EQ(h->Handle(Request("sync+team-a%2Fweb")).status, 200);
  std::vector<Post> posts = WaitForPosts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].message["response_type"], "in_channel");
  // Escaped: output cannot ping the channel.
  EXPECT_EQ(posts[0].message["text"],
            "<@U1> `sync team-a/web` failed: Application team-a/web not found &lt;!channel&gt;");
  h->Stop();
  EXPECT_NE(log_.str().find("result=failed"), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("not found"), std::string::npos);
}

TEST_F(HandlerTest, ActionOutputIsEscapedAndBounded) {
  actions_.result = std::string("a & b <https://evil.example|click> ") + std::string(10000, 'x');
  auto h = Make();
  EXPECT_EQ(h->Handle(Request("status+team-a%2Fweb")).status, 200);
  std::vector<Post> posts = WaitForPosts(1);
  ASSERT_EQ(posts.size(), 1u);
  const std::string text = posts[0].message["text"];
  EXPECT_NE(text.find("a &amp; b &lt;https://evil.example|click&gt; xxx"), std::string::npos);
  EXPECT_LT(text.size(), 4000u);
  EXPECT_EQ(text.find('<', 1), std::string::npos);  // only the mention's
}

TEST_F(HandlerTest, ADeniedCommandIsRefusedInTheChannelAndNotRun) {
  auto h = Make();
  auto r = h->Handle(Request("rollback+team-b%2Fweb", "U2"));
  ASSERT_EQ(r.status, 200);
  Json reply = Body(r);
  EXPECT_EQ(reply["response_type"], "in_channel");
  EXPECT_EQ(reply["text"], "<@U2> is not allowed to rollback team-b/web");
  h->Stop();
  EXPECT_TRUE(actions_.calls().empty());
  EXPECT_TRUE(Posts().empty());
  EXPECT_NE(log_.str().find("user=U2 user_name=alice channel=C1 verb=rollback app=team-b/web "
                            "result=denied"),
            std::string::npos)
      << log_.str();
}

TEST_F(HandlerTest, RulesThatCannotBeReadDenyEveryCommand) {
  rules_ = "rules: [{users: [U1], channels: [C1], applications: [\"*\"], verb: [sync]}]";
  auto h = Make();
  auto r = h->Handle(Request("sync+team-a%2Fweb"));
  ASSERT_EQ(r.status, 200);
  Json reply = Body(r);
  EXPECT_EQ(reply["response_type"], "in_channel");
  EXPECT_EQ(reply["text"],
            "<@U1> cannot run `sync team-a/web`: the chatops rules are unavailable (the "
            "controller's log says why)");
  // Help still answers.
  EXPECT_EQ(Body(h->Handle(Request("help")))["response_type"], "ephemeral");
  h->Stop();
  EXPECT_TRUE(actions_.calls().empty());
  EXPECT_NE(log_.str().find("unknown field \\\"verb\\\""), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("result=denied"), std::string::npos);
}

TEST_F(HandlerTest, HelpAndUsageErrorsAreEphemeralAndRunNothing) {
  auto h = Make();
  for (const char* text : {"", "help"}) {
    auto r = h->Handle(Request(text, "U9"));  // anyone may ask for help
    ASSERT_EQ(r.status, 200);
    Json reply = Body(r);
    EXPECT_EQ(reply["response_type"], "ephemeral");
    EXPECT_EQ(reply["text"], HelpText());
  }
  EXPECT_EQ(authorizer_reads_.load(), 0);
  for (const char* text : {"deploy+team-a%2Fweb", "sync+team-a%2Fweb+now", "sync",
                           "rollback+web+abc123", "status+Team%2Fweb"}) {
    auto r = h->Handle(Request(text));
    ASSERT_EQ(r.status, 200) << text;  // Slack shows any other status as an error
    Json reply = Body(r);
    EXPECT_EQ(reply["response_type"], "ephemeral") << text;
    const std::string reply_text = reply["text"];
    EXPECT_NE(reply_text.find(HelpText()), std::string::npos) << text;
  }
  EXPECT_NE(Body(h->Handle(Request("%3C%21channel%3E+web")))["text"].get<std::string>().find(
                "\"&lt;!channel&gt;\""),
            std::string::npos);
  h->Stop();
  EXPECT_TRUE(actions_.calls().empty());
  EXPECT_TRUE(Posts().empty());
  EXPECT_NE(log_.str().find("result=invalid"), std::string::npos);
}

TEST_F(HandlerTest, TheReplyDoesNotWaitForASlowAction) {
  Gate release;
  actions_.SetGate(&release);
  auto h = Make();
  auto reply = std::async(std::launch::async, [&] { return h->Handle(Request("sync+web")); });
  if (reply.wait_for(5s) != std::future_status::ready) {
    release.Open();
    FAIL() << "Handle waited for the action";
  }
  EXPECT_EQ(Body(reply.get())["text"], "<@U1> ran `sync apps/web`…");
  EXPECT_TRUE(Posts().empty());
  release.Open();
  std::vector<Post> posts = WaitForPosts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].message["text"], "<@U1> `sync apps/web`:\ndone: in sync");
}

TEST_F(HandlerTest, BusyPastMaxPending) {
  Gate release;
  actions_.SetGate(&release);
  HandlerOptions options;
  options.workers = 1;
  options.max_pending = 2;
  auto h = Make(options);
  EXPECT_EQ(Body(h->Handle(Request("sync+web")))["response_type"], "in_channel");  // running
  ASSERT_TRUE(Eventually([&] { return actions_.calls().size() == 1; }));
  EXPECT_EQ(Body(h->Handle(Request("status+web")))["response_type"], "in_channel");  // waiting
  Json busy = Body(h->Handle(Request("history+web")));
  EXPECT_EQ(busy["response_type"], "ephemeral");
  EXPECT_NE(busy["text"].get<std::string>().find("Busy"), std::string::npos);
  release.Open();
  EXPECT_EQ(WaitForPosts(2).size(), 2u);
  // Room again once they are done.
  actions_.SetGate(nullptr);
  EXPECT_EQ(Body(h->Handle(Request("history+web")))["response_type"], "in_channel");
  EXPECT_EQ(WaitForPosts(3).size(), 3u);
  h->Stop();
  EXPECT_EQ(actions_.calls(),
            (std::vector<std::string>{"sync apps/web", "status apps/web", "history apps/web"}));
  EXPECT_NE(log_.str().find("verb=history app=apps/web result=busy"), std::string::npos)
      << log_.str();
}

TEST_F(HandlerTest, StopFinishesRunningCommandsAndTellsTheWaitingOnes) {
  Gate release;
  actions_.SetGate(&release);
  HandlerOptions options;
  options.workers = 1;
  auto h = Make(options);
  EXPECT_EQ(h->Handle(Request("sync+web")).status, 200);
  EXPECT_EQ(h->Handle(Request("suspend+web")).status, 200);
  // The first is running once the fake saw it.
  ASSERT_TRUE(Eventually([&] { return actions_.calls().size() == 1; }));
  auto stopped = std::async(std::launch::async, [&] { h->Stop(); });
  EXPECT_EQ(stopped.wait_for(100ms), std::future_status::timeout) << "Stop must wait";
  release.Open();
  stopped.get();
  EXPECT_EQ(actions_.calls(), (std::vector<std::string>{"sync apps/web"}));
  std::vector<Post> posts = Posts();
  ASSERT_EQ(posts.size(), 2u);
  std::vector<std::string> texts = {posts[0].message["text"], posts[1].message["text"]};
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(texts[0], "<@U1> `suspend apps/web` was not run: the controller is stopping.");
  EXPECT_EQ(texts[1], "<@U1> `sync apps/web`:\ndone: in sync");
  Json later = Body(h->Handle(Request("sync+web")));
  EXPECT_EQ(later["response_type"], "ephemeral");
  EXPECT_NE(later["text"].get<std::string>().find("stopping"), std::string::npos);
  h->Stop();  // again: nothing
}

TEST_F(HandlerTest, AReplayedRequestRunsNothingMore) {
  auto h = Make();
  http::ServerRequest request = Request("sync+web");
  EXPECT_EQ(Body(h->Handle(request))["response_type"], "in_channel");
  auto again = h->Handle(request);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "\n");
  // The same signature with its hex in capitals verifies too, and is the same request.
  std::string& signature = request.headers["x-slack-signature"];
  for (size_t i = 3; i < signature.size(); ++i) signature[i] = std::toupper(signature[i]);
  auto shouted = h->Handle(request);
  EXPECT_EQ(shouted.status, 200);
  EXPECT_EQ(shouted.body, "\n");
  WaitForPosts(1);
  h->Stop();
  EXPECT_EQ(actions_.calls().size(), 1u);
}

TEST_F(HandlerTest, SlacksCertificateCheckIsAnsweredAndIgnored) {
  auto h = Make();
  http::ServerRequest check = Request("");
  check.body = "ssl_check=1&token=x";
  const std::string ts = check.headers["x-slack-request-timestamp"];
  check.headers["x-slack-signature"] =
      "v0=" + webhook::HmacSha256Hex(secret_, "v0:" + ts + ":" + check.body);
  auto r = h->Handle(check);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "\n");
  h->Stop();
  EXPECT_EQ(authorizer_reads_.load(), 0);
  EXPECT_TRUE(actions_.calls().empty());
}

TEST_F(HandlerTest, AFailedPostIsLogged) {
  respond_status_ = Error(ErrorCode::kUnavailable, "hooks.slack.com unreachable");
  auto h = Make();
  EXPECT_EQ(h->Handle(Request("sync+web")).status, 200);
  WaitForPosts(1);
  h->Stop();
  EXPECT_NE(log_.str().find("cannot post"), std::string::npos) << log_.str();
}

TEST_F(HandlerTest, RoutesServeTheCommandPath) {
  auto h = Make();
  auto routes = h->Routes();
  ASSERT_EQ(routes.size(), 1u);
  ASSERT_EQ(routes.count("/hooks/slack/command"), 1u);
  EXPECT_EQ(Body(routes["/hooks/slack/command"](Request("help")))["text"], HelpText());
}

}  // namespace
}  // namespace plumbline::chatops
