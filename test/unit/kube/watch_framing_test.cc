// Watch line framing and event parsing.
#include <gtest/gtest.h>

#include "kube/watch.h"

namespace plumbline::kube {
namespace {

TEST(LineFramer, ReassemblesLinesSplitAcrossChunks) {
  LineFramer framer;
  framer.Append("{\"a\":");
  EXPECT_FALSE(framer.Next().has_value());
  framer.Append("1}\n{\"b\"");
  EXPECT_EQ(framer.Next(), "{\"a\":1}");
  EXPECT_FALSE(framer.Next().has_value());
  framer.Append(":2}\r\n{\"c\":3}\n\n");
  EXPECT_EQ(framer.Next(), "{\"b\":2}");
  EXPECT_EQ(framer.Next(), "{\"c\":3}");
  EXPECT_EQ(framer.Next(), "");
  EXPECT_FALSE(framer.Next().has_value());
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(LineFramer, ByteAtATimeGivesTheSameLines) {
  std::string stream = "{\"type\":\"ADDED\"}\n{\"type\":\"DELETED\"}\n";
  LineFramer framer;
  std::vector<std::string> lines;
  for (char c : stream) {
    framer.Append(std::string_view(&c, 1));
    while (auto line = framer.Next()) lines.push_back(*line);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"type\":\"ADDED\"}", "{\"type\":\"DELETED\"}"}));
}

TEST(LineFramer, DoesNotGrowWithoutBound) {
  LineFramer framer;
  std::string line(1000, 'x');
  line += '\n';
  for (int i = 0; i < 10000; ++i) {
    framer.Append(line);
    ASSERT_TRUE(framer.Next().has_value());
    ASSERT_FALSE(framer.Next().has_value());  // compacts
    ASSERT_EQ(framer.buffered(), 0u);
  }
}

TEST(ParseWatchEvent, ReadsEveryEventType) {
  struct Case {
    const char* type;
    WatchEvent::Type expected;
  } cases[] = {{"ADDED", WatchEvent::Type::kAdded},
               {"MODIFIED", WatchEvent::Type::kModified},
               {"DELETED", WatchEvent::Type::kDeleted},
               {"BOOKMARK", WatchEvent::Type::kBookmark},
               {"ERROR", WatchEvent::Type::kError}};
  for (const auto& c : cases) {
    auto e = ParseWatchEvent(std::string("{\"type\":\"") + c.type +
                             "\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}");
    ASSERT_TRUE(e.ok()) << c.type;
    EXPECT_EQ(e->type, c.expected);
    EXPECT_EQ(e->object["metadata"]["resourceVersion"], "7");
  }
}

TEST(ParseWatchEvent, RejectsMalformedLines) {
  EXPECT_FALSE(ParseWatchEvent("not json").ok());
  EXPECT_FALSE(ParseWatchEvent("{\"type\":\"ADDED\"}").ok());
  EXPECT_FALSE(ParseWatchEvent("{\"type\":\"EXPLODED\",\"object\":{}}").ok());
}

}  // namespace
}  // namespace plumbline::kube
