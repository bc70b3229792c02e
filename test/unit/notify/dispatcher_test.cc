// The Dispatcher against a real local HTTP server (http::Serve) and the real client (SendHttp):
// order per notifier, retries, final answers, a hanging receiver, a full queue, the Secret read
// at delivery time, and what is counted and logged.
#include "notify/dispatcher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <deque>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/mutex.h"
#include "http/server.h"

namespace plumbline::notify {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr char kSha[] = "0123456789abcdef0123456789abcdef01234567";

std::string HmacHex(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < length; ++i) {
    snprintf(buf, sizeof(buf), "%02x", digest[i]);
    hex += buf;
  }
  return hex;
}

// Polls `done` until it holds or `limit` passes.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

Event Numbered(int i, EventType type = EventType::kDeployed) {
  Event e;
  e.type = type;
  e.app_namespace = "team";
  e.app_name = "web";
  e.repo_url = "https://github.com/acme/deploy.git";
  e.revision = kSha;
  e.message = "event " + std::to_string(i);
  return e;
}

struct Received {
  std::string path;
  std::map<std::string, std::string> headers;
  std::string body;
  size_t order = 0;  // arrival, across paths
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : logger_(log_, log::Format::kText, log::Level::kDebug) {
    http::ServerOptions options;
    options.handler_threads = 6;
    std::map<std::string, http::Handler> routes;
    for (const std::string& path :
         std::vector<std::string>{"/a", "/b", "/services/T/B/SECRETPATH",
                                  "/api/v3/repos/acme/deploy/statuses/" + std::string(kSha)}) {
      routes[path] = [this](const http::ServerRequest& r) { return Answer(r); };
    }
    routes["/hang"] = [this](const http::ServerRequest& r) { return Hang(r); };
    auto server = http::Serve("127.0.0.1:0", routes, options);
    EXPECT_TRUE(server.ok()) << server.error().message();
    if (server.ok()) server_ = std::move(*server);
  }

