// What each provider is sent: the exact request (address, path, headers, JSON body), the
// generic webhook's signature checked with OpenSSL here, and errors that never show the
// Secret's address or token.
#include "notify/providers.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <gtest/gtest.h>

#include "common/redact.h"
#include "common/rfc3339.h"

namespace plumbline::notify {
namespace {

constexpr char kSha[] = "0123456789abcdef0123456789abcdef01234567";

Event Deployed() {
  Event e;
  e.type = EventType::kDeployed;
  e.app_namespace = "team";
  e.app_name = "web";
  e.repo_url = "https://github.com/acme/deploy.git";
  e.revision = kSha;
  e.author = "Jane Doe <jane@example.com>";
  e.subject = "Bump web to 1.2 & fix <probe>";
  e.message = "applied 3 objects";
  e.created = 2;
  e.configured = 1;
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.time = *ParseRfc3339("2026-01-02T03:04:05Z");
  return e;
}

Event Failed() {
  Event e = Deployed();
  e.type = EventType::kFailed;
  e.phase = "Render";
  e.reason = "RenderFailed";
  e.message = "kustomize build: <no kustomization> & more\nsecond line";
  e.created = e.configured = 0;
  e.trace_id.clear();
  return e;
}

NotifierSpec Spec(Provider provider) {
  NotifierSpec n;
  n.ns = "team";
  n.name = "notify";
  n.provider = provider;
  n.secret_name = "s";
  return n;
}

ProviderSecret SecretOf(std::string address, std::string token = "") {
  ProviderSecret s;
  s.address = std::move(address);
  s.token = std::move(token);
  return s;
}

// HMAC-SHA256 through OpenSSL's EVP_MAC, apart from the code under test.
std::string HmacHex(const std::string& key, const std::string& data) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  unsigned char out[64];
  size_t length = 0;
  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MAC_final(ctx, out, &length, sizeof(out));
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  std::string hex;
  char buf[3];
  for (size_t i = 0; i < length; ++i) {
    snprintf(buf, sizeof(buf), "%02x", out[i]);
    hex += buf;
  }
  return hex;
}

size_t Chars(const std::string& utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

const std::map<std::string, std::string> kJsonPost = {{"User-Agent", "plumbline"}};

TEST(Slack, DeployedNamesTheAppRevisionCommitAndCounts) {
  auto d = Format(Spec(Provider::kSlack), SecretOf("https://hooks.slack.com/services/T0/B0/XXXX"),
                  Deployed());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->base_url, "https://hooks.slack.com");
  EXPECT_EQ(d->request.method, "POST");
  EXPECT_EQ(d->request.path, "/services/T0/B0/XXXX");
  EXPECT_EQ(d->request.content_type, "application/json");
  EXPECT_EQ(d->request.headers, kJsonPost);
  const Json expected = Json::parse(R"({
    "text": "team/web: deployed 0123456789ab (2 created, 1 configured, 0 deleted): applied 3 objects",
    "blocks": [
      {"type": "header", "text": {"type": "plain_text", "emoji": true,
        "text": ":white_check_mark: team/web deployed"}},
      {"type": "section", "fields": [
        {"type": "mrkdwn", "text": "*Revision*\n0123456789ab"},
        {"type": "mrkdwn", "text": "*Author*\nJane Doe &lt;jane@example.com&gt;"},
        {"type": "mrkdwn", "text": "*Commit*\nBump web to 1.2 &amp; fix &lt;probe&gt;"},
        {"type": "mrkdwn", "text": "*Changes*\n2 created, 1 configured, 0 deleted"}]},
      {"type": "section", "text": {"type": "mrkdwn", "text": "applied 3 objects"}},
      {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "trace 4bf92f3577b34da6a3ce929d0e0e4736"}]}
    ]})");
  EXPECT_EQ(Json::parse(d->request.body), expected) << Json::parse(d->request.body).dump(2);
}

