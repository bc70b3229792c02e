#include "drift/fields.h"

#include <gtest/gtest.h>

#include "drift/tracker.h"

namespace plumbline::drift {
namespace {

// What the API server records for an apply of a one-container Deployment with a label, an env
// set and a scalar set list (finalizers).
const char* kOwned = R"({
  "f:metadata": {"f:labels": {"f:app": {}}, "f:finalizers": {"v:\"example.com/keep\"": {}}},
  "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
    "k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:image": {},
                             "f:env": {"k:{\"name\":\"MODE\"}": {".": {}, "f:name": {}, "f:value": {}}}}
  }}}}
})";

Json Stored() {
  return Json::parse(R"({
    "metadata": {"name": "web", "resourceVersion": "10", "labels": {"app": "web", "other": "x"},
                 "finalizers": ["example.com/keep"],
                 "managedFields": [
                   {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}},
                   {"manager": "plumbline", "operation": "Apply", "fieldsV1": )" +
                     std::string(kOwned) + R"(}]},
    "spec": {"replicas": 2, "paused": false, "template": {"spec": {"containers": [
      {"name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
       "env": [{"name": "MODE", "value": "prod"}]}]}}},
    "status": {"replicas": 2}
  })");
}

TEST(Fields, OwnedFieldsPicksTheManagersApplyEntry) {
  EXPECT_EQ(OwnedFields(Stored(), "plumbline"), Json::parse(kOwned));
  EXPECT_TRUE(OwnedFields(Stored(), "kubectl").is_null());  // an Update entry, not an apply
  EXPECT_TRUE(OwnedFields(Stored(), "nobody").is_null());
}

TEST(Fields, ExtractReadsEveryOwnedLeafWithItsPointer) {
  FieldValues v = Extract(Stored(), Json::parse(kOwned));
  ASSERT_TRUE(v.count("/f:spec/f:replicas"));
  EXPECT_EQ(v["/f:spec/f:replicas"].value, 2);
  EXPECT_EQ(v["/f:spec/f:replicas"].pointer, "/spec/replicas");
  const std::string image = "/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"web\"}/f:image";
  ASSERT_TRUE(v.count(image));
  EXPECT_EQ(v[image].pointer, "/spec/template/spec/containers/0/image");
  EXPECT_EQ(v[image].value, "nginx:1.25");
  EXPECT_TRUE(v["/f:metadata/f:finalizers/v:\"example.com/keep\""].present);
  // Fields nobody asked us to own are not read: status, paused, imagePullPolicy, other labels.
  for (const auto& [path, _] : v) {
    EXPECT_EQ(path.find("status"), std::string::npos);
    EXPECT_EQ(path.find("paused"), std::string::npos);
    EXPECT_EQ(path.find("imagePullPolicy"), std::string::npos);
    EXPECT_EQ(path.find("other"), std::string::npos);
  }
}

TEST(Fields, DiffSeesOwnedChangesOnly) {
  Json fields = Json::parse(kOwned);
  FieldValues expected = Extract(Stored(), fields);

  Json others = Stored();
  others["status"]["replicas"] = 3;
  others["spec"]["paused"] = true;
  others["metadata"]["labels"]["other"] = "y";
  // Another manager's container in front of ours: ours is matched by its key, not its index.
  others["spec"]["template"]["spec"]["containers"].insert(
      others["spec"]["template"]["spec"]["containers"].begin(),
      Json::parse(R"({"name": "sidecar", "image": "envoy"})"));
  EXPECT_TRUE(Diff(expected, Extract(others, fields)).empty());

  Json edited = Stored();
  edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:evil";
  edited["spec"]["replicas"] = 5;
  EXPECT_EQ(Diff(expected, Extract(edited, fields)),
            (std::vector<std::string>{"/spec/replicas", "/spec/template/spec/containers/0/image"}));

  // A removed list item is one difference, not one per field in it.
  Json removed = Stored();
  removed["spec"]["template"]["spec"]["containers"][0]["env"] = Json::array();
  EXPECT_EQ(Diff(expected, Extract(removed, fields)),
            (std::vector<std::string>{"/spec/template/spec/containers/0/env/0"}));

  Json no_finalizer = Stored();
  no_finalizer["metadata"]["finalizers"] = Json::array();
  EXPECT_EQ(Diff(expected, Extract(no_finalizer, fields)),
            (std::vector<std::string>{"/metadata/finalizers/0"}));
}

