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
  Json j =
      One("a: yes\nb: off\nc: On\nd: ~\ne: null\nf: 42\ng: -0x1f\nh: 0o17\ni: 1_000\nj: 1.5\n"
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
  EXPECT_NE(doc.error().message().find("inf.yaml:1:4"), std::string::npos) << doc.error().message();
}

}  // namespace
}  // namespace plumbline::yaml

namespace plumbline::yaml {
namespace {

TEST(ToYaml, ReadsBackAsTheSameJson) {
  Json j = Json::parse(R"({"s": "plain", "n": 1, "f": 2.5, "b": true, "z": null,
      "looks_like_bool": "yes", "looks_like_number": "0755", "empty": "", "colon": "a: b",
      "dash": "- x", "hash": "#x", "multi": "line1\nline2", "list": [1, "2", {"k": "v"}],
      "nested": {"deep": {"on": "off"}}, "emptylist": [], "emptymap": {}, "cr": "\r\r",
      "tab": "a\tb", "crlf": "line\r\n", "marker": "---   - - x", "end": "... x",
      "image": "nginx:1.27", "url": "http://h/p?q=1#f", "flow": "a[0],{b}", "lead": " x",
      "colon_end": "k:", "space_hash": "a #b"})");
  std::string text = ToYaml(j);
  auto back = ParseDocument(text, "emitted");
  ASSERT_TRUE(back.ok()) << back.error().message() << "\n" << text;
  EXPECT_EQ(*back, j) << text;
}

// YAML allows an implicit key of at most 1,024 characters; a longer key (found by
// test/fuzz/yaml_fuzz.cc) was written as one and did not read back.
// Found by test/fuzz/yaml_fuzz.cc: "!2\"" was a null document, where "~" is no document.
TEST(ParseDocuments, ATaggedEmptyDocumentIsNoDocumentLikeAnyEmptyOne) {
  for (const char* text : {"!2\"", "~", "--- !x\n", "---\n"}) {
    auto docs = ParseDocuments(text, "empty.yaml");
    ASSERT_TRUE(docs.ok()) << text << ": " << docs.error().message();
    EXPECT_TRUE(docs->empty()) << text;
  }
}

TEST(ToYaml, LongKeysReadBack) {
  Json j = Json::object();
  j[std::string(2000, 'k')] = "plain key";
  j[std::string(600, '"')] = "escaped to twice its length";
  j["short"] = {{std::string(1500, 'n'), {1, 2}}};
  std::string text = ToYaml(j);
  auto back = ParseDocument(text, "emitted");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, j);
}

}  // namespace
}  // namespace plumbline::yaml

// Hostile input (CVE-2019-11253 and its relatives): each is an error naming the file, never a crash
// and never an expansion that grows with the attacker's ingenuity rather than the file's size.
namespace plumbline::yaml {
namespace {

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// The classic "billion laughs": nine levels of nine aliases each, 9^9 leaves from 441 bytes.
std::string AliasBomb() {
  std::string text =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    text += std::string(1, c) + ": &" + c + " [" + Repeat("*" + prev + ",", 8) + "*" + prev + "]\n";
  }
  return text;
}

TEST(YamlJsonHostile, AliasCycleIsAnErrorNamingTheFile) {
  for (const std::string& text :
       std::vector<std::string>{"data: &a [*a]\n", "a: &a {b: *a}\n", "&a [x, [y, *a]]\n"}) {
    auto docs = ParseDocuments(text, "cycle.yaml");
    ASSERT_FALSE(docs.ok()) << text;
    EXPECT_EQ(docs.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(docs.error().message().rfind("cycle.yaml:1:", 0), 0u) << docs.error().message();
    EXPECT_NE(docs.error().message().find("cycle"), std::string::npos) << docs.error().message();
  }
}

TEST(YamlJsonHostile, AliasBombIsRefusedBeforeItExpands) {
  std::string text = AliasBomb();
  EXPECT_LE(text.size(), 450u);
  auto docs = ParseDocuments(text, "bomb.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().message().rfind("bomb.yaml:", 0), 0u) << docs.error().message();
  EXPECT_NE(docs.error().message().find("alias"), std::string::npos) << docs.error().message();
}

TEST(YamlJsonHostile, AliasesOfALargeScalarAreCappedByBytes) {
  // Few nodes but many bytes: 1,000 copies of a 64 KiB string would be 64 MiB.
  std::string text =
      "big: &s " + std::string(64 << 10, 'x') + "\ncopies: [" + Repeat("*s,", 999) + "*s]\n";
  auto docs = ParseDocuments(text, "wide.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().message().rfind("wide.yaml:", 0), 0u) << docs.error().message();
}

TEST(YamlJsonHostile, ModerateAliasingAsManifestsUseItStillWorks) {
  // A shared env list reused by many containers: 50 expansions of a 20-entry list.
  std::string text = "env: &env [";
  for (int i = 0; i < 20; ++i) text += "{name: V" + std::to_string(i) + ", value: x},";
  text += "]\ncontainers: [" + Repeat("{env: *env},", 50) + "]\n";
  auto doc = ParseDocument(text, "shared.yaml");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ((*doc)["containers"].size(), 50u);
  EXPECT_EQ((*doc)["containers"][49]["env"][19]["name"], "V19");
}

TEST(YamlJsonHostile, DeepFlowNestingIsAnError) {
  for (const std::string& text :
       std::vector<std::string>{Repeat("[", 100000), Repeat("[", 5000) + Repeat("]", 5000),
                                Repeat("{a: ", 5000) + "1" + Repeat("}", 5000)}) {
    auto docs = ParseDocuments(text, "deep.yaml");
    ASSERT_FALSE(docs.ok());
    EXPECT_EQ(docs.error().message().rfind("deep.yaml:", 0), 0u) << docs.error().message();
  }
}

TEST(YamlJsonHostile, DeepBlockNestingIsAnError) {
  auto docs = ParseDocuments(Repeat("- ", 5000) + "x\n", "deep.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().message().rfind("deep.yaml:", 0), 0u) << docs.error().message();
}

TEST(YamlJsonHostile, NestingWithinTheLimitWorks) {
  auto doc = ParseDocument(Repeat("[", 300) + "1" + Repeat("]", 300), "deep.yaml");
  ASSERT_TRUE(doc.ok()) << doc.error().message();
}

TEST(YamlJsonHostile, AliasesCannotStackDepthPastTheLimit) {
  // Each level is 300 deep and holds the previous one: 300 * 20 levels through aliases.
  std::string text = "l0: &l0 " + Repeat("[", 300) + "1" + Repeat("]", 300) + "\n";
  for (int i = 1; i < 20; ++i) {
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " " + Repeat("[", 300) + "*l" +
            std::to_string(i - 1) + Repeat("]", 300) + "\n";
  }
  auto docs = ParseDocuments(text, "stacked.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().message().rfind("stacked.yaml:", 0), 0u) << docs.error().message();
}

}  // namespace
}  // namespace plumbline::yaml

namespace plumbline::yaml {
namespace {

TEST(YamlJsonHostile, AParserLoopIsAnErrorNotAHang) {
  // yaml-cpp 0.7 reports null nodes without end for this (found by test/fuzz/yaml_fuzz.cc).
  auto docs = ParseDocuments("{},", "loop.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.error().message().rfind("loop.yaml:", 0), 0u) << docs.error().message();
}

}  // namespace
}  // namespace plumbline::yaml
