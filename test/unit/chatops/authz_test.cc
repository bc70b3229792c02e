#include "chatops/authz.h"

#include <gtest/gtest.h>

namespace plumbline::chatops {
namespace {

Command Cmd(Verb verb, const std::string& app, const std::string& user = "U1",
            const std::string& channel = "C1") {
  Command c;
  c.verb = verb;
  c.ns = app.substr(0, app.find('/'));
  c.name = app.substr(app.find('/') + 1);
  c.user_id = user;
  c.channel_id = channel;
  return c;
}

Authorizer MustParse(const std::string& yaml) {
  Result<Authorizer> a = Authorizer::Parse(yaml);
  EXPECT_TRUE(a.ok()) << a.error().message();
  return a.ok() ? *a : Authorizer();
}

std::string ErrorOf(const std::string& yaml) {
  Result<Authorizer> a = Authorizer::Parse(yaml);
  EXPECT_FALSE(a.ok()) << yaml;
  if (a.ok()) return "";
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidArgument);
  return a.error().message();
}

const char kRules[] = R"(
rules:
- users: [U1]
  channels: [C1]
  applications: ["team-a/web"]
  verbs: [status, sync]
)";

TEST(Authorizer, DeniesEverythingButHelpWithoutRules) {
  for (const char* yaml : {"", "rules: []", "rules:", "# nobody yet\n"}) {
    Authorizer a = MustParse(yaml);
    EXPECT_TRUE(a.rules().empty()) << yaml;
    for (Verb v : AllVerbs()) {
      EXPECT_EQ(a.Allows(Cmd(v, "team-a/web")), v == Verb::kHelp) << yaml << " " << ToString(v);
    }
  }
  EXPECT_FALSE(Authorizer().Allows(Cmd(Verb::kStatus, "a/b")));
}

TEST(Authorizer, ARuleMatchesOnlyWhenEveryDimensionDoes) {
  Authorizer a = MustParse(kRules);
  ASSERT_EQ(a.rules().size(), 1u);
  EXPECT_TRUE(a.Allows(Cmd(Verb::kStatus, "team-a/web")));
  EXPECT_TRUE(a.Allows(Cmd(Verb::kSync, "team-a/web")));
  EXPECT_FALSE(a.Allows(Cmd(Verb::kSync, "team-a/web", "U2")));        // user
  EXPECT_FALSE(a.Allows(Cmd(Verb::kSync, "team-a/web", "U1", "C2")));  // channel
  EXPECT_FALSE(a.Allows(Cmd(Verb::kSync, "team-a/api")));              // application
  EXPECT_FALSE(a.Allows(Cmd(Verb::kSync, "team-b/web")));              // its namespace
  EXPECT_FALSE(a.Allows(Cmd(Verb::kRollback, "team-a/web")));          // verb
  EXPECT_TRUE(a.Allows(Cmd(Verb::kHelp, "", "U9", "C9")));             // help: anyone
}

TEST(Authorizer, WildcardsMatchAnything) {
  Authorizer a = MustParse(R"(
rules:
- users: ["*"]
  channels: [C1]
  applications: ["team-a/*"]
  verbs: [status]
- users: [U1]
  channels: ["*"]
  applications: ["*"]
  verbs: ["*"]
)");
  EXPECT_TRUE(a.Allows(Cmd(Verb::kStatus, "team-a/anything", "U7")));
  EXPECT_FALSE(a.Allows(Cmd(Verb::kStatus, "team-a/anything", "U7", "C2")));
  EXPECT_FALSE(a.Allows(Cmd(Verb::kSync, "team-a/anything", "U7")));
  // "team-a/*" is that namespace, not a prefix of names.
  EXPECT_FALSE(a.Allows(Cmd(Verb::kStatus, "team-ab/web", "U7")));
  EXPECT_FALSE(a.Allows(Cmd(Verb::kStatus, "team/a-web", "U7")));
  for (Verb v : AllVerbs()) {
    EXPECT_TRUE(a.Allows(Cmd(v, "any-ns/any-app", "U1", "C42"))) << ToString(v);
  }
  EXPECT_FALSE(a.Allows(Cmd(Verb::kStatus, "any-ns/any-app", "U2", "C42")));
}

