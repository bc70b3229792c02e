// The reconciler's bookkeeping across reconciles (reconcile/decisions.h), on made-up histories.
#include "reconcile/decisions.h"

#include <gtest/gtest.h>

#include "app/conditions.h"

namespace plumbline::reconcile {
namespace {

using std::chrono::seconds;

drift::ObjectDrift Drift(const std::string& name) {
  return {apply::ObjectKey{"", "v1", "ConfigMap", "team", name}, false, {"/data/k"}};
}

TEST(IsRevert, OnlyACommitWrittenAsGitRevertWritesOneIsARevert) {
  EXPECT_TRUE(IsRevert("Revert \"v2\"\n\nThis reverts commit 0123456789abcdef.\n"));
  EXPECT_TRUE(IsRevert("Revert \"Revert \"v2\"\"\n\nThis reverts commit 0123.\n\nTrailer: x\n"));
  EXPECT_FALSE(IsRevert("Revert \"v2\"\n"));  // the subject alone
  EXPECT_FALSE(IsRevert("Fix: This reverts commit 0123 by hand\n"));
  EXPECT_FALSE(IsRevert("revert \"v2\"\n\nThis reverts commit 0123.\n"));
  EXPECT_FALSE(IsRevert(""));
}

TEST(FailureIsNew, OnlyAFailureTheReadyConditionDoesNotStateYetIsNew) {
  Json status = Json::object();
  EXPECT_TRUE(FailureIsNew(status, "FetchFailed", "timeout"));
  app::SetCondition(&status, app::kReady, false, "FetchFailed", "timeout", 1);
  EXPECT_FALSE(FailureIsNew(status, "FetchFailed", "timeout"));  // a retry of the same failure
  EXPECT_TRUE(FailureIsNew(status, "FetchFailed", "connection refused"));
  EXPECT_TRUE(FailureIsNew(status, "RenderFailed", "timeout"));
}

TEST(DriftEpisodes, AnEpisodeHasOneEventHoweverManyObjectsJoinIt) {
  DriftEpisodes episodes;
  auto first = episodes.Observe({}, {Drift("a")});
  EXPECT_EQ(first.event, DriftEpisodes::Event::kDetected);
  ASSERT_EQ(first.fresh.size(), 1u);
  auto second = episodes.Observe({}, {Drift("a"), Drift("b")});
  EXPECT_EQ(second.event, DriftEpisodes::Event::kNone);  // the episode goes on
  ASSERT_EQ(second.fresh.size(), 1u);  // only b is new: a is logged and counted once
  EXPECT_EQ(second.fresh[0].key.name, "b");
  auto still = episodes.Observe({}, {Drift("a"), Drift("b")});
  EXPECT_EQ(still.event, DriftEpisodes::Event::kNone);
  EXPECT_TRUE(still.fresh.empty());
}

TEST(DriftEpisodes, AnEpisodeEndsWhenNothingDriftsAndTheNextOneHasItsOwnEvent) {
  DriftEpisodes episodes;
  EXPECT_EQ(episodes.Observe({}, {Drift("a")}).event, DriftEpisodes::Event::kDetected);
  EXPECT_EQ(episodes.Observe({}, {}).event, DriftEpisodes::Event::kNone);  // ended quietly
  auto again = episodes.Observe({}, {Drift("a")});
  EXPECT_EQ(again.event, DriftEpisodes::Event::kDetected);
  EXPECT_EQ(again.fresh.size(), 1u);  // a drifts anew: counted again
}

TEST(DriftEpisodes, ADriftCorrectedWithinOneReconcileIsACorrectedEpisode) {
  DriftEpisodes episodes;
  auto corrected = episodes.Observe({Drift("a")}, {});
  EXPECT_EQ(corrected.event, DriftEpisodes::Event::kCorrected);
  EXPECT_EQ(corrected.fresh.size(), 1u);  // it drifted, if briefly: counted as detected too
  // Corrected again at once: a new episode, since the last one ended with nothing drifting.
  EXPECT_EQ(episodes.Observe({Drift("a")}, {}).event, DriftEpisodes::Event::kCorrected);
}

TEST(DriftEpisodes, ACorrectionDuringAnOngoingEpisodeRaisesNoNewEvent) {
  DriftEpisodes episodes;
  EXPECT_EQ(episodes.Observe({}, {Drift("a")}).event, DriftEpisodes::Event::kDetected);
  auto out = episodes.Observe({Drift("b")}, {Drift("a")});
  EXPECT_EQ(out.event, DriftEpisodes::Event::kNone);
  ASSERT_EQ(out.fresh.size(), 1u);
  EXPECT_EQ(out.fresh[0].key.name, "b");
}

TEST(Dora, ARevisionThatFailsCountsOneChangeFailureHoweverOftenItIsRetried) {
  Dora dora;
  const auto t0 = std::chrono::system_clock::time_point(seconds(1000));
  EXPECT_FALSE(dora.Observe(false, true, "r1", t0).change_failed);
  EXPECT_TRUE(dora.Observe(true, false, "r2", t0 + seconds(10)).change_failed);
  EXPECT_FALSE(dora.Observe(true, false, "r2", t0 + seconds(20)).change_failed);
  EXPECT_TRUE(dora.Observe(true, false, "r3", t0 + seconds(30)).change_failed);
}

TEST(Dora, AFailureOfTheRevisionLastSeenReadyOrBeforeAnyFetchIsNoChangeFailure) {
  Dora dora;
  const auto t0 = std::chrono::system_clock::time_point(seconds(1000));
  dora.Observe(false, true, "r1", t0);
  EXPECT_FALSE(dora.Observe(true, false, "r1", t0 + seconds(5)).change_failed);  // drift, say
  EXPECT_FALSE(dora.Observe(true, false, "", t0 + seconds(6)).change_failed);    // fetch failed
}

TEST(Dora, TimeToRestoreRunsFromTheFirstFailureToTheNextReady) {
  Dora dora;
  const auto t0 = std::chrono::system_clock::time_point(seconds(1000));
  EXPECT_FALSE(dora.Observe(false, true, "r1", t0).restored_seconds.has_value());
  dora.Observe(true, false, "r2", t0 + seconds(10));
  dora.Observe(true, false, "r2", t0 + seconds(40));
  // Not failed, not Ready (still rolling out): not restored yet.
  EXPECT_FALSE(dora.Observe(false, false, "r3", t0 + seconds(50)).restored_seconds.has_value());
  auto restored = dora.Observe(false, true, "r3", t0 + seconds(70));
  ASSERT_TRUE(restored.restored_seconds.has_value());
  EXPECT_DOUBLE_EQ(*restored.restored_seconds, 60.0);
  EXPECT_FALSE(dora.Observe(false, true, "r3", t0 + seconds(80)).restored_seconds.has_value());
}

TEST(Dora, ARevisionThatFailsAgainAfterBeingReadyIsNotANewChangeFailure) {
  Dora dora;
  const auto t0 = std::chrono::system_clock::time_point(seconds(1000));
  EXPECT_TRUE(dora.Observe(true, false, "r2", t0).change_failed);
  dora.Observe(false, true, "r2", t0 + seconds(5));
  EXPECT_FALSE(dora.Observe(true, false, "r2", t0 + seconds(9)).change_failed);
}

ObjectHealth Object(const std::string& name, health::State state, const std::string& why = "") {
  return {apply::ObjectKey{"apps", "v1", "Deployment", "team", name}, {state, why}};
}

TEST(JudgeHealth, AllHealthyOrNothingToJudgeIsHealthy) {
  EXPECT_EQ(JudgeHealth({}, seconds(0), seconds(60)).state, HealthVerdict::State::kHealthy);
  auto v = JudgeHealth({Object("a", health::State::kHealthy)}, seconds(999), seconds(60));
  EXPECT_EQ(v.state, HealthVerdict::State::kHealthy);
  EXPECT_EQ(v.message, "");
}

TEST(JudgeHealth, ProgressingWaitsUntilTheTimeoutThenFails) {
  const std::vector<ObjectHealth> objects{Object("a", health::State::kHealthy),
                                          Object("b", health::State::kProgressing, "1 of 3")};
  auto waiting = JudgeHealth(objects, seconds(59), seconds(60));
  EXPECT_EQ(waiting.state, HealthVerdict::State::kProgressing);
  EXPECT_NE(waiting.message.find("team/b: 1 of 3"), std::string::npos) << waiting.message;
  EXPECT_EQ(JudgeHealth(objects, seconds(60), seconds(60)).state, HealthVerdict::State::kFailed);
}

TEST(JudgeHealth, DegradedFailsAtOnceAndTheMessageNamesTheFirstObjectNotHealthy) {
  auto v = JudgeHealth({Object("a", health::State::kProgressing, "rolling"),
                        Object("b", health::State::kDegraded, "crash loop")},
                       seconds(0), seconds(60));
  EXPECT_EQ(v.state, HealthVerdict::State::kFailed);
  EXPECT_NE(v.message.find("team/a: rolling"), std::string::npos) << v.message;
}

}  // namespace
}  // namespace plumbline::reconcile