TEST(Slack, FailedNamesThePhaseReasonAndError) {
  auto d =
      Format(Spec(Provider::kSlack), SecretOf("https://hooks.slack.com/services/T/B/X"), Failed());
  ASSERT_TRUE(d.ok()) << d.error().message();
  const Json expected = Json::parse(R"({
    "text": "team/web: failed at Render (RenderFailed): kustomize build: &lt;no kustomization&gt; &amp; more",
    "blocks": [
      {"type": "header", "text": {"type": "plain_text", "emoji": true,
        "text": ":x: team/web failed"}},
      {"type": "section", "fields": [
        {"type": "mrkdwn", "text": "*Revision*\n0123456789ab"},
        {"type": "mrkdwn", "text": "*Author*\nJane Doe &lt;jane@example.com&gt;"},
        {"type": "mrkdwn", "text": "*Commit*\nBump web to 1.2 &amp; fix &lt;probe&gt;"},
        {"type": "mrkdwn", "text": "*Phase*\nRender"},
        {"type": "mrkdwn", "text": "*Reason*\nRenderFailed"}]},
      {"type": "section", "text": {"type": "mrkdwn",
        "text": "*Error*\nkustomize build: &lt;no kustomization&gt; &amp; more\nsecond line"}}
    ]})");
  EXPECT_EQ(Json::parse(d->request.body), expected) << Json::parse(d->request.body).dump(2);
}

TEST(Slack, DriftCountsTheDriftAndLongTextIsCutBetweenEscapes) {
  Event e = Deployed();
  e.type = EventType::kDrifted;
  e.created = e.configured = 0;
  e.drifted = 3;
  e.message = std::string(5000, '&');
  auto d = Format(Spec(Provider::kSlack), SecretOf("https://hooks.slack.com/x"), e);
  ASSERT_TRUE(d.ok());
  const Json body = Json::parse(d->request.body);
  EXPECT_EQ(body["blocks"][0]["text"]["text"], ":warning: team/web drifted");
  EXPECT_EQ(body["blocks"][1]["fields"][3]["text"], "*Changes*\n3 drifted");
  const std::string text = body["blocks"][2]["text"]["text"];
  // 2900 characters as Slack counts them: 579 escapes of 5, and the ellipsis.
  EXPECT_EQ(text, [] {
    std::string s;
    for (int i = 0; i < 579; ++i) s += "&amp;";
    return s + "\u2026";
  }());
  e.type = EventType::kDriftCorrected;
  e.created = 1;
  d = Format(Spec(Provider::kSlack), SecretOf("https://hooks.slack.com/x"), e);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Json::parse(d->request.body)["blocks"][1]["fields"][3]["text"],
            "*Changes*\n1 created, 0 configured, 0 deleted, 3 drifted");
}

