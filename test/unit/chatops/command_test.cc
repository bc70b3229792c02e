#include "chatops/command.h"

#include <gtest/gtest.h>

namespace plumbline::chatops {
namespace {

std::map<std::string, std::string> Form(const std::string& text) {
  return {{"user_id", "U1"},
          {"user_name", "alice"},
          {"channel_id", "C1"},
          {"response_url", "https://hooks.slack.com/commands/T1/1/abc"},
          {"text", text}};
}

Result<Command> Parse(const std::string& text, const std::string& default_ns = "apps") {
  return ParseCommand(Form(text), default_ns);
}

std::string ErrorOf(const std::string& text, const std::string& default_ns = "apps") {
  Result<Command> c = Parse(text, default_ns);
  EXPECT_FALSE(c.ok()) << text;
  if (c.ok()) return "";
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  return c.error().message();
}

TEST(Verb, NamesReadBack) {
  ASSERT_EQ(AllVerbs().size(), 7u);
  for (Verb v : AllVerbs()) EXPECT_EQ(ParseVerb(ToString(v)), v);
  EXPECT_EQ(ToString(Verb::kRollback), std::string("rollback"));
  EXPECT_EQ(VerbNames(), "status, history, sync, rollback, suspend, resume, help");
  EXPECT_FALSE(ParseVerb("Sync").has_value());
  EXPECT_FALSE(ParseVerb("").has_value());
}

TEST(ParseCommand, ReadsEveryVerbOnAnApplication) {
  const std::pair<const char*, Verb> cases[] = {
      {"status", Verb::kStatus},     {"history", Verb::kHistory}, {"sync", Verb::kSync},
      {"rollback", Verb::kRollback}, {"suspend", Verb::kSuspend}, {"resume", Verb::kResume}};
  for (const auto& [word, verb] : cases) {
    Result<Command> c = Parse(std::string(word) + " team-a/web");
    ASSERT_TRUE(c.ok()) << word << ": " << c.error().message();
    EXPECT_EQ(c->verb, verb);
    EXPECT_EQ(c->ns, "team-a");
    EXPECT_EQ(c->name, "web");
    EXPECT_EQ(c->sha, "");
    EXPECT_EQ(CommandLine(*c), std::string(word) + " team-a/web");
  }
  Result<Command> c = Parse("  SYNC\tteam-a/web.v2  ");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->verb, Verb::kSync);
  EXPECT_EQ(c->name, "web.v2");
  EXPECT_EQ(c->user_id, "U1");
  EXPECT_EQ(c->user_name, "alice");
  EXPECT_EQ(c->channel_id, "C1");
  EXPECT_EQ(c->response_url, "https://hooks.slack.com/commands/T1/1/abc");
  EXPECT_EQ(c->text, "  SYNC\tteam-a/web.v2  ");
}

TEST(ParseCommand, EmptyTextAndHelpAreHelp) {
  for (const char* text : {"", "   ", "help", "HELP"}) {
    Result<Command> c = Parse(text);
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_EQ(c->verb, Verb::kHelp);
    EXPECT_EQ(CommandLine(*c), "help");
  }
  // Help posts nothing later: it needs no response_url.
  auto form = Form("help");
  form.erase("response_url");
  EXPECT_TRUE(ParseCommand(form, "").ok());
  EXPECT_NE(HelpText().find("rollback"), std::string::npos);
}

TEST(ParseCommand, ANameAloneIsInTheDefaultNamespace) {
  Result<Command> c = Parse("status web", "team-a");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ns, "team-a");
  EXPECT_EQ(c->name, "web");
  EXPECT_NE(ErrorOf("status web", "").find("namespace"), std::string::npos);
}

TEST(ParseCommand, RollbackTakesAnOptionalFullSha) {
  const std::string sha = "0123456789abcdef0123456789abcdef01234567";
  Result<Command> c = Parse("rollback team-a/web " + sha);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sha, sha);
  EXPECT_EQ(CommandLine(*c), "rollback team-a/web " + sha);
  c = Parse("rollback web 0123456789ABCDEF0123456789ABCDEF01234567");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sha, sha);  // lower case, as git writes it
  c = Parse("rollback web");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sha, "");

  for (const std::string& bad :
       std::vector<std::string>{sha.substr(0, 7), sha.substr(0, 39), sha + "8",
                                "g123456789abcdef0123456789abcdef01234567", "HEAD~1"}) {
    EXPECT_NE(ErrorOf("rollback web " + bad).find("40 hex digits"), std::string::npos) << bad;
  }
  // Only rollback takes a SHA.
  EXPECT_NE(ErrorOf("sync web " + sha).find("too many words"), std::string::npos);
}

