// The planner's decisions (reconcile/planner.h): what one reconcile sends, from what the watches
// and the drift tracker know. Each case is one row of PRODUCT §3.5.
#include "reconcile/planner.h"

#include <gtest/gtest.h>

namespace plumbline::reconcile {
namespace {

constexpr size_t kHash = 42;

// An object our last apply stored (hash kHash), watched, live at resourceVersion 7.
ObjectFacts Agreeing() {
  ObjectFacts f;
  f.watched = true;
  f.live = drift::LiveObject{"7", "team/web", {}};
  f.known = drift::Tracker::Known{kHash, false, false, {}, ""};
  return f;
}

ObjectFacts Drifted(std::vector<std::string> fields) {
  ObjectFacts f = Agreeing();
  f.known->drifted = true;
  f.known->fields = std::move(fields);
  return f;
}

Step Correct(const ObjectFacts& f, bool applied_before = true) {
  return Decide(f, kHash, app::DriftMode::kCorrect, applied_before);
}
Step Report(const ObjectFacts& f, bool applied_before = true) {
  return Decide(f, kHash, app::DriftMode::kReport, applied_before);
}

TEST(Planner, AnObjectGitAndTheClusterAgreeOnIsKeptWithoutARequest) {
  EXPECT_EQ(Correct(Agreeing()), Step::kKeep);
  EXPECT_EQ(Report(Agreeing()), Step::kKeep);
}

TEST(Planner, AnObjectThatChangedInGitIsApplied) {
  ObjectFacts f = Agreeing();
  EXPECT_EQ(Decide(f, kHash + 1, app::DriftMode::kCorrect, true), Step::kApply);
  EXPECT_EQ(Decide(f, kHash + 1, app::DriftMode::kReport, true), Step::kApply);
}

TEST(Planner, AnObjectThisProcessNeverAppliedIsApplied) {
  ObjectFacts f = Agreeing();
  f.known.reset();
  EXPECT_EQ(Correct(f), Step::kApply);
  EXPECT_EQ(Correct(f, false), Step::kApply);
}

TEST(Planner, AnObjectWhoseKindIsNotWatchedIsApplied) {
  ObjectFacts f = Agreeing();
  f.watched = false;
  f.live.reset();
  EXPECT_EQ(Correct(f), Step::kApply);
  EXPECT_EQ(Report(f), Step::kApply);
}

TEST(Planner, DriftIsCorrectedInCorrectModeAndOnlyReportedInReportMode) {
  EXPECT_EQ(Correct(Drifted({"/spec/replicas"})), Step::kCorrect);
  EXPECT_EQ(Report(Drifted({"/spec/replicas"})), Step::kKeep);
}

TEST(Planner, AMissingObjectIsRecreatedInCorrectModeAndOnlyReportedInReportMode) {
  ObjectFacts f = Drifted({});
  f.known->missing = true;
  f.live.reset();
  EXPECT_EQ(Correct(f), Step::kCorrect);
  EXPECT_EQ(Report(f), Step::kKeep);
}

TEST(Planner, AnAgreeingObjectAbsentFromTheCacheIsConfirmedByOneRead) {
  // No deletion was seen: the watch may lag behind our own create.
  ObjectFacts f = Agreeing();
  f.live.reset();
  EXPECT_EQ(Correct(f), Step::kConfirm);
  EXPECT_EQ(Report(f), Step::kConfirm);
}

TEST(Planner, AConfirmingReadThatFindsNothingMakesItMissing) {
  ObjectFacts f = Agreeing();
  f.live.reset();
  ObjectFacts missing = FoundMissing(f);
  ASSERT_TRUE(missing.known.has_value());
  EXPECT_TRUE(missing.known->missing);
  EXPECT_TRUE(missing.known->drifted);
  EXPECT_EQ(Correct(missing), Step::kCorrect);
  EXPECT_EQ(Report(missing), Step::kKeep);
}

TEST(Planner, AfterARestartReportModeLearnsByDryRunWhatThisCommitApplied) {
  ObjectFacts f = Agreeing();
  f.known.reset();  // a new process knows nothing yet
  EXPECT_EQ(Report(f, /*applied_before=*/true), Step::kLearn);
  // In correct mode the apply itself is how it learns (and it corrects what drifted meanwhile).
  EXPECT_EQ(Correct(f, true), Step::kApply);
}

TEST(Planner, ReportModeAppliesANewCommitAndAnObjectThatDoesNotExist) {
  ObjectFacts f = Agreeing();
  f.known.reset();
  EXPECT_EQ(Report(f, /*applied_before=*/false), Step::kApply);
  f.live.reset();
  EXPECT_EQ(Report(f, true), Step::kApply);
}

TEST(Planner, TheLiveVersionIsKnownWithoutARequestOnlyWhenWatched) {
  ObjectFacts f = Agreeing();
  EXPECT_EQ(KnownLiveVersion(f), "7");
  f.live.reset();
  EXPECT_EQ(KnownLiveVersion(f), "");  // watched and absent: it does not exist
  f.watched = false;
  EXPECT_EQ(KnownLiveVersion(f), std::nullopt);
}

TEST(Planner, TheManifestHashFollowsTheObjectAndItsIgnoredFields) {
  const Json a = {{"kind", "ConfigMap"}, {"data", {{"k", "1"}}}};
  const Json b = {{"kind", "ConfigMap"}, {"data", {{"k", "2"}}}};
  EXPECT_EQ(ManifestHash(a, {}), ManifestHash(a, {}));
  EXPECT_NE(ManifestHash(a, {}), ManifestHash(b, {}));
  EXPECT_NE(ManifestHash(a, {}), ManifestHash(a, {"/data/k"}));
}

}  // namespace
}  // namespace plumbline::reconcile