  void TearDown() override {
    Release();
    dispatcher_.reset();
    server_.reset();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  // A generic notifier of team named `name` whose Secret points at `path`.
  NotifierSpec Generic(const std::string& name, const std::string& path,
                       const std::string& token = "") {
    NotifierSpec n;
    n.ns = "team";
    n.name = name;
    n.provider = Provider::kGeneric;
    n.secret_name = name + "-secret";
    ProviderSecret s;
    s.address = Url(path);
    s.token = token;
    MutexLock lock(mu_);
    secrets_[n.secret_name] = s;
    notifiers_.push_back(n);
    return n;
  }

  void Start(Dispatcher::Options options) {
    dispatcher_ = std::make_unique<Dispatcher>(
        [this] {
          MutexLock lock(mu_);
          return notifiers_;
        },
        [this](const std::string& ns, const std::string& name) -> Result<ProviderSecret> {
          MutexLock lock(mu_);
          ++secret_reads_;
          if (ns != "team" && ns != "other") {
            return Error(ErrorCode::kForbidden, "another namespace");
          }
          if (secret_error_) return *secret_error_;
          auto it = secrets_.find(name);
          if (it == secrets_.end()) return Error(ErrorCode::kNotFound, "no Secret " + name);
          return it->second;
        },
        SendHttp, logger_,
        [this](Provider p, std::string_view result) {
          MutexLock lock(mu_);
          ++counts_[std::string(ToString(p)) + "/" + std::string(result)];
        },
        options);
  }

  static Dispatcher::Options Fast() {
    Dispatcher::Options o;
    o.first_backoff = 10ms;
    o.max_backoff = 40ms;
    o.timeout = 5s;
    o.threads = 4;
    return o;
  }

  http::ServerResponse Answer(const http::ServerRequest& r) {
    MutexLock lock(mu_);
    received_.push_back({r.path, r.headers, r.body, received_.size()});
    http::ServerResponse response;
    auto& script = answers_[r.path];
    if (!script.empty()) {
      response.status = script.front();
      script.pop_front();
    }
    return response;
  }

  // Answers only once released (or after 20 s, so that a broken test still ends).
  http::ServerResponse Hang(const http::ServerRequest& r) {
    MutexLock lock(mu_);
    received_.push_back({r.path, r.headers, r.body, received_.size()});
    ++hanging_;
    const auto deadline = SteadyClock::now() + 20s;
    while (!released_ && SteadyClock::now() < deadline) cv_.wait_until(lock, deadline);
    --hanging_;
    return http::ServerResponse();
  }

  void Release() {
    {
      MutexLock lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

  std::vector<Received> ReceivedAt(const std::string& path) {
    MutexLock lock(mu_);
    std::vector<Received> out;
    for (const Received& r : received_) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }
  std::vector<std::string> MessagesAt(const std::string& path) {
    std::vector<std::string> out;
    for (const Received& r : ReceivedAt(path)) out.push_back(Json::parse(r.body)["message"]);
    return out;
  }
  int Count(const std::string& key) {
    MutexLock lock(mu_);
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }
  int Hanging() {
    MutexLock lock(mu_);
    return hanging_;
  }
  // The log, once the dispatcher has stopped writing to it.
  std::string StoppedLog() {
    dispatcher_->Stop();
    return log_.str();
  }

  Mutex mu_;
  CondVar cv_;
  std::vector<NotifierSpec> notifiers_;
  std::map<std::string, ProviderSecret> secrets_;
  std::optional<Error> secret_error_;
  int secret_reads_ = 0;
  std::vector<Received> received_;
  std::map<std::string, std::deque<int>> answers_;  // statuses to answer, then 200
  std::map<std::string, int> counts_;
  int hanging_ = 0;
  bool released_ = false;

  std::ostringstream log_;
  log::Logger logger_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, EachNotifiersDeliveriesArriveInOrder) {
  Generic("a", "/a", "key-a");
  Generic("b", "/b");
  Start(Fast());
  std::vector<std::string> expected;
  for (int i = 0; i < 30; ++i) {
    dispatcher_->Publish(Numbered(i));
    expected.push_back("event " + std::to_string(i));
  }
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 60; })) << Count("generic/sent");
  EXPECT_EQ(MessagesAt("/a"), expected);
  EXPECT_EQ(MessagesAt("/b"), expected);
  for (const Received& r : ReceivedAt("/a")) {
    EXPECT_EQ(r.headers.at("x-plumbline-event"), "deployed");
    EXPECT_EQ(r.headers.at("x-plumbline-signature"), "sha256=" + HmacHex("key-a", r.body));
  }
  for (const Received& r : ReceivedAt("/b"))
    EXPECT_EQ(r.headers.count("x-plumbline-signature"), 0u);
  EXPECT_EQ(Count("generic/retried"), 0);
  EXPECT_EQ(Count("generic/failed"), 0);
}

TEST_F(DispatcherTest, A5xxOrA429IsRetriedThenSent) {
  Generic("a", "/a");
  answers_["/a"] = {500, 429};
  Dispatcher::Options o = Fast();
  o.first_backoff = 50ms;
  o.max_backoff = 80ms;
  Start(o);
  const auto start = SteadyClock::now();
  dispatcher_->Publish(Numbered(1));
  dispatcher_->Publish(Numbered(2));
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 2; }));
  EXPECT_GE(SteadyClock::now() - start, 50ms + 80ms);  // backed off: 50 ms, then 100 capped to 80
  // The first went three times before the second went at all.
  EXPECT_EQ(MessagesAt("/a"),
            (std::vector<std::string>{"event 1", "event 1", "event 1", "event 2"}));
  EXPECT_EQ(Count("generic/retried"), 2);
  EXPECT_EQ(Count("generic/failed"), 0);
}

