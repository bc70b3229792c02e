#include "common/redact.h"

#include <gtest/gtest.h>

namespace plumbline {
namespace {

TEST(RedactUrls, ReplacesUserAndPasswordOfEveryUrl) {
  EXPECT_EQ(RedactUrls("https://user:s3cret@git.example.com/org/repo.git"),
            "https://***@git.example.com/org/repo.git");
  EXPECT_EQ(RedactUrls("fetching http://a:b@h1/x failed; mirror http://c:d@h2:8080/y too"),
            "fetching http://***@h1/x failed; mirror http://***@h2:8080/y too");
}

TEST(RedactUrls, ReplacesALoneTokenExceptAnSshLoginName) {
  EXPECT_EQ(RedactUrls("https://ghp_abc123@github.com/o/r"), "https://***@github.com/o/r");
  EXPECT_EQ(RedactUrls("ssh://git@github.com/o/r"), "ssh://git@github.com/o/r");
  EXPECT_EQ(RedactUrls("ssh://git:pw@github.com/o/r"), "ssh://***@github.com/o/r");
  EXPECT_EQ(RedactUrls("SSH://git@host/r"), "SSH://git@host/r");
}

TEST(RedactUrls, KeepsAPasswordWhole) {
  // '@' and ':' and ',' in a password: the last '@' before the path ends the userinfo.
  EXPECT_EQ(RedactUrls("https://u:p@ss,w:rd@host/r"), "https://***@host/r");
  EXPECT_EQ(RedactUrls("(https://u:tok)@host)"), "(https://***@host)");
  EXPECT_EQ(RedactUrls("\"https://u:tok@host\""), "\"https://***@host\"");
  EXPECT_EQ(RedactUrls("https://u:tok@host?x=1"), "https://***@host?x=1");
}

TEST(RedactUrls, LeavesTextWithoutCredentialsAlone) {
  for (const char* text :
       {"", "no url here", "https://host/path?a=b@c", "git@github.com:o/r.git", "file:///var/repo",
        "://u:p@host", "mail me at a@b.c", "https://***@host/r"}) {
    EXPECT_EQ(RedactUrls(text), text);
  }
}

TEST(RedactUrls, IsIdempotent) {
  const std::string once = RedactUrls("x https://u:t@h/p y http://t@h2");
  EXPECT_EQ(RedactUrls(once), once);
  EXPECT_EQ(once, "x https://***@h/p y http://***@h2");
}

TEST(Utf8, ValidTextIsUnchanged) {
  const std::string text = "plain, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80";
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(ValidUtf8(text), text);
}

TEST(Utf8, EachBadByteBecomesAReplacementCharacter) {
  EXPECT_FALSE(
      IsValidUtf8("a\xff"
                  "b"));
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(ValidUtf8("\xc3"), "\xef\xbf\xbd");                                  // truncated
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(ValidUtf8("\xf4\x90\x80\x80").size(), 12u);                          // past U+10FFFF
  EXPECT_TRUE(IsValidUtf8(ValidUtf8("\xfe\xfe\xe2\x82")));
}

TEST(Utf8, FindsThePathOfTheFirstBadString) {
  Json ok = {{"data", {{"a", "x"}}}, {"items", {"y", 1}}};
  EXPECT_FALSE(FindInvalidUtf8(ok).has_value());
  Json bad = {{"data", {{"a", "x"}, {"b", "caf\xe9"}}}};
  EXPECT_EQ(FindInvalidUtf8(bad).value_or(""), "data.b");
  Json in_list = {{"items", {"ok", "\xff"}}};
  EXPECT_EQ(FindInvalidUtf8(in_list).value_or(""), "items[1]");
}

TEST(MakeSafe, RedactsAndRepairsEveryStringSoTheJsonDumps) {
  Json status = {{"message", "fetching https://u:tok@h/r: \xff"},
                 {"history", {{{"message", "caf\xe9"}}}},
                 {"count", 3}};
  EXPECT_THROW((void)status.dump(), Json::type_error);
  MakeSafe(&status);
  const std::string text = status.dump();
  EXPECT_EQ(text.find("tok"), std::string::npos) << text;
  EXPECT_EQ(status["message"], "fetching https://***@h/r: \xef\xbf\xbd");
  EXPECT_EQ(status["count"], 3);
}

}  // namespace
}  // namespace plumbline