TEST(ParseCommand, RefusesExtraOrMissingWords) {
  const std::string sha = "0123456789abcdef0123456789abcdef01234567";
  EXPECT_NE(ErrorOf("status a/b c").find("too many words after status (\"c\")"), std::string::npos);
  EXPECT_NE(ErrorOf("rollback a/b " + sha + " now").find("\"now\""), std::string::npos);
  EXPECT_NE(ErrorOf("help me").find("help takes nothing"), std::string::npos);
  EXPECT_NE(ErrorOf("sync").find("sync needs an Application"), std::string::npos);
  EXPECT_NE(ErrorOf("rollback").find("[COMMIT-SHA]"), std::string::npos);
}

TEST(ParseCommand, RefusesNamesKubernetesWouldNot) {
  for (const char* text : {"status Team/web", "status team_a/web", "status -a/web", "status a-/web",
                           "status /web", "status a.b/web"}) {
    EXPECT_NE(ErrorOf(text).find("is not a namespace"), std::string::npos) << text;
  }
  for (const char* text : {"status a/Web", "status a/", "status a/b/c", "status a/.web",
                           "status a/web.", "status a/we..b", "status web_1", "status a/we$b"}) {
    EXPECT_NE(ErrorOf(text).find("is not an Application name"), std::string::npos) << text;
  }
  EXPECT_TRUE(Parse("status " + std::string(63, 'a') + "/web").ok());
  EXPECT_FALSE(Parse("status " + std::string(64, 'a') + "/web").ok());
  const std::string label(63, 'b');
  const std::string longest = label + "." + label + "." + label + "." + std::string(61, 'c');
  ASSERT_EQ(longest.size(), 253u);
  EXPECT_TRUE(Parse("status a/" + longest).ok());
  EXPECT_FALSE(Parse("status a/" + longest + "c").ok());
  EXPECT_FALSE(Parse("status a/" + std::string(64, 'b')).ok());  // a label past 63
}

TEST(ParseCommand, AnUnknownVerbListsTheVerbs) {
  std::string message = ErrorOf("deploy team-a/web");
  EXPECT_NE(message.find("unknown command \"deploy\""), std::string::npos);
  EXPECT_NE(message.find("status, history, sync, rollback, suspend, resume, help"),
            std::string::npos);
  // Quoted input is bounded.
  EXPECT_LT(ErrorOf(std::string(5000, 'x')).size(), 300u);
}

TEST(ParseCommand, NeedsWhoWhereAndWhereToAnswer) {
  auto without = [](const char* key) {
    auto form = Form("sync a/b");
    form.erase(key);
    return ParseCommand(form, "");
  };
  EXPECT_FALSE(without("user_id").ok());
  EXPECT_FALSE(without("channel_id").ok());
  EXPECT_FALSE(without("response_url").ok());
  EXPECT_TRUE(without("user_name").ok());
  for (const char* url : {"ftp://h/x", "hooks.slack.com/x", "javascript:x", ""}) {
    auto form = Form("sync a/b");
    form["response_url"] = url;
    EXPECT_FALSE(ParseCommand(form, "").ok()) << url;
  }
  auto form = Form("sync a/b");
  form["response_url"] = "http://slack.internal/commands/1";
  EXPECT_TRUE(ParseCommand(form, "").ok());
  // IDs go into mentions (<@U1>): nothing that could close one.
  form = Form("sync a/b");
  form["user_id"] = "U1> <!channel";
  EXPECT_FALSE(ParseCommand(form, "").ok());
  form = Form("sync a/b");
  form["channel_id"] = "C1|x";
  EXPECT_FALSE(ParseCommand(form, "").ok());
}

}  // namespace
}  // namespace plumbline::chatops
