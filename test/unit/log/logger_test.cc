#include "log/logger.h"

#include <gtest/gtest.h>

#include <sstream>

#include "common/json.h"

namespace plumbline::log {
namespace {

TEST(Logger, JsonLinesCarryTheFields) {
  std::stringstream out;
  Logger logger(out, Format::kJson);
  logger.Info("applied", {{"app", "web/prod"}, {"revision", "abc"}});
  Json line = Json::parse(out.str());
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "applied");
  EXPECT_EQ(line["app"], "web/prod");
  EXPECT_EQ(line["revision"], "abc");
  EXPECT_TRUE(line.contains("ts"));
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(Logger, TextLinesQuoteValuesWithSpaces) {
  std::stringstream out;
  Logger logger(out, Format::kText);
  logger.Error("fetch failed", {{"app", "a/b"}, {"error", "connection refused"}});
  std::string line = out.str();
  EXPECT_NE(line.find(" error fetch failed app=a/b error=\"connection refused\"\n"),
            std::string::npos)
      << line;
}

TEST(Logger, DropsLinesBelowTheLevel) {
  std::stringstream out;
  Logger logger(out, Format::kText, Level::kWarn);
  logger.Info("quiet");
  logger.Debug("quieter");
  EXPECT_TRUE(out.str().empty());
  logger.Warn("loud");
  EXPECT_FALSE(out.str().empty());
}

}  // namespace
}  // namespace plumbline::log
