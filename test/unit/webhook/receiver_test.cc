#include "webhook/receiver.h"

#include <sstream>

#include <gtest/gtest.h>

#include "webhook/signature.h"

namespace plumbline::webhook {
namespace {

TEST(Signature, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::string body = "payload";
  const std::string good = "sha256=" + HmacSha256Hex("s3cret", body);
  EXPECT_TRUE(ValidSha256Signature(good, "s3cret", body));
  std::string upper = good;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(ValidSha256Signature(upper, "s3cret", body));
  EXPECT_FALSE(ValidSha256Signature(good, "other", body));
  EXPECT_FALSE(ValidSha256Signature(good, "s3cret", body + " "));
  EXPECT_FALSE(ValidSha256Signature(good.substr(7), "s3cret", body));  // no "sha256="
  EXPECT_FALSE(ValidSha256Signature("sha256=", "s3cret", body));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
}

class ReceiverTest : public ::testing::Test {
 protected:
  ReceiverTest() : logger_(log_, log::Format::kText, log::Level::kInfo) {}

  Receiver Make(ReceiverOptions options = {0, 0}) {
    return Receiver(
        [this]() -> Result<std::string> {
          if (secret_.empty()) return Error(ErrorCode::kNotFound, "no secret");
          return secret_;
        },
        [this] { return targets_; },
        [this](const Target& t, const std::string&) {
          requested_.push_back(t.ns + "/" + t.name);
          return Status::Ok();
        },
        logger_, options);
  }
  http::ServerRequest Post(const std::string& body, std::map<std::string, std::string> headers) {
    return {"POST", "", std::move(headers), body, "10.0.0.1"};
  }

  std::string secret_ = "s3cret";
  std::vector<Target> targets_ = {
      {"team", "web", "https://git.example.com/acme/deploy.git", "main"},
      {"team", "api", "git@git.example.com:acme/deploy", "prod"},
      {"other", "site", "https://git.example.com/acme/site", "main"}};
  std::vector<std::string> requested_;
  std::ostringstream log_;
  log::Logger logger_;
};

const char kGitHubPush[] = R"({"ref": "refs/heads/main", "repository": {
    "clone_url": "https://git.example.com/acme/deploy.git",
    "ssh_url": "git@git.example.com:acme/deploy.git"}})";

TEST_F(ReceiverTest, AValidGitHubPushRequestsOnlyTheApplicationsOnThatRepoAndBranch) {
  Receiver r = Make();
  auto resp = r.Handle(
      "github", Post(kGitHubPush,
                     {{"x-github-event", "push"},
                      {"x-hub-signature-256", "sha256=" + HmacSha256Hex(secret_, kGitHubPush)}}));
  EXPECT_EQ(resp.status, 202) << resp.body;
  EXPECT_EQ(requested_, (std::vector<std::string>{"team/web"}));
  EXPECT_NE(resp.body.find("team/web"), std::string::npos);
}

TEST_F(ReceiverTest, GitLabChecksItsTokenAndGenericItsSignature) {
  Receiver r = Make();
  const std::string gitlab = R"({"ref": "refs/heads/prod", "project": {
      "git_ssh_url": "git@git.example.com:acme/deploy.git"}})";
  EXPECT_EQ(r.Handle("gitlab",
                     Post(gitlab, {{"x-gitlab-event", "Push Hook"}, {"x-gitlab-token", "wrong"}}))
                .status,
            401);
  EXPECT_TRUE(requested_.empty());
  EXPECT_EQ(r.Handle("gitlab",
                     Post(gitlab, {{"x-gitlab-event", "Push Hook"}, {"x-gitlab-token", secret_}}))
                .status,
            202);
  EXPECT_EQ(requested_, (std::vector<std::string>{"team/api"}));

  const std::string generic = R"({"repoURL": "https://git.example.com/acme/site"})";
  EXPECT_EQ(r.Handle("generic", Post(generic, {{"x-signature", "sha256=00"}})).status, 401);
  EXPECT_EQ(r.Handle("generic",
                     Post(generic, {{"x-signature", "sha256=" + HmacSha256Hex(secret_, generic)}}))
                .status,
            202);
  EXPECT_EQ(requested_, (std::vector<std::string>{"team/api", "other/site"}));
}

TEST_F(ReceiverTest, RefusalsChangeNothing) {
  Receiver r = Make();
  const auto sign = [&](const std::string& body) {
    return "sha256=" + HmacSha256Hex(secret_, body);
  };
  EXPECT_EQ(r.Handle("github", {"GET", "", {}, "", "10.0.0.1"}).status, 405);
  EXPECT_EQ(r.Handle("github", Post(kGitHubPush, {{"x-github-event", "push"}})).status, 401);
  EXPECT_EQ(r.Handle("github", Post("{oops", {{"x-github-event", "push"},
                                              {"x-hub-signature-256", sign("{oops")}}))
                .status,
            400);
  EXPECT_EQ(r.Handle("github",
                     Post("{}", {{"x-github-event", "ping"}, {"x-hub-signature-256", sign("{}")}}))
                .status,
            200);
  EXPECT_EQ(r.Handle("github", Post("{}", {{"x-github-event", "issues"},
                                           {"x-hub-signature-256", sign("{}")}}))
                .status,
            202);
  secret_.clear();  // the Secret is gone: nothing can be verified
  EXPECT_EQ(r.Handle("github", Post(kGitHubPush, {{"x-github-event", "push"},
                                                  {"x-hub-signature-256", sign(kGitHubPush)}}))
                .status,
            503);
  EXPECT_TRUE(requested_.empty());
  EXPECT_NE(log_.str().find("bad signature"), std::string::npos);
}