TEST(Generic, TheDocumentedPayloadSignedWithTheToken) {
  Event e = Failed();
  e.message = "cannot fetch https://user:hunter2@git.example/acme/deploy";
  e.drifted = 4;
  auto d = Format(Spec(Provider::kGeneric),
                  SecretOf("http://127.0.0.1:8080/hooks/plumbline?team=a", "hmac-key"), e);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(d->request.path, "/hooks/plumbline?team=a");
  EXPECT_EQ(d->request.content_type, "application/json");
  const Json expected = Json::parse(R"({
    "event": "failed",
    "application": {"namespace": "team", "name": "web"},
    "revision": "0123456789abcdef0123456789abcdef01234567",
    "author": "Jane Doe <jane@example.com>",
    "subject": "Bump web to 1.2 & fix <probe>",
    "phase": "Render", "reason": "RenderFailed",
    "message": "cannot fetch https://***@git.example/acme/deploy",
    "counts": {"created": 0, "configured": 0, "deleted": 0, "drifted": 4},
    "traceID": "",
    "time": "2026-01-02T03:04:05Z"})");
  EXPECT_EQ(Json::parse(d->request.body), expected) << d->request.body;
  const std::map<std::string, std::string> headers = {
      {"User-Agent", "plumbline"},
      {"X-Plumbline-Event", "failed"},
      {"X-Plumbline-Signature", "sha256=" + HmacHex("hmac-key", d->request.body)}};
  EXPECT_EQ(d->request.headers, headers);
  // Known answer (RFC 4231 case 2) for the helper itself.
  EXPECT_EQ(HmacHex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Generic, UnsignedWithoutAToken) {
  auto d = Format(Spec(Provider::kGeneric), SecretOf("https://hooks.example"), Deployed());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->base_url, "https://hooks.example");
  EXPECT_EQ(d->request.path, "/");
  EXPECT_EQ(d->request.headers,
            (std::map<std::string, std::string>{{"User-Agent", "plumbline"},
                                                {"X-Plumbline-Event", "deployed"}}));
  EXPECT_EQ(Json::parse(d->request.body)["counts"],
            Json::parse(R"({"created": 2, "configured": 1, "deleted": 0, "drifted": 0})"));
  EXPECT_EQ(Json::parse(d->request.body)["traceID"], "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(Github, ACommitStatusWithTheStateOfEachEvent) {
  const std::vector<std::pair<EventType, std::string>> states = {{EventType::kApplying, "pending"},
                                                                 {EventType::kDeployed, "success"},
                                                                 {EventType::kReverted, "success"},
                                                                 {EventType::kRecovered, "success"},
                                                                 {EventType::kFailed, "failure"}};
  for (const auto& [type, state] : states) {
    Event e = type == EventType::kFailed ? Failed() : Deployed();
    e.type = type;
    auto d = Format(Spec(Provider::kGithub), SecretOf("", "ghp_token"), e);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->base_url, "https://api.github.com");
    EXPECT_EQ(d->request.method, "POST");
    EXPECT_EQ(d->request.path, std::string("/repos/acme/deploy/statuses/") + kSha);
    EXPECT_EQ(d->request.content_type, "application/json");
    EXPECT_EQ(d->request.headers,
              (std::map<std::string, std::string>{{"Accept", "application/vnd.github+json"},
                                                  {"Authorization", "Bearer ghp_token"},
                                                  {"User-Agent", "plumbline"}}));
    const Json body = Json::parse(d->request.body);
    EXPECT_EQ(body["state"], state) << ToString(type);
    EXPECT_EQ(body["context"], "plumbline/team/web");
    EXPECT_EQ(body.size(), 3u);
  }
  auto applying = Deployed();
  applying.type = EventType::kApplying;
  auto d = Format(Spec(Provider::kGithub), SecretOf("", "t"), applying);
  EXPECT_EQ(Json::parse(d->request.body)["description"], "team/web: applying");
  d = Format(Spec(Provider::kGithub), SecretOf("", "t"), Deployed());
  EXPECT_EQ(Json::parse(d->request.body)["description"],
            "team/web: deployed (2 created, 1 configured, 0 deleted): applied 3 objects");
  d = Format(Spec(Provider::kGithub), SecretOf("", "t"), Failed());
  EXPECT_EQ(
      Json::parse(d->request.body)["description"],
      "team/web: failed at Render (RenderFailed): kustomize build: <no kustomization> & more");
}

TEST(Github, EnterpriseApiPrefixRepositoryAndContextFromTheSpec) {
  NotifierSpec n = Spec(Provider::kGithub);
  n.repository = "platform/apps";
  n.context = "plumbline/prod";
  Event e = Deployed();
  e.repo_url = "git@ghe.example:someone/else.git";  // spec.repository wins
  auto d = Format(n, SecretOf("https://ghe.example:8443/api/v3/", "t"), e);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->base_url, "https://ghe.example:8443");
  EXPECT_EQ(d->request.path, std::string("/api/v3/repos/platform/apps/statuses/") + kSha);
  EXPECT_EQ(Json::parse(d->request.body)["context"], "plumbline/prod");

  n.repository.clear();
  d = Format(n, SecretOf("https://ghe.example/api/v3", "t"), e);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->request.path, std::string("/api/v3/repos/someone/else/statuses/") + kSha);
}

