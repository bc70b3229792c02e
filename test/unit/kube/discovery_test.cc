// Discovery mapping and caching, with a fake fetch standing in for the API server.
#include "kube/discovery.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace plumbline::kube {
namespace {

const char* kAppsV1 = R"({
  "kind": "APIResourceList", "groupVersion": "apps/v1",
  "resources": [
    {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
     "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
    {"name": "deployments/scale", "namespaced": true, "group": "autoscaling", "version": "v1",
     "kind": "Scale", "verbs": ["get", "patch", "update"]},
    {"name": "deployments/status", "namespaced": true, "kind": "Deployment",
     "verbs": ["get", "patch", "update"]},
    {"name": "controllerrevisions", "namespaced": true, "kind": "ControllerRevision",
     "verbs": ["get", "list"]}
  ]})";

const char* kCoreV1 = R"({
  "kind": "APIResourceList", "groupVersion": "v1",
  "resources": [
    {"name": "namespaces", "namespaced": false, "kind": "Namespace", "verbs": ["get"]},
    {"name": "pods", "namespaced": true, "kind": "Pod", "verbs": ["get"]},
    {"name": "pods/eviction", "namespaced": true, "group": "policy", "version": "v1",
     "kind": "Eviction", "verbs": ["create"]}
  ]})";

TEST(ParseResourceList, MapsKindsToResourcesScopeAndStatus) {
  auto list = ParseResourceList(Json::parse(kAppsV1));
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->size(), 2u);  // subresources fold into their parent
  const ResourceInfo& dep = (*list)[0];
  EXPECT_EQ(dep.gvk, (GroupVersionKind{"apps", "v1", "Deployment"}));
  EXPECT_EQ(dep.resource, "deployments");
  EXPECT_TRUE(dep.namespaced);
  EXPECT_TRUE(dep.has_status);
  EXPECT_EQ(dep.verbs.size(), 7u);
  EXPECT_FALSE((*list)[1].has_status);
}

TEST(ParseResourceList, RejectsSomethingElse) {
  EXPECT_FALSE(ParseResourceList(Json::parse(R"({"kind": "Status"})")).ok());
}

TEST(ResourceInfo, BuildsPathsForCoreGroupsAndScopes) {
  ResourceInfo pods{{"", "v1", "Pod"}, "pods", true, true, {}};
  EXPECT_EQ(pods.CollectionPath("web"), "/api/v1/namespaces/web/pods");
  EXPECT_EQ(pods.CollectionPath(""), "/api/v1/pods");
  EXPECT_EQ(pods.ObjectPath("web", "p1"), "/api/v1/namespaces/web/pods/p1");
  ResourceInfo roles{
      {"rbac.authorization.k8s.io", "v1", "ClusterRole"}, "clusterroles", false, false, {}};
  EXPECT_EQ(roles.ObjectPath("ignored", "admin"),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin");
}

TEST(GroupVersionKind, SplitsApiVersion) {
  EXPECT_EQ(GroupVersionKind::FromApiVersion("apps/v1", "Deployment"),
            (GroupVersionKind{"apps", "v1", "Deployment"}));
  EXPECT_EQ(GroupVersionKind::FromApiVersion("v1", "Pod"), (GroupVersionKind{"", "v1", "Pod"}));
  EXPECT_EQ((GroupVersionKind{"", "v1", "Pod"}).ApiVersion(), "v1");
}

// A fake API server: serves fixed lists and counts requests.
struct FakeServer {
  std::map<std::string, std::string> bodies;
  std::vector<std::string> requests;
  Discovery::Fetch Fetch() {
    return [this](const std::string& path) -> Result<Json> {
      requests.push_back(path);
      auto it = bodies.find(path);
      if (it == bodies.end()) {
        return Error(ErrorCode::kNotFound, "the server could not find the requested resource")
            .WithHttp(404, "NotFound");
      }
      return Json::parse(it->second);
    };
  }
};

TEST(Discovery, FetchesOneGroupVersionAndCachesIt) {
  FakeServer server;
  server.bodies["/apis/apps/v1"] = kAppsV1;
  server.bodies["/api/v1"] = kCoreV1;
  Discovery discovery(server.Fetch());
  auto dep = discovery.Find({"apps", "v1", "Deployment"});
  ASSERT_TRUE(dep.ok());
  EXPECT_EQ(dep->resource, "deployments");
  ASSERT_TRUE(discovery.Find({"apps", "v1", "ControllerRevision"}).ok());
  auto ns = discovery.Find({"", "v1", "Namespace"});
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->namespaced);
  auto pod = discovery.Find({"", "v1", "Pod"});
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->resource, "pods");
  EXPECT_EQ(server.requests, (std::vector<std::string>{"/apis/apps/v1", "/api/v1"}));
}

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  Discovery::Clock Now() {
    return [this] { return now; };
  }
};

