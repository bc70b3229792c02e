#include "chatops/slack.h"

#include <gtest/gtest.h>

#include "webhook/signature.h"

namespace plumbline::chatops {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// The example in Slack's "Verifying requests from Slack".
const char kSlackSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
const char kSlackTimestamp[] = "1531420618";
const char kSlackBody[] =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
    "803a0bc887a14d10d2c447fce8b6703c";
const char kSlackSignature[] =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

const system_clock::time_point kNow{seconds(1800000000)};

std::string Sign(const std::string& secret, const std::string& ts, const std::string& body) {
  return "v0=" + webhook::HmacSha256Hex(secret, "v0:" + ts + ":" + body);
}

std::map<std::string, std::string> Headers(const std::string& ts, const std::string& sig) {
  return {{"x-slack-request-timestamp", ts}, {"x-slack-signature", sig}};
}

TEST(VerifySlackRequest, AcceptsSlacksOwnExample) {
  const system_clock::time_point at{seconds(std::stoll(kSlackTimestamp) + 10)};
  Status s =
      VerifySlackRequest(kSlackSecret, Headers(kSlackTimestamp, kSlackSignature), kSlackBody, at);
  EXPECT_TRUE(s.ok()) << s.error().message();
}

TEST(VerifySlackRequest, AcceptsAValidSignatureInEitherCase) {
  const std::string ts = "1800000000", body = "text=sync+team-a%2Fweb";
  std::string sig = Sign("s3cret", ts, body);
  EXPECT_TRUE(VerifySlackRequest("s3cret", Headers(ts, sig), body, kNow).ok());
  for (size_t i = 3; i < sig.size(); ++i) sig[i] = static_cast<char>(std::toupper(sig[i]));
  EXPECT_TRUE(VerifySlackRequest("s3cret", Headers(ts, sig), body, kNow).ok());
}

TEST(VerifySlackRequest, RefusesAForgedByteAWrongSecretAndAnotherBody) {
  const std::string ts = "1800000000", body = "text=sync+team-a%2Fweb";
  const std::string sig = Sign("s3cret", ts, body);
  for (size_t i : {size_t{3}, sig.size() / 2, sig.size() - 1}) {
    std::string forged = sig;
    forged[i] = forged[i] == '0' ? '1' : '0';
    Status s = VerifySlackRequest("s3cret", Headers(ts, forged), body, kNow);
    ASSERT_FALSE(s.ok()) << "byte " << i;
    EXPECT_EQ(s.error().code(), ErrorCode::kUnauthorized);
    EXPECT_NE(s.error().message().find("does not match"), std::string::npos);
  }
  EXPECT_FALSE(VerifySlackRequest("other", Headers(ts, sig), body, kNow).ok());
  EXPECT_FALSE(VerifySlackRequest("s3cret", Headers(ts, sig), body + "x", kNow).ok());
  EXPECT_FALSE(
      VerifySlackRequest("s3cret", Headers(ts, sig.substr(0, sig.size() - 1)), body, kNow).ok());
  // The timestamp is signed too: a signature cannot be moved to another one.
  EXPECT_FALSE(VerifySlackRequest("s3cret", Headers("1800000001", sig), body, kNow).ok());
}

TEST(VerifySlackRequest, RefusesTimestampsOutsideTheWindowEitherWay) {
  const std::string body = "text=status+a%2Fb";
  auto at = [&](int64_t offset, seconds window) {
    const std::string ts = std::to_string(1800000000 + offset);
    return VerifySlackRequest("s3cret", Headers(ts, Sign("s3cret", ts, body)), body, kNow, window);
  };
  EXPECT_TRUE(at(-300, seconds(300)).ok());
  EXPECT_TRUE(at(300, seconds(300)).ok());
  for (int64_t offset : {-301, 301, -86400, 86400}) {
    Status s = at(offset, seconds(300));
    ASSERT_FALSE(s.ok()) << offset;
    EXPECT_EQ(s.error().code(), ErrorCode::kTimeout) << offset;
    EXPECT_NE(s.error().message().find("stale"), std::string::npos);
    EXPECT_NE(s.error().message().find(offset < 0 ? "old" : "ahead"), std::string::npos);
  }
  EXPECT_FALSE(at(-11, seconds(10)).ok());
  EXPECT_TRUE(at(-10, seconds(10)).ok());
  // The default window is five minutes.
  const std::string old = "1799999699";
  EXPECT_FALSE(
      VerifySlackRequest("s3cret", Headers(old, Sign("s3cret", old, body)), body, kNow).ok());
}

TEST(VerifySlackRequest, RefusesMissingOrMalformedHeadersSayingWhich) {
  const std::string ts = "1800000000", body = "a=b";
  const std::string sig = Sign("s3cret", ts, body);
  auto message = [&](const std::map<std::string, std::string>& headers) {
    Status s = VerifySlackRequest("s3cret", headers, body, kNow);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.ok() ? ErrorCode::kOk : s.error().code(), ErrorCode::kUnauthorized);
    return s.ok() ? std::string() : s.error().message();
  };
  EXPECT_EQ(message({{"x-slack-signature", sig}}), "missing x-slack-request-timestamp header");
  EXPECT_EQ(message({{"x-slack-request-timestamp", ts}}), "missing x-slack-signature header");
  EXPECT_EQ(message(Headers("", sig)), "missing x-slack-request-timestamp header");
  for (const std::string bad : {"18e8", "-1800000000", "+1800000000", " 1800000000", "1800000000.5",
                                "99999999999999999999999"}) {
    EXPECT_EQ(message(Headers(bad, Sign("s3cret", bad, body))),
              "x-slack-request-timestamp is not a number of seconds")
        << bad;
  }
  // Another version of the scheme, with the right digest, is not v0.
  EXPECT_EQ(message(Headers(ts, "v1=" + sig.substr(3))),
            "x-slack-signature is not a v0= signature");
  EXPECT_EQ(message(Headers(ts, sig.substr(3))), "x-slack-signature is not a v0= signature");
}