TEST_F(DispatcherTest, ARetryWaitingForItsBackoffHoldsNoWorker) {
  Generic("a", "/a");
  Generic("b", "/b");
  answers_["/a"] = {500};
  Dispatcher::Options o = Fast();
  o.threads = 1;
  o.first_backoff = o.max_backoff = 20s;  // longer than the test
  Start(o);
  dispatcher_->Publish(Numbered(1));
  dispatcher_->Publish(Numbered(2));
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 2; }));
  EXPECT_EQ(MessagesAt("/b"), (std::vector<std::string>{"event 1", "event 2"}));
  EXPECT_EQ(MessagesAt("/a"), (std::vector<std::string>{"event 1"}));  // waiting to retry
  EXPECT_EQ(Count("generic/retried"), 1);
}

TEST_F(DispatcherTest, GivesUpAfterMaxAttemptsAndLogsNeitherAddressNorToken) {
  Generic("a", "/a", "TOKENVALUE");
  answers_["/a"] = {503, 503, 503, 503};
  Dispatcher::Options o = Fast();
  o.max_attempts = 3;
  Start(o);
  dispatcher_->Publish(Numbered(1));
  ASSERT_TRUE(Eventually([&] { return Count("generic/failed") == 1; }));
  EXPECT_EQ(ReceivedAt("/a").size(), 3u);
  EXPECT_EQ(Count("generic/retried"), 2);
  EXPECT_EQ(Count("generic/sent"), 0);
  const std::string log = StoppedLog();
  EXPECT_NE(log.find("notification failed app=team/web notifier=team/a provider=generic "
                     "event=deployed status=503 attempts=3"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("TOKENVALUE"), std::string::npos) << log;
  EXPECT_EQ(log.find("127.0.0.1"), std::string::npos) << log;
  EXPECT_EQ(log.find("http://"), std::string::npos) << log;
}

TEST_F(DispatcherTest, A4xxIsFinalAtOnce) {
  Generic("a", "/a");
  answers_["/a"] = {404};
  Start(Fast());
  dispatcher_->Publish(Numbered(1));
  dispatcher_->Publish(Numbered(2));
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 1; }));
  EXPECT_EQ(MessagesAt("/a"), (std::vector<std::string>{"event 1", "event 2"}));
  EXPECT_EQ(Count("generic/failed"), 1);
  EXPECT_EQ(Count("generic/retried"), 0);
  EXPECT_NE(StoppedLog().find("status=404 attempts=1"), std::string::npos) << log_.str();
}

TEST_F(DispatcherTest, AHangingReceiverHoldsUpNeitherPublishNorOtherNotifiers) {
  Generic("slow", "/hang");
  Generic("b", "/b");
  Dispatcher::Options o = Fast();
  o.threads = 2;
  o.timeout = 15s;  // longer than the test: the receiver hangs throughout
  Start(o);
  dispatcher_->Publish(Numbered(1));
  ASSERT_TRUE(Eventually([&] { return Hanging() == 1; }));
  for (int i = 2; i <= 5; ++i) {
    const auto start = SteadyClock::now();
    dispatcher_->Publish(Numbered(i));
    EXPECT_LT(SteadyClock::now() - start, 1s);
  }
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 5; })) << Count("generic/sent");
  EXPECT_EQ(MessagesAt("/b"),
            (std::vector<std::string>{"event 1", "event 2", "event 3", "event 4", "event 5"}));
  EXPECT_EQ(Hanging(), 1);  // still hanging, and only its first delivery was sent
  EXPECT_EQ(ReceivedAt("/hang").size(), 1u);
}

