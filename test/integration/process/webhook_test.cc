// Push webhooks against the real binary: a push to the git daemon's repository, announced as
// GitHub, GitLab or a generic sender would, is applied at once although the Application polls
// only every hour. Forged, oversize, malformed and random requests change nothing.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "http/http_client.h"
#include "integration/process/process_fixture.h"
#include "webhook/signature.h"

namespace plumbline {
namespace {

using testing::Eventually;

constexpr char kSecret[] = "push-secret";

class WebhookTest : public testing::ProcessTest {
 protected:
  // Starts a replica receiving webhooks on a free port, its secret from a file.
  void StartReceiver(std::vector<std::string> extra = {}) {
    port_ = testing::FreePort();
    if (extra.empty()) {
      testing::WriteFile(dir_ + "/webhook-secret", std::string(kSecret) + "\n");
      extra = {"--webhook-secret-file", dir_ + "/webhook-secret"};
    }
    extra.push_back("--webhook-addr");
    extra.push_back("127.0.0.1:" + std::to_string(port_));
    StartReplica("replica-hooks", extra);
    ASSERT_TRUE(Eventually([&] { return testing::PortOpen(port_); }))
        << replicas_["replica-hooks"]->Log();
    // Generous: under AddressSanitizer the receiver's first TLS handshake with the API server
    // alone takes seconds.
    auto client = http::NewClient(
        {"http://127.0.0.1:" + std::to_string(port_), {}, std::chrono::seconds(60)});
    ASSERT_TRUE(client.ok());
    http_ = std::move(*client);
  }

  http::Response Post(const std::string& hook, const std::string& body,
                      std::map<std::string, std::string> headers) {
    http::Request r;
    r.method = "POST";
    r.path = "/hooks/" + hook;
    r.headers = std::move(headers);
    r.body = body;
    r.content_type = "application/json";
    auto resp = http_->Send(r);
    EXPECT_TRUE(resp.ok()) << (resp.ok() ? "" : resp.error().message());
    return resp.ok() ? *resp : http::Response{};
  }

  static std::string Sign(const std::string& body) {
    return "sha256=" + webhook::HmacSha256Hex(kSecret, body);
  }

  // The Application's requested-at annotation, "" when none.
  std::string RequestedAt() {
    auto app = client_->Get(apps_, namespace_, "web");
    if (!app.ok()) return "";
    return (*app)["metadata"]
        .value("annotations", Json::object())
        .value("plumbline.dev/requested-at", "");
  }

  // A repository with an Application on its HEAD branch that polls hourly, applied at `v1`.
  void SetUpApp() {
    repo_ = std::make_unique<testing::GitRepo>(dir_ + "/repos/" + namespace_ + "-web");
    url_ = daemon_->Url(namespace_ + "-web");
    const std::string first = CommitConfig(*repo_, "1");
    ApplyApp(url_, "1h");
    ASSERT_TRUE(Eventually([&] { return AppliedAt(first) && LiveValue() == "1"; },
                           std::chrono::seconds(60)))
        << replicas_["replica-hooks"]->Log();
  }

  int port_ = 0;
  std::unique_ptr<http::Client> http_;
  std::unique_ptr<testing::GitRepo> repo_;
  std::string url_;
};

TEST_F(WebhookTest, GitHubGitLabAndGenericPushesAreAppliedAtOnce) {
  StartReceiver();
  SetUpApp();

  // GitHub: the clone URL with ".git" and an ssh form; the Application's URL has neither.
  CommitConfig(*repo_, "2");
  const std::string github = Json{
      {"ref", "refs/heads/main"},
      {"repository",
       {{"clone_url", url_ + ".git"},
        {"ssh_url", "git@example.invalid:o/r.git"},
        {"default_branch",
         "main"}}}}.dump();
  auto start = std::chrono::steady_clock::now();
  auto resp =
      Post("github", github, {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", Sign(github)}});
  EXPECT_EQ(resp.status, 202) << resp.body;
  EXPECT_NE(resp.body.find(namespace_ + "/web"), std::string::npos) << resp.body;
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "2"; })) << replicas_["replica-hooks"]->Log();
  std::printf(
      "GitHub push to applied: %.0f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());

  // GitLab: the URL with a trailing slash and an upper-case scheme.
  CommitConfig(*repo_, "3");
  std::string upper = url_;
  upper.replace(0, 3, "GIT");
  const std::string gitlab = Json{{"object_kind", "push"},
                                  {"ref", "refs/heads/main"},
                                  {"project", {{"git_http_url", upper + "/"}}}}
                                 .dump();
  resp = Post("gitlab", gitlab, {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", kSecret}});
  EXPECT_EQ(resp.status, 202) << resp.body;
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "3"; }));