TEST(VerifySlackRequest, AnEmptySecretVerifiesNothing) {
  const std::string ts = "1800000000", body = "a=b";
  Status s = VerifySlackRequest("", Headers(ts, Sign("", ts, body)), body, kNow);
  EXPECT_FALSE(s.ok());
}

TEST(ParseForm, DecodesPlusAndPercentEscapes) {
  auto form = ParseForm("text=sync+team-a%2Fweb&url=https%3a%2F%2Fh.example%2Fx&user%5Fid=U1");
  EXPECT_EQ(form["text"], "sync team-a/web");
  EXPECT_EQ(form["url"], "https://h.example/x");
  EXPECT_EQ(form["user_id"], "U1");
  EXPECT_EQ(form.size(), 3u);
  EXPECT_EQ(ParseForm("a=%C3%A9%2B")["a"], "é+");
}

TEST(ParseForm, KeepsBadEscapesLiterally) {
  auto form = ParseForm("a=100%&b=%zz&c=%4&d=%%41&e=%4g");
  EXPECT_EQ(form["a"], "100%");
  EXPECT_EQ(form["b"], "%zz");
  EXPECT_EQ(form["c"], "%4");
  EXPECT_EQ(form["d"], "%A");
  EXPECT_EQ(form["e"], "%4g");
}

TEST(ParseForm, FirstOfRepeatedKeysWinsAndOddPairsAreRead) {
  auto form = ParseForm("&k=1&&k=2&flag&eq=a=b&=v&");
  EXPECT_EQ(form["k"], "1");
  EXPECT_EQ(form.at("flag"), "");
  EXPECT_EQ(form["eq"], "a=b");
  EXPECT_EQ(form[""], "v");
  EXPECT_EQ(form.size(), 4u);
  EXPECT_TRUE(ParseForm("").empty());
  // Slack's example body.
  auto slack = ParseForm(kSlackBody);
  EXPECT_EQ(slack["command"], "/webhook-collect");
  EXPECT_EQ(slack["text"], "");
  EXPECT_EQ(slack["response_url"],
            "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN");
}

}  // namespace
}  // namespace plumbline::chatops
