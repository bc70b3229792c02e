#include "common/rfc3339.h"

#include <gtest/gtest.h>

namespace plumbline {
namespace {

TEST(Rfc3339, ParsesZuluOffsetsAndFractions) {
  auto z = ParseRfc3339("2026-11-22T20:05:22Z");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(FormatRfc3339(*z), "2026-11-22T20:05:22Z");
  auto offset = ParseRfc3339("2026-11-22T21:05:22.123+01:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(FormatRfc3339(*offset), "2026-11-22T20:05:22Z");
  auto negative = ParseRfc3339("2018-03-05T17:30:20-08:00");
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(FormatRfc3339(*negative), "2018-03-06T01:30:20Z");
}

TEST(Rfc3339, RejectsMalformedTimes) {
  EXPECT_FALSE(ParseRfc3339("yesterday").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-22T20:05:22").ok());  // no zone
  EXPECT_FALSE(ParseRfc3339("2026-11-22T20:05:22Zjunk").ok());
}

}  // namespace
}  // namespace plumbline