  // Generic, naming the branch.
  CommitConfig(*repo_, "4");
  const std::string generic = Json{{"repoURL", url_}, {"revision", "main"}}.dump();
  resp = Post("generic", generic, {{"X-Signature", Sign(generic)}});
  EXPECT_EQ(resp.status, 202) << resp.body;
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "4"; }));

  // A push to another branch concerns no Application on the default branch: nothing is asked.
  const std::string before = RequestedAt();
  const std::string other = Json{{"ref", "refs/heads/feature"},
                                 {"repository", {{"clone_url", url_}, {"default_branch", "main"}}}}
                                .dump();
  resp = Post("github", other, {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", Sign(other)}});
  EXPECT_EQ(resp.status, 202);
  EXPECT_EQ(resp.body, "{\"reconciling\":[]}\n");
  EXPECT_EQ(RequestedAt(), before);
}

TEST_F(WebhookTest, ForgedOversizeMalformedAndRandomRequestsChangeNothing) {
  // No rate limit here: 10,000 requests come from one address.
  testing::WriteFile(dir_ + "/secret", kSecret);
  StartReceiver({"--webhook-secret-file", dir_ + "/secret", "--webhook-rate", "1000000",
                 "--webhook-burst", "1000000"});
  SetUpApp();
  CommitConfig(*repo_, "2");  // pushed, but not announced by anything valid below
  const std::string github =
      Json{{"ref", "refs/heads/main"}, {"repository", {{"clone_url", url_}}}}.dump();

  EXPECT_EQ(Post("github", github,
                 {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", Sign(github + " ")}})
                .status,
            401);
  EXPECT_EQ(Post("github", github, {{"X-GitHub-Event", "push"}}).status, 401);
  EXPECT_EQ(
      Post("gitlab", github, {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "guess"}}).status,
      401);
  // The server answers before reading the body and drops the connection: a client of its own.
  const std::string oversize(1024 * 1024 + 1, '{');
  {
    auto own = http::NewClient(
        {"http://127.0.0.1:" + std::to_string(port_), {}, std::chrono::seconds(10)});
    ASSERT_TRUE(own.ok());
    http::Request big;
    big.method = "POST";
    big.path = "/hooks/generic";
    big.headers = {{"X-Signature", Sign(oversize)}};
    big.body = oversize;
    big.content_type = "application/json";
    auto resp = (*own)->Send(big);
    ASSERT_TRUE(resp.ok()) << resp.error().message();
    EXPECT_EQ(resp->status, 413);
  }
  const std::string malformed = "{\"repoURL\": ";
  auto resp = Post("generic", malformed, {{"X-Signature", Sign(malformed)}});
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(resp.body, "the body is not JSON\n");
  EXPECT_EQ(Post("nothing", "{}", {}).status, 404);

  // Random bytes, half of them correctly signed so they reach the parsers.
  std::mt19937 random(20261123);
  std::map<int, int> codes;
  const char* hooks[] = {"github", "gitlab", "generic"};
  for (int i = 0; i < 10000; ++i) {
    std::string body(random() % 2048, '\0');
    for (auto& c : body) c = static_cast<char>(random() & 0xff);
    const std::string hook = hooks[i % 3];
    std::map<std::string, std::string> headers;
    if (i % 2 == 0) {
      headers = {{"X-GitHub-Event", "push"},
                 {"X-Gitlab-Event", "Push Hook"},
                 {"X-Gitlab-Token", kSecret},
                 {"X-Hub-Signature-256", Sign(body)},
                 {"X-Signature", Sign(body)}};
    } else {
      headers = {{"X-Hub-Signature-256", "sha256=" + webhook::HmacSha256Hex("guess", body)},
                 {"X-Gitlab-Token", std::to_string(random())},
                 {"X-Signature", "sha256=" + std::to_string(random())}};
    }
    ++codes[Post(hook, body, headers).status];
  }
  for (const auto& [code, count] : codes) {
    EXPECT_TRUE(code == 400 || code == 401) << count << " answers with " << code;
  }
  EXPECT_EQ(codes[400], 5000) << "the signed half reaches the parsers and is refused there";
  EXPECT_EQ(codes[401], 5000);

  // Nothing was reconciled: no request, the cluster still at v1.
  EXPECT_EQ(RequestedAt(), "");
  EXPECT_EQ(LiveValue(), "1");
  // Not wedged: a valid push still works, at once.
  resp =
      Post("github", github, {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", Sign(github)}});
  EXPECT_EQ(resp.status, 202) << resp.body;
  EXPECT_TRUE(Eventually([&] { return LiveValue() == "2"; }));
  EXPECT_FALSE(replicas_["replica-hooks"]->Wait(std::chrono::milliseconds(0)).has_value())
      << "the controller exited";
}

TEST_F(WebhookTest, TheSecretComesFromASecretAndAFloodIsRateLimited) {
  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "webhook"}, {"namespace", namespace_}}},
                 {"stringData", {{"token", kSecret}}}};
  ASSERT_TRUE(client_->Apply(secret).ok());
  StartReceiver({"--webhook-secret", "webhook", "--webhook-rate", "0.01", "--webhook-burst", "3"});
  SetUpApp();
  CommitConfig(*repo_, "2");
  const std::string generic = Json{{"repoURL", url_}}.dump();
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", Sign(generic)}}).status, 202);
  EXPECT_TRUE(Eventually([&] { return LiveValue() == "2"; }));
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", "sha256=00"}}).status, 401);
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", "sha256=00"}}).status, 401);
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", "sha256=00"}}).status, 401);
  // The burst of 3 failures is spent: this address's next forgery waits ~100 s for a token...
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", "sha256=00"}}).status, 429);
  // ...but forgeries spend only their own budget: behind an ingress every sender shares one
  // address, and a valid delivery from it still goes through.
  CommitConfig(*repo_, "3");
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", Sign(generic)}}).status, 202);
  EXPECT_TRUE(Eventually([&] { return LiveValue() == "3"; }));
}