TEST(Github, DescriptionIsAtMost140Characters) {
  Event e = Failed();
  e.message = "";
  for (int i = 0; i < 300; ++i) e.message += "\xc3\xa9";  // é, two bytes
  auto d = Format(Spec(Provider::kGithub), SecretOf("", "t"), e);
  ASSERT_TRUE(d.ok());
  const std::string description = Json::parse(d->request.body)["description"];
  EXPECT_EQ(Chars(description), 140u);
  EXPECT_TRUE(IsValidUtf8(description));
  EXPECT_EQ(description.substr(description.size() - 3), "\u2026");
  EXPECT_EQ(description.rfind("team/web: failed at Render (RenderFailed): \xc3\xa9", 0), 0u);
}

TEST(Gitlab, ACommitStatusOnTheEscapedProjectPath) {
  const std::vector<std::pair<EventType, std::string>> states = {{EventType::kApplying, "running"},
                                                                 {EventType::kDeployed, "success"},
                                                                 {EventType::kReverted, "success"},
                                                                 {EventType::kRecovered, "success"},
                                                                 {EventType::kFailed, "failed"}};
  for (const auto& [type, state] : states) {
    Event e = Deployed();
    e.type = type;
    e.repo_url = "ssh://git@gitlab.com/group/sub/deploy.git";
    auto d = Format(Spec(Provider::kGitlab), SecretOf("", "glpat-token"), e);
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_EQ(d->base_url, "https://gitlab.com");
    EXPECT_EQ(d->request.path,
              std::string("/api/v4/projects/group%2Fsub%2Fdeploy/statuses/") + kSha);
    EXPECT_EQ(d->request.headers,
              (std::map<std::string, std::string>{{"PRIVATE-TOKEN", "glpat-token"},
                                                  {"User-Agent", "plumbline"}}));
    const Json body = Json::parse(d->request.body);
    EXPECT_EQ(body["state"], state) << ToString(type);
    EXPECT_EQ(body["name"], "plumbline/team/web");
    EXPECT_TRUE(body["description"].is_string());
    EXPECT_EQ(body.size(), 3u);
  }
  NotifierSpec n = Spec(Provider::kGitlab);
  n.repository = "4711";
  n.context = "deploy/prod";
  auto d = Format(n, SecretOf("http://git.example:8080/gitlab/api/v4", "t"), Deployed());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->base_url, "http://git.example:8080");
  EXPECT_EQ(d->request.path, std::string("/gitlab/api/v4/projects/4711/statuses/") + kSha);
  EXPECT_EQ(Json::parse(d->request.body)["name"], "deploy/prod");
}

TEST(Format, AddressForms) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"HTTPS://hooks.example/a/b", "https://hooks.example", "/a/b"},
      {"http://[::1]:9000/h", "http://[::1]:9000", "/h"},
      {"https://hooks.example?x=1", "https://hooks.example", "/?x=1"},
      {"https://hooks.example/a#frag", "https://hooks.example", "/a"},
  };
  for (const auto& [address, base, path] : cases) {
    auto d = Format(Spec(Provider::kGeneric), SecretOf(address), Deployed());
    ASSERT_TRUE(d.ok()) << address << ": " << d.error().message();
    EXPECT_EQ(d->base_url, base) << address;
    EXPECT_EQ(d->request.path, path) << address;
  }
}

