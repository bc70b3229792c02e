#include "reconcile/secret_reads.h"

#include <gtest/gtest.h>

namespace plumbline::reconcile {
namespace {

class SecretReadsTest : public ::testing::Test {
 protected:
  Result<std::string> Keys(const std::string& name) {
    return reads_.Get<std::string>("age", "team", name, [&]() -> Result<std::string> {
      ++reads_done_;
      return "keys of " + name + " #" + std::to_string(reads_done_);
    });
  }
  SecretReads reads_;
  int reads_done_ = 0;
};

TEST_F(SecretReadsTest, NothingIsKeptWithoutAWatch) {
  EXPECT_EQ(*Keys("a"), "keys of a #1");
  EXPECT_EQ(*Keys("a"), "keys of a #2");
}

TEST_F(SecretReadsTest, KeptUntilItsSecretChanges) {
  reads_.Listed();
  EXPECT_EQ(*Keys("a"), "keys of a #1");
  EXPECT_EQ(*Keys("b"), "keys of b #2");
  EXPECT_EQ(*Keys("a"), "keys of a #1");
  reads_.Changed("team", "a");
  EXPECT_EQ(*Keys("a"), "keys of a #3");
  EXPECT_EQ(*Keys("b"), "keys of b #2") << "another Secret's event drops nothing of b";
  reads_.Listed();
  EXPECT_EQ(*Keys("b"), "keys of b #4") << "a re-list drops everything";
}

TEST_F(SecretReadsTest, WhatWasReadAndWhatForAreKeptApart) {
  reads_.Listed();
  auto git = reads_.Get<source::GitAuth>("git", "team", "a", []() -> Result<source::GitAuth> {
    source::GitAuth auth;
    auth.username = "u";
    return auth;
  });
  EXPECT_EQ(git->username, "u");
  EXPECT_EQ(*Keys("a"), "keys of a #1");
  reads_.Changed("team", "a");
  EXPECT_EQ(*Keys("a"), "keys of a #2");
}

TEST_F(SecretReadsTest, AReadThatRacedAnEventIsNotKept) {
  reads_.Listed();
  auto raced = reads_.Get<std::string>("age", "team", "a", [&]() -> Result<std::string> {
    reads_.Changed("team", "other");  // an event arrives while the Secret is read
    return std::string("maybe stale");
  });
  EXPECT_EQ(*raced, "maybe stale");
  EXPECT_EQ(*Keys("a"), "keys of a #1");
}

TEST_F(SecretReadsTest, AFailedReadIsNotKept) {
  reads_.Listed();
  auto failed = reads_.Get<std::string>("age", "team", "a", []() -> Result<std::string> {
    return Error(ErrorCode::kNotFound, "no such Secret");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(*Keys("a"), "keys of a #1");
}

}  // namespace
}  // namespace plumbline::reconcile