TEST(Fields, CoversMatchesWholeTokens) {
  EXPECT_TRUE(Covers("/spec/replicas", "/spec/replicas"));
  EXPECT_TRUE(Covers("/spec/template", "/spec/template/spec/containers/0/image"));
  EXPECT_FALSE(Covers("/spec/replicas", "/spec/replicasX"));
  EXPECT_FALSE(Covers("/spec/template/spec", "/spec/template"));
  EXPECT_EQ(EscapePointerToken("plumbline.dev/name"), "plumbline.dev~1name");
  EXPECT_EQ(EscapePointerToken("a~b"), "a~0b");
}

TEST(Evaluate, SameResourceVersionIsNoDriftAndIgnoredPointersAreDropped) {
  auto expected = ExpectationFrom(Stored(), "plumbline", 1, {"/spec/replicas"});
  ASSERT_TRUE(expected.has_value());
  EXPECT_EQ(expected->resource_version, "10");
  EXPECT_TRUE(Evaluate(*expected, Stored()).empty());

  Json edited = Stored();
  edited["metadata"]["resourceVersion"] = "11";
  edited["spec"]["replicas"] = 9;  // ignored
  EXPECT_TRUE(Evaluate(*expected, edited).empty());
  edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:evil";
  EXPECT_EQ(Evaluate(*expected, edited),
            (std::vector<std::string>{"/spec/template/spec/containers/0/image"}));
  EXPECT_FALSE(ExpectationFrom(Stored(), "nobody", 1, {}).has_value());
}

// A ConfigMap applied with `metadata.annotations: {}` and `data: {}`, and a list declared empty
// (`finalizers: []`): the server records each as a leaf, as it does an atomic map.
Json EmptyShapes(const Json& ours) {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "c", "resourceVersion": "5", "annotations": {}, "finalizers": [],
                 "managedFields": [{"manager": "plumbline", "operation": "Apply",
                                    "fieldsV1": )" +
                     ours.dump() + R"(}]},
    "data": {}
  })");
}

const char* kEmptyOwned =
    R"({"f:metadata": {"f:annotations": {}, "f:finalizers": {}}, "f:data": {}})";

TEST(Evaluate, AnEmptyMapOrListInGitIsNotDriftWhenAnotherManagerAddsToIt) {
  auto expected = ExpectationFrom(EmptyShapes(Json::parse(kEmptyOwned)), "plumbline", 1, {});
  ASSERT_TRUE(expected.has_value());

  // kube-controller-manager adds an annotation, another controller a finalizer and a key: our
  // manager still owns the (empty) fields, the additions are the other managers'.
  Json live = EmptyShapes(Json::parse(kEmptyOwned));
  live["metadata"]["resourceVersion"] = "6";
  live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1";
  live["metadata"]["finalizers"].push_back("example.com/hold");
  live["data"]["added"] = "by someone else";
  live["metadata"]["managedFields"].push_back(Json::parse(R"({
    "manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {
      "f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}},
                     "f:finalizers": {"v:\"example.com/hold\"": {}}},
      "f:data": {"f:added": {}}}})"));
  EXPECT_EQ(Evaluate(*expected, live), std::vector<std::string>{});

  // A built-in type stores no empty map: what our apply stored lacks `data` and `annotations`.
  Json dropped = EmptyShapes(Json::parse(kEmptyOwned));
  dropped.erase("data");
  dropped["metadata"].erase("annotations");
  auto from_dropped = ExpectationFrom(dropped, "plumbline", 1, {});
  ASSERT_TRUE(from_dropped.has_value());
  EXPECT_EQ(Evaluate(*from_dropped, live), std::vector<std::string>{});
  // There the other manager's first key takes the field from ours, as the API server does.
  Json taken = live;
  taken["metadata"]["managedFields"][0]["fieldsV1"] =
      Json::parse(R"({"f:metadata": {"f:finalizers": {}}})");
  EXPECT_EQ(Evaluate(*from_dropped, taken), std::vector<std::string>{});
  Json scalar = live;
  scalar["data"] = "not a map";
  EXPECT_EQ(Evaluate(*from_dropped, scalar), std::vector<std::string>{"/data"});

  // A map where git has a list (or a scalar) is still drift.
  Json retyped = live;
  retyped["data"] = Json::array();
  EXPECT_EQ(Evaluate(*expected, retyped), std::vector<std::string>{"/data"});
  // So is a removed map: git declares it.
  Json removed = live;
  removed["metadata"].erase("annotations");
  EXPECT_EQ(Evaluate(*expected, removed), std::vector<std::string>{"/metadata/annotations"});
}

