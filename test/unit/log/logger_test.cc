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

TEST(Logger, RedactsCredentialsInUrlsInBothFormats) {
  for (Format format : {Format::kJson, Format::kText}) {
    std::stringstream out;
    Logger logger(out, format);
    logger.Error("fetching https://bob:hunter2@git.example.com/r failed",
                 {{"error", "clone of http://tok123@h/r: 401"}});
    const std::string line = out.str();
    EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
    EXPECT_EQ(line.find("tok123"), std::string::npos) << line;
    EXPECT_NE(line.find("https://***@git.example.com/r"), std::string::npos) << line;
  }
}

TEST(Logger, ABadByteInATextValueIsReplacedNotThrown) {
  std::stringstream out;
  Logger logger(out, Format::kText);
  logger.Error("render failed", {{"error", "caf\xe9 au lait"}});
  EXPECT_NE(out.str().find("error=\"caf\xef\xbf\xbd au lait\""), std::string::npos) << out.str();
}

}  // namespace
}  // namespace plumbline::log
