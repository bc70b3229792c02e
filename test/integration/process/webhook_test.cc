// Push webhooks against the real binary: a push to the git daemon's repository, announced as
// GitHub, GitLab or a generic sender would, is applied at once although the Application polls
// only every hour. Forged, oversize, malformed and random requests change nothing.
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
    auto client = http::NewClient({"http://127.0.0.1:" + std::to_string(port_), {},
                                   std::chrono::seconds(10)});
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
    return (*app)["metadata"].value("annotations", Json::object())
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
  const std::string github = Json{{"ref", "refs/heads/main"},
                                  {"repository", {{"clone_url", url_ + ".git"},
                                                  {"ssh_url", "git@example.invalid:o/r.git"},
                                                  {"default_branch", "main"}}}}
                                 .dump();
  auto start = std::chrono::steady_clock::now();
  auto resp = Post("github", github, {{"X-GitHub-Event", "push"},
                                      {"X-Hub-Signature-256", Sign(github)}});
  EXPECT_EQ(resp.status, 202) << resp.body;
  EXPECT_NE(resp.body.find(namespace_ + "/web"), std::string::npos) << resp.body;
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "2"; })) << replicas_["replica-hooks"]->Log();
  std::printf("GitHub push to applied: %.0f ms\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());

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
  const std::string github = Json{{"ref", "refs/heads/main"},
                                  {"repository", {{"clone_url", url_}}}}.dump();

  EXPECT_EQ(Post("github", github, {{"X-GitHub-Event", "push"},
                                    {"X-Hub-Signature-256", Sign(github + " ")}}).status, 401);
  EXPECT_EQ(Post("github", github, {{"X-GitHub-Event", "push"}}).status, 401);
  EXPECT_EQ(Post("gitlab", github, {{"X-Gitlab-Event", "Push Hook"},
                                    {"X-Gitlab-Token", "guess"}}).status, 401);
  // The server answers before reading the body and drops the connection: a client of its own.
  const std::string oversize(1024 * 1024 + 1, '{');
  {
    auto own = http::NewClient({"http://127.0.0.1:" + std::to_string(port_), {},
                                std::chrono::seconds(10)});
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
      headers = {{"X-GitHub-Event", "push"}, {"X-Gitlab-Event", "Push Hook"},
                 {"X-Gitlab-Token", kSecret}, {"X-Hub-Signature-256", Sign(body)},
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
  resp = Post("github", github, {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", Sign(github)}});
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
  // The burst of 3 is spent; the next request from this address waits ~100 s for a token.
  EXPECT_EQ(Post("generic", generic, {{"X-Signature", Sign(generic)}}).status, 429);
}

}  // namespace
}  // namespace plumbline