const char* kWidgets = R"({"groupVersion": "example.com/v1", "resources": [
    {"name": "widgets", "namespaced": true, "kind": "Widget", "verbs": ["get"]}]})";

TEST(Discovery, AMissingKindIsLookedUpAgainSoNewCrdsAreFound) {
  FakeServer server;
  FakeClock clock;
  Discovery discovery(server.Fetch(), clock.Now());
  GroupVersionKind widget{"example.com", "v1", "Widget"};
  auto before = discovery.Find(widget);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(before.error().message(),
            "no matches for kind \"Widget\" in version \"example.com/v1\"");

  server.bodies["/apis/example.com/v1"] = kWidgets;
  clock.now += Discovery::kMissTtl;
  auto after = discovery.Find(widget);
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->resource, "widgets");
  EXPECT_EQ(discovery.fetch_count(), 2);
}

TEST(Discovery, AMissingKindCostsOneRequestUntilItsTimeIsUp) {
  FakeServer server;
  server.bodies["/api/v1"] = kCoreV1;
  FakeClock clock;
  Discovery discovery(server.Fetch(), clock.Now());
  // A kind of no served group-version, and an unknown kind of a served one.
  for (int i = 0; i < 5; ++i) {
    auto widget = discovery.Find({"example.com", "v1", "Widget"});
    ASSERT_FALSE(widget.ok());
    EXPECT_EQ(widget.error().code(), ErrorCode::kNotFound);
    EXPECT_EQ(widget.error().message(),
              "no matches for kind \"Widget\" in version \"example.com/v1\"");
    auto gadget = discovery.Find({"", "v1", "Gadget"});
    ASSERT_FALSE(gadget.ok());
    EXPECT_EQ(gadget.error().code(), ErrorCode::kNotFound);
    clock.now += Discovery::kMissTtl / 10;
  }
  EXPECT_EQ(server.requests, (std::vector<std::string>{"/apis/example.com/v1", "/api/v1"}));
  // The other kinds of a group-version are still found from the cache.
  EXPECT_TRUE(discovery.Find({"", "v1", "Pod"}).ok());
  EXPECT_EQ(discovery.fetch_count(), 2);

  clock.now += Discovery::kMissTtl;
  EXPECT_FALSE(discovery.Find({"example.com", "v1", "Widget"}).ok());
  EXPECT_EQ(discovery.fetch_count(), 3);
}

TEST(Discovery, ForgettingMissesFindsANewKindAtOnce) {
  FakeServer server;
  FakeClock clock;
  Discovery discovery(server.Fetch(), clock.Now());
  GroupVersionKind widget{"example.com", "v1", "Widget"};
  ASSERT_FALSE(discovery.Find(widget).ok());
  server.bodies["/apis/example.com/v1"] = kWidgets;  // its CRD became Established
  ASSERT_FALSE(discovery.Find(widget).ok()) << "still remembered as missing";
  discovery.ForgetMisses();
  auto found = discovery.Find(widget);
  ASSERT_TRUE(found.ok()) << found.error().message();
  EXPECT_EQ(found->resource, "widgets");
}

TEST(Discovery, ASlowAnswerHoldsUpNoOtherKind) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> asked;
  Discovery discovery([&](const std::string& path) -> Result<Json> {
    if (path == "/apis/apps/v1") {
      asked.set_value();
      released.wait();  // the server is slow to answer this one
      return Json::parse(kAppsV1);
    }
    return Json::parse(kCoreV1);
  });
  ASSERT_TRUE(discovery.Find({"", "v1", "Pod"}).ok());
  auto slow = std::async(std::launch::async, [&] {
    return discovery.Find({"apps", "v1", "Deployment"});
  });
  asked.get_future().wait();
  // While apps/v1 is being asked for: a cached kind, a miss and the count all answer.
  auto other = std::async(std::launch::async, [&] {
    bool ok = discovery.Find({"", "v1", "Namespace"}).ok();
    return ok && discovery.fetch_count() == 2;
  });
  const bool answered = other.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  release.set_value();
  EXPECT_TRUE(answered) << "a cached kind waited for another group-version's answer";
  EXPECT_TRUE(other.get());
  auto deployment = slow.get();
  ASSERT_TRUE(deployment.ok()) << deployment.error().message();
  EXPECT_EQ(deployment->resource, "deployments");
}

TEST(Discovery, OtherFailuresAreNotNotFound) {
  Discovery discovery([](const std::string&) -> Result<Json> {
    return Error(ErrorCode::kUnavailable, "cannot reach https://h:1: connection refused");
  });
  auto r = discovery.Find({"apps", "v1", "Deployment"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("discovery of apps/v1"), std::string::npos);
}

}  // namespace
}  // namespace plumbline::kube
