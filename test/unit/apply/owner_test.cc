#include "apply/owner.h"

#include <gtest/gtest.h>

namespace plumbline::apply {
namespace {

const Owner kOwner{"plumbline", "example.dev/name", "example.dev/namespace", "web", "team"};

TEST(Owner, LabelsAnObjectWithBothKeysKeepingItsOwnLabels) {
  Json obj = {{"metadata", {{"name", "x"}, {"labels", {{"app", "web"}}}}}};
  kOwner.Label(&obj);
  EXPECT_EQ(obj["metadata"]["labels"],
            Json({{"app", "web"}, {"example.dev/name", "web"}, {"example.dev/namespace", "team"}}));
}

TEST(Owner, LabelsReplaceLabelsThatAreNotAMap) {
  Json obj = {{"metadata", {{"name", "x"}, {"labels", "oops"}}}};
  kOwner.Label(&obj);
  EXPECT_TRUE(kOwner.Owns(obj));
}

TEST(Owner, OwnsOnlyWhatBothLabelsName) {
  Json obj = {{"metadata", {{"name", "x"}}}};
  EXPECT_FALSE(kOwner.Owns(obj));
  kOwner.Label(&obj);
  EXPECT_TRUE(kOwner.Owns(obj));
  Json other = obj;
  other["metadata"]["labels"]["example.dev/namespace"] = "another-team";
  EXPECT_FALSE(kOwner.Owns(other));
  other = obj;
  other["metadata"]["labels"].erase("example.dev/name");
  EXPECT_FALSE(kOwner.Owns(other));
  EXPECT_FALSE(kOwner.Owns(Json("not an object")));
}

}  // namespace
}  // namespace plumbline::apply