TEST(Authorizer, AnEmptyListMatchesNothing) {
  Authorizer a = MustParse(R"(
rules:
- {users: ["*"], channels: [], applications: ["*"], verbs: ["*"]}
- {users: [], channels: ["*"], applications: ["*"], verbs: ["*"]}
- {users: ["*"], channels: ["*"], applications: [], verbs: ["*"]}
- {users: ["*"], channels: ["*"], applications: ["*"], verbs: []}
)");
  EXPECT_EQ(a.rules().size(), 4u);
  EXPECT_FALSE(a.Allows(Cmd(Verb::kStatus, "a/b")));
}

TEST(Authorizer, RefusesUnknownFieldsAndVerbs) {
  EXPECT_NE(ErrorOf("rules:\n- {users: [U1], channels: [C1], applications: [\"*\"], verb: [sync]}")
                .find("rule 1: unknown field \"verb\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("rule:\n- {users: [U1]}").find("unknown field \"rule\""), std::string::npos);
  std::string message = ErrorOf(R"(
rules:
- {users: [U1], channels: [C1], applications: ["*"], verbs: [status]}
- {users: [U1], channels: [C1], applications: ["*"], verbs: [status, deploy]}
)");
  EXPECT_NE(message.find("rule 2: verbs: unknown verb \"deploy\""), std::string::npos) << message;
  EXPECT_NE(message.find("status, history, sync"), std::string::npos);
  // Verbs are spelled as the commands are.
  EXPECT_FALSE(Authorizer::Parse(
                   "rules: [{users: [U1], channels: [C1], applications: [a/b], verbs: [Sync]}]")
                   .ok());
}

TEST(Authorizer, RefusesRulesThatCouldNotMeanWhatTheySay) {
  const auto rule = [](const std::string& users, const std::string& channels,
                       const std::string& apps, const std::string& verbs) {
    return "rules:\n- users: " + users + "\n  channels: " + channels + "\n  applications: " + apps +
           "\n  verbs: " + verbs + "\n";
  };
  EXPECT_TRUE(Authorizer::Parse(rule("[U1]", "[C1]", "[a/b]", "[sync]")).ok());
  // A field left out would silently deny.
  EXPECT_NE(ErrorOf("rules:\n- {users: [U1], applications: [a/b], verbs: [sync]}")
                .find("channels is missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf(rule("U1", "[C1]", "[a/b]", "[sync]")).find("users must be a list"),
            std::string::npos);
  // A user name is not an ID: it would never match.
  EXPECT_NE(ErrorOf(rule("[alice]", "[C1]", "[a/b]", "[sync]")).find("not a Slack user ID"),
            std::string::npos);
  EXPECT_NE(ErrorOf(rule("[U1]", "[\"#deploys\"]", "[a/b]", "[sync]")).find("not a Slack channel"),
            std::string::npos);
  for (const char* app : {"[web]", "[a/]", "[\"*/web\"]", "[\"a/*/b\"]", "[A/b]", "[\"a*\"]"}) {
    EXPECT_NE(ErrorOf(rule("[U1]", "[C1]", app, "[sync]")).find("applications:"), std::string::npos)
        << app;
  }
  // YAML 1.1 reads `on` as a boolean.
  EXPECT_NE(ErrorOf(rule("[U1]", "[C1]", "[a/b]", "[on]")).find("true is not a string"),
            std::string::npos);
  EXPECT_NE(ErrorOf("rules: {users: [U1]}").find("rules must be a list"), std::string::npos);
  EXPECT_NE(ErrorOf("rules: [[U1]]").find("rule 1: must be a map"), std::string::npos);
  EXPECT_NE(ErrorOf("[1, 2]").find("must be a map"), std::string::npos);
  EXPECT_FALSE(Authorizer::Parse("rules: [").ok());  // not YAML
}

}  // namespace
}  // namespace plumbline::chatops