TEST_F(DispatcherTest, OneTenantsHangingReceiversDoNotHoldUpAnotherTenant) {
  // Team has more hanging Notifiers than there are workers; other's delivery goes next all the
  // same, as soon as a worker is free, not after every one of team's.
  for (const char* name : {"slow1", "slow2", "slow3", "slow4"}) Generic(name, "/hang");
  NotifierSpec other = Generic("other", "/b");
  {
    MutexLock lock(mu_);
    notifiers_.back().ns = "other";
  }
  Dispatcher::Options o = Fast();
  o.threads = 2;
  o.timeout = 2s;  // long enough that other's event is published while the first two hang
  o.max_attempts = 1;
  Start(o);
  dispatcher_->Publish(Numbered(1));  // four deliveries of team's, two held at a time
  ASSERT_TRUE(Eventually([&] { return Hanging() == 2; }));
  Event theirs = Numbered(2);
  theirs.app_namespace = "other";
  dispatcher_->Publish(theirs);
  // The first worker freed (after one timeout) serves other before team's third and fourth.
  ASSERT_TRUE(Eventually([&] { return !ReceivedAt("/b").empty(); }));
  size_t hung_before = 0;  // team's deliveries that reached the receiver before other's
  for (const Received& r : ReceivedAt("/hang")) hung_before += r.order < ReceivedAt("/b")[0].order;
  EXPECT_LE(hung_before, 3u) << "other waited for team's queue";
  Release();
}

TEST_F(DispatcherTest, AHangingReceiverFailsAfterTheTimeout) {
  Generic("slow", "/hang", "TOKENVALUE");
  Dispatcher::Options o = Fast();
  o.timeout = 300ms;
  o.max_attempts = 2;
  Start(o);
  const auto start = SteadyClock::now();
  dispatcher_->Publish(Numbered(1));
  ASSERT_TRUE(Eventually([&] { return Count("generic/failed") == 1; }));
  EXPECT_LT(SteadyClock::now() - start, 5s);
  EXPECT_EQ(Count("generic/retried"), 1);  // no response is retried
  EXPECT_EQ(ReceivedAt("/hang").size(), 2u);
  Release();
  const std::string log = StoppedLog();
  EXPECT_NE(log.find("status=none attempts=2"), std::string::npos) << log;
  EXPECT_NE(log.find("no response"), std::string::npos) << log;
  EXPECT_EQ(log.find("127.0.0.1"), std::string::npos) << log;
  EXPECT_EQ(log.find("hang"), std::string::npos) << log;
}

TEST_F(DispatcherTest, AFullQueueDrops) {
  Generic("slow", "/hang");
  Dispatcher::Options o = Fast();
  o.max_queued = 2;  // the one being sent and one more
  Start(o);
  dispatcher_->Publish(Numbered(1));
  ASSERT_TRUE(Eventually([&] { return Hanging() == 1; }));
  dispatcher_->Publish(Numbered(2));
  EXPECT_EQ(Count("generic/dropped"), 0);
  dispatcher_->Publish(Numbered(3));
  dispatcher_->Publish(Numbered(4));
  EXPECT_EQ(Count("generic/dropped"), 2);  // counted before Publish returns
  Release();
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 2; }));
  EXPECT_EQ(MessagesAt("/hang"), (std::vector<std::string>{"event 1", "event 2"}));
  EXPECT_NE(StoppedLog().find("notification dropped: the notifier's queue is full app=team/web "
                              "notifier=team/slow provider=generic event=deployed"),
            std::string::npos)
      << log_.str();
}

TEST_F(DispatcherTest, TheSecretIsReadWhenADeliveryIsSent) {
  Generic("a", "/a", "key-1");
  Start(Fast());
  dispatcher_->Publish(Numbered(1));
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 1; }));
  {
    MutexLock lock(mu_);
    secrets_["a-secret"].token = "key-2";  // rotated
  }
  dispatcher_->Publish(Numbered(2));
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 2; }));
  const auto got = ReceivedAt("/a");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].headers.at("x-plumbline-signature"), "sha256=" + HmacHex("key-1", got[0].body));
  EXPECT_EQ(got[1].headers.at("x-plumbline-signature"), "sha256=" + HmacHex("key-2", got[1].body));

  {
    MutexLock lock(mu_);
    secret_error_ = Error(ErrorCode::kUnavailable, "API server down");
  }
  dispatcher_->Publish(Numbered(3));
  ASSERT_TRUE(Eventually([&] { return Count("generic/retried") >= 2; }));
  {
    MutexLock lock(mu_);
    secret_error_.reset();  // back: the retry sends it
  }
  ASSERT_TRUE(Eventually([&] { return Count("generic/sent") == 3; }));

  {
    MutexLock lock(mu_);
    secrets_.erase("a-secret");  // missing: final, nothing sent
  }
  dispatcher_->Publish(Numbered(4));
  ASSERT_TRUE(Eventually([&] { return Count("generic/failed") == 1; }));
  EXPECT_EQ(ReceivedAt("/a").size(), 3u);
  EXPECT_NE(StoppedLog().find("cannot read Secret a-secret: no Secret a-secret"), std::string::npos)
      << log_.str();
}