TEST(Format, ErrorsSayWhatIsWrongNeverTheAddressOrToken) {
  struct Case {
    Provider provider;
    std::string address, token;
    std::string error;
  };
  const std::vector<Case> cases = {
      {Provider::kSlack, "", "", "the Secret has no address (the Slack webhook URL)"},
      {Provider::kGeneric, "", "TOKENVALUE", "the Secret has no address (the webhook URL)"},
      {Provider::kSlack, "ftp://hooks.example/SECRETPATH", "", "is not an http(s) URL"},
      {Provider::kSlack, "hooks.example/SECRETPATH", "", "is not an http(s) URL"},
      {Provider::kGeneric, "https://user:SECRETPASS@hooks.example/x", "",
       "holds credentials (user:password@)"},
      {Provider::kGeneric, "https://SECRETTOKEN@hooks.example/x", "", "holds credentials"},
      {Provider::kSlack, "https://hooks.example/SECRET PATH", "", "holds a space"},
      {Provider::kSlack, "https://hooks.example/SECRET\nPATH", "", "control"},
      {Provider::kSlack, "https://:443/SECRETPATH", "", "has an invalid host"},
      {Provider::kSlack, "https://hooks_example!/SECRETPATH", "", "has an invalid host"},
      {Provider::kSlack, "https://[::1/SECRETPATH", "", "has an invalid host"},
      {Provider::kSlack, "https://hooks.example:99999/SECRETPATH", "", "has an invalid port"},
      {Provider::kSlack, "https://hooks.example:/SECRETPATH", "", "has an invalid port"},
      {Provider::kSlack, "https://hooks.example:0/SECRETPATH", "", "has an invalid port"},
      {Provider::kGithub, "", "", "the Secret has no token (the GitHub API token)"},
      {Provider::kGitlab, "", "", "the Secret has no token (the GitLab API token)"},
      {Provider::kGithub, "", "SECRET\r\nX-Injected: 1", "the Secret's token holds a space"},
      {Provider::kGithub, "file:///SECRETPATH", "TOKENVALUE",
       "the Secret's address (the GitHub API URL) is not an http(s) URL"},
      {Provider::kGitlab, "https://gitlab.example/api/v4?private_token=SECRET", "TOKENVALUE",
       "the Secret's address (the GitLab API URL) has a query"},
  };
  for (const Case& c : cases) {
    auto d = Format(Spec(c.provider), SecretOf(c.address, c.token), Deployed());
    ASSERT_FALSE(d.ok()) << c.address;
    const std::string& message = d.error().message();
    EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(message.find(c.error), std::string::npos) << message;
    EXPECT_EQ(message.find("SECRET"), std::string::npos) << message;
    EXPECT_EQ(message.find("TOKENVALUE"), std::string::npos) << message;
    EXPECT_EQ(message.find("hooks.example"), std::string::npos) << message;
  }
}

TEST(Format, CommitStatusesNeedAShaAndARepository) {
  Event e = Deployed();
  e.revision = "main";
  auto d = Format(Spec(Provider::kGithub), SecretOf("", "TOKENVALUE"), e);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message(), "the revision is not a full commit sha");
  e.revision = std::string(kSha) + "/../../x";
  EXPECT_FALSE(Format(Spec(Provider::kGitlab), SecretOf("", "t"), e).ok());
  e = Deployed();
  e.repo_url = "https://x-access-token:TOKENVALUE@git.example/only-one-part.git";
  d = Format(Spec(Provider::kGithub), SecretOf("", "t"), e);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message(),
            "the Application's repository URL does not name a GitHub owner/repo: set "
            "spec.repository");
  e.repo_url = "https://git.example/group/sub/r.git";  // three parts: not GitHub's shape
  EXPECT_FALSE(Format(Spec(Provider::kGithub), SecretOf("", "t"), e).ok());
  EXPECT_TRUE(Format(Spec(Provider::kGitlab), SecretOf("", "t"), e).ok());
  e.revision = std::string(64, 'f');  // a SHA-256 repository
  EXPECT_TRUE(Format(Spec(Provider::kGitlab), SecretOf("", "t"), e).ok());
}

TEST(ParseProviderSecret, DecodesAndTrims) {
  // "https://hooks.example/x\n" and " tok "
  const Json secret = Json::parse(R"({"data": {"address": "aHR0cHM6Ly9ob29rcy5leGFtcGxlL3gK",
      "token": "IHRvayA=", "other": "eA=="}})");
  auto s = ParseProviderSecret(secret);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->address, "https://hooks.example/x");
  EXPECT_EQ(s->token, "tok");
  auto empty = ParseProviderSecret(Json::parse(R"({"data": {}})"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->address, "");
  EXPECT_EQ(empty->token, "");
  auto bad = ParseProviderSecret(Json::parse(R"({"data": {"token": "not base64!!SECRET"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "the Secret's data.token is not base64");
  bad = ParseProviderSecret(Json::parse(R"({"data": {"address": 5}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "the Secret's data.address is not base64");
}

}  // namespace
}  // namespace plumbline::notify
