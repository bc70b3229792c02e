// How one reconcile moves the inventory: no failure ever drops an object from it.
#include "inventory/inventory.h"

#include <gtest/gtest.h>

namespace plumbline::inventory {
namespace {

using apply::Action;
using apply::ChangeSet;
using apply::ObjectKey;

ObjectKey Cm(const std::string& name) { return {"", "v1", "ConfigMap", "web", name}; }

ChangeSet Changes(std::vector<std::pair<ObjectKey, Action>> changes) {
  ChangeSet set;
  for (auto& [key, action] : changes) set.changes.push_back({key, action, "", Json(), Json()});
  return set;
}

std::vector<std::string> Names(const Keys& keys) {
  std::vector<std::string> names;
  for (const auto& k : keys) names.push_back(k.name);
  return names;
}

TEST(Inventory, StaleIsWhatWasManagedAndGitNoLongerDeclaresInInventoryOrder) {
  const Keys previous{Cm("c"), Cm("a"), Cm("b")};
  EXPECT_EQ(Names(Stale(previous, {Cm("a")})), (std::vector<std::string>{"c", "b"}));
  EXPECT_TRUE(Stale(previous, {Cm("a"), Cm("b"), Cm("c")}).empty());
  EXPECT_TRUE(Stale({}, {Cm("a")}).empty());
}

TEST(Inventory, StaleIgnoresTheVersionAsObjectKeysDo) {
  ObjectKey v1{"apps", "v1", "Deployment", "web", "api"};
  ObjectKey v1beta2{"apps", "v1beta2", "Deployment", "web", "api"};
  EXPECT_TRUE(Stale({v1beta2}, {v1}).empty());
}

TEST(Inventory, AfterACleanApplyItIsWhatWasAppliedInOrder) {
  const Keys previous{Cm("a"), Cm("old")};
  auto next = AfterApply(previous, {Cm("b"), Cm("a")},
                         Changes({{Cm("b"), Action::kCreated}, {Cm("a"), Action::kUnchanged}}));
  // "old" leaves: the prune that follows deletes it, or (prune off) it is no longer managed.
  EXPECT_EQ(Names(next), (std::vector<std::string>{"b", "a"}));
}

TEST(Inventory, SkippedObjectsStayManaged) {
  auto next = AfterApply({Cm("a")}, {Cm("a")}, Changes({{Cm("a"), Action::kSkipped}}));
  EXPECT_EQ(Names(next), (std::vector<std::string>{"a"}));
}

TEST(Inventory, AnObjectThatFailedKeepsItsPlaceIfItWasManaged) {
  auto next = AfterApply({Cm("a"), Cm("b")}, {Cm("a"), Cm("b")},
                         Changes({{Cm("a"), Action::kFailed}, {Cm("b"), Action::kConfigured}}));
  EXPECT_EQ(Names(next), (std::vector<std::string>{"b", "a"}));
}

TEST(Inventory, ANewObjectThatFailedIsNotManagedYet) {
  auto next = AfterApply({Cm("a")}, {Cm("a"), Cm("new")},
                         Changes({{Cm("a"), Action::kUnchanged}, {Cm("new"), Action::kFailed}}));
  EXPECT_EQ(Names(next), (std::vector<std::string>{"a"}));
}

TEST(Inventory, AnyFailureKeepsTheStaleObjectsSinceNoPruneFollows) {
  auto next = AfterApply({Cm("a"), Cm("old"), Cm("b")}, {Cm("a"), Cm("b")},
                         Changes({{Cm("a"), Action::kFailed}, {Cm("b"), Action::kUnchanged}}));
  EXPECT_EQ(Names(next), (std::vector<std::string>{"b", "a", "old"}));
}

TEST(Inventory, AnApplyCutShortByTheDeadlineLosesNothing) {
  // Objects not reached are reported failed ("the reconcile timed out").
  const Keys previous{Cm("a"), Cm("b"), Cm("c")};
  auto next = AfterApply(previous, {Cm("a"), Cm("b"), Cm("c"), Cm("d")},
                         Changes({{Cm("a"), Action::kConfigured},
                                  {Cm("b"), Action::kFailed},
                                  {Cm("c"), Action::kFailed},
                                  {Cm("d"), Action::kFailed}}));
  EXPECT_EQ(Names(next), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Inventory, WhatThePruneFailedToDeleteStays) {
  Keys after_apply{Cm("a")};
  auto next = AfterPrune(after_apply, Changes({{Cm("gone"), Action::kDeleted},
                                               {Cm("stuck"), Action::kFailed},
                                               {Cm("kept-ns"), Action::kSkipped}}));
  EXPECT_EQ(Names(next), (std::vector<std::string>{"a", "stuck"}));
}

TEST(Inventory, ToJsonWritesTheStatusForm) {
  Json inv = ToJson({ObjectKey{"apps", "v1", "Deployment", "web", "api"}});
  ASSERT_EQ(inv.size(), 1u);
  EXPECT_EQ(inv[0], (Json{{"group", "apps"},
                          {"version", "v1"},
                          {"kind", "Deployment"},
                          {"namespace", "web"},
                          {"name", "api"}}));
  EXPECT_EQ(ToJson({}), Json::array());
}

TEST(Inventory, DigestsTravelWithTheirEntriesAndAMangledOneIsNone) {
  Json inv = ToJson({Cm("a"), Cm("b")}, {{Cm("a"), "00ff"}, {Cm("c"), "1234"}});
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_EQ(inv[0].value("digest", ""), "00ff");
  EXPECT_FALSE(inv[1].contains("digest"));
  EXPECT_EQ(DigestsOf(inv), (Digests{{Cm("a"), "00ff"}}));
  inv[1]["digest"] = 42;  // anyone allowed to write the status may mangle it
  inv.push_back("not an entry");
  EXPECT_EQ(DigestsOf(inv), (Digests{{Cm("a"), "00ff"}}));
  EXPECT_TRUE(DigestsOf(Json()).empty());
}

}  // namespace
}  // namespace plumbline::inventory