TEST_F(DispatcherTest, CommitStatusesInOrderAndCountsPerProvider) {
  NotifierSpec github;
  github.ns = "team";
  github.name = "gh";
  github.provider = Provider::kGithub;
  github.secret_name = "gh";
  NotifierSpec slack = github;
  slack.name = "chat";
  slack.provider = Provider::kSlack;
  slack.secret_name = "chat";
  NotifierSpec elsewhere = slack;  // another namespace's: never told
  elsewhere.ns = "other";
  elsewhere.name = "spy";
  {
    MutexLock lock(mu_);
    notifiers_ = {github, slack, elsewhere};
    ProviderSecret gh;
    gh.address = Url("/api/v3");
    gh.token = "ghp_TOKENVALUE";
    secrets_["gh"] = gh;
    ProviderSecret chat;
    chat.address = Url("/services/T/B/SECRETPATH");
    secrets_["chat"] = chat;
  }
  answers_["/api/v3/repos/acme/deploy/statuses/" + std::string(kSha)] = {502};
  Start(Fast());
  dispatcher_->Publish(Numbered(1, EventType::kApplying));
  dispatcher_->Publish(Numbered(1, EventType::kDeployed));
  ASSERT_TRUE(Eventually([&] { return Count("github/sent") == 2 && Count("slack/sent") == 1; }));
  std::vector<std::string> states;
  for (const Received& r : ReceivedAt("/api/v3/repos/acme/deploy/statuses/" + std::string(kSha))) {
    states.push_back(Json::parse(r.body)["state"]);
    EXPECT_EQ(r.headers.at("authorization"), "Bearer ghp_TOKENVALUE");
  }
  // The pending status was retried, and still came before success.
  EXPECT_EQ(states, (std::vector<std::string>{"pending", "pending", "success"}));
  EXPECT_EQ(ReceivedAt("/services/T/B/SECRETPATH").size(), 1u);  // slack: not applying
  EXPECT_EQ(Count("github/retried"), 1);
  const std::string log = StoppedLog();
  EXPECT_EQ(log.find("TOKENVALUE"), std::string::npos) << log;
  EXPECT_EQ(log.find("SECRETPATH"), std::string::npos) << log;
}

TEST_F(DispatcherTest, StopAbandonsQueuedDeliveriesWithinTheTimeout) {
  Generic("slow", "/hang");
  Dispatcher::Options o = Fast();
  o.timeout = 300ms;
  o.max_queued = 2;
  Start(o);
  for (int i = 0; i < 2; ++i) dispatcher_->Publish(Numbered(i));
  ASSERT_TRUE(Eventually([&] { return Hanging() == 1; }));
  const auto start = SteadyClock::now();
  dispatcher_->Stop();
  EXPECT_LT(SteadyClock::now() - start, 3s);
  for (int i = 0; i < 3; ++i) dispatcher_->Publish(Numbered(9));  // after Stop: nothing
  EXPECT_EQ(ReceivedAt("/hang").size(), 1u);
  EXPECT_EQ(Count("generic/sent"), 0);
  EXPECT_EQ(Count("generic/dropped"), 0);  // not even queued
  EXPECT_NE(log_.str().find("notifications abandoned at shutdown count="), std::string::npos)
      << log_.str();
}

}  // namespace
}  // namespace plumbline::notify