TEST(Evaluate, AnAtomicMapAnotherManagerChangedIsDrift) {
  auto expected = ExpectationFrom(EmptyShapes(Json::parse(kEmptyOwned)), "plumbline", 1, {});
  ASSERT_TRUE(expected.has_value());
  // The change moved `data` (atomic here) to the other manager: our manager no longer owns it,
  // so git's empty map is compared whole.
  Json live = EmptyShapes(Json::parse(R"({"f:metadata": {"f:annotations": {},
                                                         "f:finalizers": {}}})"));
  live["metadata"]["resourceVersion"] = "6";
  live["data"]["added"] = "by someone else";
  EXPECT_EQ(Evaluate(*expected, live), std::vector<std::string>{"/data"});
}

TEST(Fields, LeafPathsNamesEveryLeafAsExtractDoes) {
  Json fields = Json::parse(kOwned);
  FieldValues values = Extract(Stored(), fields);
  std::set<std::string> from_values;
  for (const auto& [path, _] : values) from_values.insert(path);
  EXPECT_EQ(LeafPaths(fields), from_values);
  EXPECT_TRUE(LeafPaths(Json()).empty());
}

TEST(Tracker, ReportsAChangeOnceAndWakesTheApplication) {
  Tracker tracker;
  std::vector<std::string> woken;
  tracker.SetWakeUp([&](const std::string& app) { woken.push_back(app); });
  apply::ObjectKey key{"apps", "v1", "Deployment", "ns", "web"};
  tracker.Record("ns/app", key, *ExpectationFrom(Stored(), "plumbline", 1, {}));
  tracker.Observe(key, "ns/app", nullptr, false);
  ASSERT_EQ(tracker.Drifted("ns/app").size(), 1u);
  EXPECT_TRUE(tracker.Drifted("ns/app")[0].missing);
  tracker.Observe(key, "ns/app", nullptr, false);  // no news: no second wake-up
  EXPECT_EQ(woken, std::vector<std::string>{"ns/app"});
  Json back = Stored();
  back["metadata"]["resourceVersion"] = "12";
  tracker.Observe(key, "ns/app", &back, false);
  EXPECT_TRUE(tracker.Drifted("ns/app").empty());
  EXPECT_EQ(woken.size(), 2u);
  tracker.Observe(key, "ns/other", &back, false);  // another Application's label: not ours
  EXPECT_EQ(woken.size(), 2u);
}

}  // namespace
}  // namespace plumbline::drift