TEST_F(ReceiverTest, EachSourceIsRateLimited) {
  Receiver r = Make({/*rate_per_second=*/0.001, /*burst=*/3});
  auto bad = [&](const std::string& from) {
    return r.Handle("generic", {"POST", "", {}, "{}", from}).status;
  };
  EXPECT_EQ(bad("10.0.0.1"), 401);
  EXPECT_EQ(bad("10.0.0.1"), 401);
  EXPECT_EQ(bad("10.0.0.1"), 401);
  EXPECT_EQ(bad("10.0.0.1"), 429);
  EXPECT_EQ(bad("10.0.0.2"), 401);  // another source has its own budget
}

TEST_F(ReceiverTest, ForgeriesSpendTheirOwnBudgetNotAValidSendersOne) {
  Receiver r = Make({/*rate_per_second=*/0.001, /*burst=*/3});
  const std::string generic = R"({"repoURL": "https://git.example.com/acme/deploy.git"})";
  for (int i = 0; i < 20; ++i) {
    int status = r.Handle("generic", Post(generic, {{"x-signature", "sha256=00"}})).status;
    EXPECT_EQ(status, i < 3 ? 401 : 429) << "forgery " << i;
  }
  // Behind an ingress the forger and the real sender share an address.
  auto resp = r.Handle(
      "generic", Post(generic, {{"x-signature", "sha256=" + HmacSha256Hex(secret_, generic)}}));
  EXPECT_EQ(resp.status, 202) << resp.body;
  EXPECT_EQ(requested_, (std::vector<std::string>{"team/web", "team/api"}));
}

TEST_F(ReceiverTest, AFloodOfAddressesForgetsOnlyTheLeastRecentOne) {
  Receiver r = Make({/*rate_per_second=*/0.001, /*burst=*/1});
  auto forged = [&](const std::string& from) {
    return r.Handle("generic", {"POST", "", {}, "{}", from}).status;
  };
  EXPECT_EQ(forged("attacker"), 401);
  EXPECT_EQ(forged("attacker"), 429);
  for (int i = 1; i < 4096; ++i) EXPECT_EQ(forged("10.1." + std::to_string(i)), 401);
  EXPECT_EQ(forged("attacker"), 429);  // used again: now the most recent
  // One address more than the 4,096 remembered: the least recent (10.1.1) is forgotten, not all.
  EXPECT_EQ(forged("10.2.0.1"), 401);
  EXPECT_EQ(forged("attacker"), 429);
  EXPECT_EQ(forged("10.1.2"), 429);
  EXPECT_EQ(forged("10.1.1"), 401);  // forgotten, so it starts over
}

TEST_F(ReceiverTest, AReplayedDeliveryIsAcknowledgedAndIgnored) {
  Receiver r = Make();
  const auto github = [&](const std::string& id, const std::string& secret) {
    return Post(kGitHubPush,
                {{"x-github-event", "push"},
                 {"x-github-delivery", id},
                 {"x-hub-signature-256", "sha256=" + HmacSha256Hex(secret, kGitHubPush)}});
  };
  EXPECT_EQ(r.Handle("github", github("d-1", secret_)).status, 202);
  auto again = r.Handle("github", github("d-1", secret_));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_NE(again.body.find("already handled"), std::string::npos) << again.body;
  // Verification comes first: a forged copy is refused as a forgery.
  EXPECT_EQ(r.Handle("github", github("d-1", "guess")).status, 401);
  EXPECT_EQ(r.Handle("github", github("d-2", secret_)).status, 202);
  EXPECT_EQ(requested_, (std::vector<std::string>{"team/web", "team/web"}));

  const std::string gitlab = R"({"ref": "refs/heads/prod", "project": {
      "git_ssh_url": "git@git.example.com:acme/deploy.git"}})";
  const std::map<std::string, std::string> headers = {
      {"x-gitlab-event", "Push Hook"},
      {"x-gitlab-token", secret_},
      {"x-gitlab-event-uuid", "13792a0a-0a7c-4a3b-8a3e-5d0bd0e0b0a1"}};
  EXPECT_EQ(r.Handle("gitlab", Post(gitlab, headers)).status, 202);
  EXPECT_EQ(r.Handle("gitlab", Post(gitlab, headers)).status, 200);
  EXPECT_EQ(requested_.size(), 3u);
}

}  // namespace
}  // namespace plumbline::webhook
