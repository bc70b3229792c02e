#include "yaml/yaml_json.h"

#include <gtest/gtest.h>

namespace plumbline::yaml {
namespace {

Json One(const std::string& text) {
  auto doc = ParseDocument(text, "test.yaml");
  EXPECT_TRUE(doc.ok()) << doc.error().message();
  return doc.ok() ? *doc : Json();
}

TEST(YamlJson, PlainScalarsFollowKubectlsYaml11Rules) {
  Json j = One(
      "a: yes\nb: off\nc: On\nd: ~\ne: null\nf: 42\ng: -0x1f\nh: 0o17\ni: 1_000\nj: 1.5\n"
      "k: 1e3\nl: hello\nm: 2026-11-22\noctal: 0777\no:\np: y\n");
  EXPECT_EQ(j["a"], true);
  EXPECT_EQ(j["b"], false);
  EXPECT_EQ(j["c"], true);
  EXPECT_TRUE(j["d"].is_null());
  EXPECT_TRUE(j["e"].is_null());
  EXPECT_EQ(j["f"], 42);
  EXPECT_EQ(j["g"], -31);
  EXPECT_EQ(j["h"], 15);
  EXPECT_EQ(j["i"], 1000);
  EXPECT_EQ(j["j"], 1.5);
  EXPECT_EQ(j["k"], 1000);
  EXPECT_EQ(j["l"], "hello");
  EXPECT_EQ(j["m"], "2026-11-22");  // timestamps stay strings
  EXPECT_EQ(j["octal"], 511);
  EXPECT_TRUE(j["o"].is_null());
  EXPECT_EQ(j["p"], true);
}

TEST(YamlJson, QuotedAndBlockScalarsStayStrings) {
  Json j = One("a: \"1\"\nb: 'yes'\nc: |\n  line\nd: !!str 12\ne: \"\"\n");
  EXPECT_EQ(j["a"], "1");
  EXPECT_EQ(j["b"], "yes");
  EXPECT_EQ(j["c"], "line\n");
  EXPECT_EQ(j["d"], "12");
  EXPECT_EQ(j["e"], "");
}

TEST(YamlJson, NonStringKeysBecomeTheirText) {
  // As with kubectl, a plain `y` key is the boolean true, so its JSON key is "true".
  Json j = One("1: a\nyes: b\nn: c\n");
  EXPECT_EQ(j["1"], "a");
  EXPECT_EQ(j["true"], "b");
  EXPECT_EQ(j["false"], "c");
}

TEST(YamlJson, ResolvesMergeKeysAndAliases) {
  Json j = One("base: &b {left: 1, right: 2}\nderived:\n  <<: *b\n  right: 3\nsame: *b\n");
  EXPECT_EQ(j["derived"]["left"], 1);
  EXPECT_EQ(j["derived"]["right"], 3);  // the map's own key wins over the merge
  EXPECT_EQ(j["same"]["right"], 2);
}

TEST(YamlJson, SplitsDocumentsAndSkipsEmptyOnes) {
  auto docs = ParseDocuments("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n", "multi.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().message();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0]["a"], 1);
  EXPECT_EQ((*docs)[1]["b"], 2);
}

TEST(YamlJson, DuplicateKeysAreAnErrorNamingFileAndLine) {
  auto doc = ParseDocument("a: 1\nb: 2\na: 3\n", "dup.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().message(), "dup.yaml:3:1: duplicate key \"a\"");
}

TEST(YamlJson, SyntaxErrorsNameFileAndLine) {
  auto doc = ParseDocuments("a: 1\nb: [unclosed\nc: 3\n", "broken.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(doc.error().message().rfind("broken.yaml:", 0), 0u) << doc.error().message();
  EXPECT_NE(doc.error().message().find("invalid YAML"), std::string::npos);
}

TEST(YamlJson, InfinityCannotBeJson) {
  auto doc = ParseDocument("a: .inf\n", "inf.yaml");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.error().message().find("inf.yaml:1:4"), std::string::npos)
      << doc.error().message();
}

}  // namespace
}  // namespace plumbline::yaml

namespace plumbline::yaml {
namespace {

TEST(ToYaml, ReadsBackAsTheSameJson) {
  Json j = Json::parse(R"({"s": "plain", "n": 1, "f": 2.5, "b": true, "z": null,
      "looks_like_bool": "yes", "looks_like_number": "0755", "empty": "", "colon": "a: b",
      "dash": "- x", "hash": "#x", "multi": "line1\nline2", "list": [1, "2", {"k": "v"}],
      "nested": {"deep": {"on": "off"}}, "emptylist": [], "emptymap": {}})");
  std::string text = ToYaml(j);
  auto back = ParseDocument(text, "emitted");
  ASSERT_TRUE(back.ok()) << back.error().message() << "\n" << text;
  EXPECT_EQ(*back, j) << text;
}

}  // namespace
}  // namespace plumbline::yaml