TEST_F(WebhookTest, AReplayedDeliveryIsIgnored) {
  StartReceiver();
  SetUpApp();
  CommitConfig(*repo_, "2");
  const std::string github =
      Json{{"ref", "refs/heads/main"}, {"repository", {{"clone_url", url_}}}}.dump();
  const std::map<std::string, std::string> headers = {
      {"X-GitHub-Event", "push"},
      {"X-Hub-Signature-256", Sign(github)},
      {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}};
  EXPECT_EQ(Post("github", github, headers).status, 202);
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "2"; }));
  const std::string requested = RequestedAt();
  ASSERT_NE(requested, "");
  // A captured delivery sent again asks for nothing.
  auto resp = Post("github", github, headers);
  EXPECT_EQ(resp.status, 200) << resp.body;
  EXPECT_NE(resp.body.find("already"), std::string::npos) << resp.body;
  EXPECT_EQ(RequestedAt(), requested);
}

// A TCP connection to 127.0.0.1:port, or -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closed `fd` (EOF or reset) within `timeout`.
bool ClosedByPeer(int fd, std::chrono::seconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

TEST_F(WebhookTest, HeaderOnlyConnectionsFreezeNothing) {
  StartReceiver();
  SetUpApp();
  const std::string healthz =
      "http://127.0.0.1:" + std::to_string(health_port_["replica-hooks"]) + "/healthz";

  // 100 clients send a webhook's headers and then nothing: no body, for as long as they like.
  std::vector<int> slow;
  for (int i = 0; i < 100; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    const std::string head =
        "POST /hooks/github HTTP/1.1\r\nHost: hooks\r\nContent-Type: application/json\r\n"
        "X-GitHub-Event: push\r\nContent-Length: 1000\r\n\r\n";
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
    slow.push_back(fd);
  }
  // The probes answer at once: they share no thread with the webhook port.
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    // curl's exit code is not checked: a time-out is a miss, counted below.
    FILE* curl =
        popen(("curl -s -o /dev/null -w '%{http_code}' --max-time 1 " + healthz).c_str(), "r");
    ASSERT_NE(curl, nullptr);
    char code[8] = {};
    answered += fgets(code, sizeof(code), curl) && std::string(code) == "200";
    pclose(curl);
  }
  EXPECT_GE(answered, 1) << "/healthz did not answer within 1 s while 100 clients stalled";
  // The Kubernetes client is not frozen either: a sync request applies a new commit.
  const std::string second = CommitConfig(*repo_, "2");
  Json sync = {{"apiVersion", "plumbline.dev/v1alpha1"},
               {"kind", "Application"},
               {"metadata",
                {{"name", "web"},
                 {"namespace", namespace_},
                 {"annotations", {{"plumbline.dev/requested-at", "slow-clients"}}}}}};
  kube::ApplyOptions as_test;
  as_test.field_manager = "test-sync";
  ASSERT_TRUE(client_->Apply(sync, as_test).ok());
  EXPECT_TRUE(
      Eventually([&] { return AppliedAt(second) && LiveValue() == "2"; }, std::chrono::seconds(60)))
      << replicas_["replica-hooks"]->Log();
  // The server cuts each stalled client at its body deadline (10 s), not never.
  int cut = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int fd : slow) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline -
                                                                 std::chrono::steady_clock::now());
    cut += ClosedByPeer(fd, std::max(left, std::chrono::seconds(1)));
  }
  EXPECT_EQ(cut, 100);
  for (int fd : slow) close(fd);

  // And everything still works afterwards.
  CommitConfig(*repo_, "3");
  const std::string github =
      Json{{"ref", "refs/heads/main"}, {"repository", {{"clone_url", url_}}}}.dump();
  auto resp =
      Post("github", github, {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", Sign(github)}});
  EXPECT_EQ(resp.status, 202) << resp.body;
  EXPECT_TRUE(Eventually([&] { return LiveValue() == "3"; }));
  EXPECT_EQ(Status(healthz), 200);
}

TEST_F(WebhookTest, AChunkedFloodIsCutAtTheLimitWithoutBuffering) {
  StartReceiver();
  const pid_t pid = replicas_["replica-hooks"]->pid();
  // Warm up the request path once, so first-use allocations do not count as growth.
  EXPECT_EQ(Post("github", "{}", {{"X-GitHub-Event", "push"}}).status, 401);
  const long rss_before = testing::ProcStatusKib(pid, "VmRSS");
  const long peak_before = testing::ProcStatusKib(pid, "VmHWM");
  ASSERT_GT(rss_before, 0);

  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  int sndbuf = 64 << 10;  // what send() accepted is then close to what the server received
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  timeval tv{60, 0};  // a server that neither reads nor closes fails the test, not hangs it
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const std::string head =
      "POST /hooks/github HTTP/1.1\r\nHost: hooks\r\nX-GitHub-Event: push\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";  // 64 KiB
  size_t sent = 0;
  bool refused = false;
  while (sent < (20u << 20)) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0) {
      refused = errno == EPIPE || errno == ECONNRESET;
      break;
    }
    sent += static_cast<size_t>(n);
  }
  // What came back, if the reset left it readable, is the 413.
  char buf[256] = {};
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
  if (n > 0) {
    EXPECT_EQ(std::string(buf, 12), "HTTP/1.1 413") << buf;
  }
  close(fd);
  EXPECT_TRUE(refused) << "the server took all " << sent << " bytes";
  EXPECT_LT(sent, 2u << 20) << "the connection was closed only after " << sent << " bytes";
  const long growth = std::max(testing::ProcStatusKib(pid, "VmRSS") - rss_before,
                               testing::ProcStatusKib(pid, "VmHWM") - peak_before);
  std::printf("chunked upload: %zu bytes sent before the close, RSS growth %ld KiB\n", sent,
              growth);
  if (testing::kRssBoundsApply) {
    EXPECT_LT(growth, 5 * 1024) << "KiB of RSS growth";
  }
  // Still serving.
  EXPECT_EQ(Post("github", "{}", {{"X-GitHub-Event", "push"}}).status, 401);
}

}  // namespace
}  // namespace plumbline
