#include "cli/flags.h"

#include <gtest/gtest.h>

namespace plumbline::cli {
namespace {

Flags Sample() {
  Flags flags("Usage: test");
  flags.Add("name", "default", "a name")
      .Add("verbose", "", "talk more", true)
      .Add("qps", "5", "rate");
  return flags;
}

TEST(Flags, ParsesBothFormsBooleansAndPositionals) {
  Flags flags = Sample();
  ASSERT_TRUE(flags.Parse({"app1", "--name", "x", "--verbose", "--qps=2.5", "app2"}).ok());
  EXPECT_EQ(flags.Get("name"), "x");
  EXPECT_TRUE(flags.GetBool("verbose"));
  EXPECT_EQ(*flags.GetDouble("qps"), 2.5);
  EXPECT_EQ(flags.positional(), (std::vector<std::string>{"app1", "app2"}));
}

TEST(Flags, DefaultsAndHelp) {
  Flags flags = Sample();
  ASSERT_TRUE(flags.Parse({"--help"}).ok());
  EXPECT_TRUE(flags.help_requested());
  EXPECT_EQ(flags.Get("name"), "default");
  EXPECT_NE(flags.Help().find("--name VALUE"), std::string::npos);
  EXPECT_NE(flags.Help().find("(default \"default\")"), std::string::npos);
}

TEST(Flags, UnknownFlagsMissingValuesAndBadNumbersAreErrors) {
  Flags a = Sample();
  EXPECT_EQ(a.Parse({"--nope"}).error().message(), "unknown flag --nope");
  Flags b = Sample();
  EXPECT_EQ(b.Parse({"--name"}).error().message(), "flag --name needs a value");
  Flags c = Sample();
  ASSERT_TRUE(c.Parse({"--qps", "fast"}).ok());
  EXPECT_FALSE(c.GetDouble("qps").ok());
  Flags d = Sample();
  EXPECT_EQ(d.Parse({"--verbose=yes"}).error().message(),
            "flag --verbose is true or false, not \"yes\"");
  Flags e = Sample();
  ASSERT_TRUE(e.Parse({"--verbose=false"}).ok());
  EXPECT_FALSE(e.GetBool("verbose"));
}

}  // namespace
}  // namespace plumbline::cli
