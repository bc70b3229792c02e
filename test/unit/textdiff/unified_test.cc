#include "textdiff/unified.h"

#include <gtest/gtest.h>

namespace plumbline::textdiff {
namespace {

TEST(Unified, EqualTextsHaveNoHunks) { EXPECT_EQ(Unified("a\nb\n", "a\nb\n"), ""); }

TEST(Unified, OneChangedLineWithContext) {
  const std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  const std::string after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
  EXPECT_EQ(Unified(before, after), "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(Unified, FarApartChangesAreSeparateHunks) {
  std::string before, after;
  for (int i = 1; i <= 20; ++i) {
    before += std::to_string(i) + "\n";
    after += (i == 2 || i == 18 ? "x" : std::to_string(i)) + "\n";
  }
  EXPECT_EQ(Unified(before, after),
            "@@ -1,5 +1,5 @@\n 1\n-2\n+x\n 3\n 4\n 5\n"
            "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+x\n 19\n 20\n");
}

TEST(Unified, CreationAndDeletionOfEverything) {
  EXPECT_EQ(Unified("", "a\nb\n"), "@@ -0,0 +1,2 @@\n+a\n+b\n");
  EXPECT_EQ(Unified("a\n", ""), "@@ -1 +0,0 @@\n-a\n");
}

}  // namespace
}  // namespace plumbline::textdiff