namespace plumbline::drift {
namespace {

// After a restart (PRODUCT §9): the tracker keeps the watched objects our manager applied as
// candidates, and adopts one only when the digest status.inventory kept for it still holds.
class Adopt : public ::testing::Test {
 protected:
  const apply::ObjectKey key_{"apps", "v1", "Deployment", "ns", "web"};
  const std::string digest_ = StoredDigest(*ExpectationFrom(Stored(), "plumbline", 7, {}));
};

TEST_F(Adopt, AWatchedObjectAsOurApplyStoredItIsAdoptedWithoutARequest) {
  Tracker tracker("plumbline");
  Json live = Stored();
  live["metadata"]["resourceVersion"] = "99";  // another controller wrote its status since
  live["status"]["replicas"] = 3;
  tracker.Observe(key_, "ns/app", &live, false);
  EXPECT_FALSE(tracker.Find("ns/app", key_));  // a candidate is not an expectation
  EXPECT_TRUE(tracker.Drifted("ns/app").empty());
  auto known = tracker.Adopt("ns/app", key_, 7, {}, digest_);
  ASSERT_TRUE(known);
  EXPECT_EQ(known->manifest_hash, 7u);
  EXPECT_FALSE(known->drifted);
  EXPECT_EQ(known->digest, digest_);
  ASSERT_TRUE(tracker.Find("ns/app", key_));
  // From now on, live changes are judged against it.
  live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:evil";
  live["metadata"]["resourceVersion"] = "100";
  tracker.Observe(key_, "ns/app", &live, false);
  ASSERT_EQ(tracker.Drifted("ns/app").size(), 1u);
}

TEST_F(Adopt, AChangeWhileNobodyWatchedIsNotAdopted) {
  Tracker tracker("plumbline");
  // kubectl scaled it while the controller was down: the field moved to kubectl's manager.
  Json live = Stored();
  live["spec"]["replicas"] = 5;
  Json& owned = live["metadata"]["managedFields"][1]["fieldsV1"];
  owned["f:spec"].erase("f:replicas");
  tracker.Observe(key_, "ns/app", &live, false);
  EXPECT_FALSE(tracker.Adopt("ns/app", key_, 7, {}, digest_));
  // Ignored there (ignoreDifferences), it is adopted: the digest then leaves it out.
  const std::vector<std::string> ignored = {"/spec/replicas"};
  const std::string ignoring = StoredDigest(*ExpectationFrom(Stored(), "plumbline", 7, ignored));
  EXPECT_TRUE(tracker.Adopt("ns/app", key_, 7, ignored, ignoring));
}

TEST_F(Adopt, AChangeInGitOrAnUnknownObjectIsNotAdopted) {
  Tracker tracker("plumbline");
  Json live = Stored();
  tracker.Observe(key_, "ns/app", &live, false);
  EXPECT_FALSE(tracker.Adopt("ns/app", key_, 8, {}, digest_));  // git renders something else now
  EXPECT_FALSE(tracker.Adopt("ns/other", key_, 7, {}, digest_));
  tracker.Observe(key_, "ns/app", nullptr, false);  // deleted meanwhile
  EXPECT_FALSE(tracker.Adopt("ns/app", key_, 7, {}, digest_));
  Tracker no_candidates;  // without a manager to adopt for, nothing is kept
  no_candidates.Observe(key_, "ns/app", &live, false);
  EXPECT_FALSE(no_candidates.Adopt("ns/app", key_, 7, {}, digest_));
  EXPECT_EQ(no_candidates.objects(), 0u);
}

TEST_F(Adopt, TheDigestIsStableAndCoversEveryOwnedValue) {
  // Kept in status across restarts and upgrades: a fixed input has a fixed digest.
  EXPECT_EQ(digest_, StoredDigest(*ExpectationFrom(Stored(), "plumbline", 7, {})));
  EXPECT_EQ(digest_.size(), 16u);
  Json other = Stored();
  other["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "dev";
  EXPECT_NE(digest_, StoredDigest(*ExpectationFrom(other, "plumbline", 7, {})));
  Json unowned = Stored();
  unowned["metadata"]["labels"]["other"] = "y";  // not ours: no part of it
  EXPECT_EQ(digest_, StoredDigest(*ExpectationFrom(unowned, "plumbline", 7, {})));
}

}  // namespace
}  // namespace plumbline::drift
