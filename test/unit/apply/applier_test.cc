// The applier against an in-memory API: which requests it sends, in what order, and what it
// reports. (Server-side apply itself, field ownership and real errors: test/integration.)
#include "apply/applier.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "fakes/fake_kube_client.h"

namespace plumbline::apply {
namespace {

using plumbline::testing::FakeKubeClient;

Json ConfigMap(const std::string& name, const std::string& color, const Json& annotations = {}) {
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", name}}},
             {"data", {{"color", color}}}};
  if (!annotations.is_null()) cm["metadata"]["annotations"] = annotations;
  return cm;
}

Json Namespace(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

class ApplierTest : public ::testing::Test {
 protected:
  ApplierTest() {
    owner_.field_manager = "plumbline";
    owner_.name_label = "plumbline.dev/app";
    owner_.namespace_label = "plumbline.dev/app-namespace";
    owner_.name = "web";
    owner_.ns = "team";
  }

  // Prepares `objects` and applies every one, reading each first (no live version known).
  ChangeSet ApplyEverything(std::vector<Json> objects) {
    std::vector<PlannedObject> plan;
    for (auto& p : Prepare(std::move(objects), {&kube_, owner_, ""})) {
      PlannedObject planned;
      planned.prepared = std::move(p);
      plan.push_back(std::move(planned));
    }
    ApplyContext ctx{&kube_, owner_, ""};
    ctx.discovery_grace = discovery_grace_;
    return ApplyAll(std::move(plan), ctx);
  }

  std::string Color(const std::string& name) {
    auto cm = kube_.Stored("v1", "ConfigMap", "team", name);
    return cm ? (*cm)["data"].value("color", "") : "<none>";
  }

  FakeKubeClient kube_;
  Owner owner_;
  std::chrono::milliseconds discovery_grace_{std::chrono::seconds(5)};
};

TEST_F(ApplierTest, NamespacesGoFirstAndEachObjectIsReportedByWhatTheServerDid) {
  ChangeSet first = ApplyEverything({ConfigMap("a", "blue"), Namespace("team")});
  ASSERT_EQ(first.changes.size(), 2u);
  EXPECT_EQ(first.changes[0].key.kind, "Namespace");
  EXPECT_EQ(first.Count(Action::kCreated), 2);
  EXPECT_EQ(kube_.Requests(), (std::vector<std::string>{
                                  "get /api/v1/namespaces/team", "apply /api/v1/namespaces/team",
                                  "get /api/v1/namespaces/team/configmaps/a",
                                  "apply /api/v1/namespaces/team/configmaps/a"}));
  // Defaulted to the owner's namespace, and labelled as the owner's.
  auto stored = kube_.Stored("v1", "ConfigMap", "team", "a");
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(owner_.Owns(*stored));

  ChangeSet again = ApplyEverything({ConfigMap("a", "blue"), Namespace("team")});
  EXPECT_EQ(again.Count(Action::kUnchanged), 2) << again.Summary();

  ChangeSet changed = ApplyEverything({ConfigMap("a", "green"), Namespace("team")});
  EXPECT_EQ(changed.Summary(), "configured 1, unchanged 1");
  EXPECT_EQ(Color("a"), "green");
}

TEST_F(ApplierTest, APlannedOutcomeSendsNothingAndAKnownLiveVersionSkipsTheRead) {
  auto prepared =
      Prepare({ConfigMap("kept", "blue"), ConfigMap("sent", "blue")}, {&kube_, owner_, ""});
  std::vector<PlannedObject> plan(2);
  plan[0].prepared = prepared[0];
  plan[0].outcome = Change{prepared[0].key, Action::kUnchanged, "", Json(), Json()};
  plan[1].prepared = prepared[1];
  plan[1].live_version = "";  // known absent (the watch cache has no such object)
  kube_.ClearRequests();
  ChangeSet result = ApplyAll(std::move(plan), {&kube_, owner_, ""});
  EXPECT_EQ(result.Summary(), "created 1, unchanged 1");
  EXPECT_EQ(kube_.Requests(),
            std::vector<std::string>{"apply /api/v1/namespaces/team/configmaps/sent"});
  EXPECT_EQ(Color("kept"), "<none>");
}

TEST_F(ApplierTest, OneFailureDoesNotStopTheOthersAndNamesTheObject) {
  kube_.SetInterceptor(
      [](const std::string& verb, const std::string& path) -> std::optional<Error> {
        if (verb == "apply" && path.find("/configmaps/bad") != std::string::npos) {
          return Error(ErrorCode::kInvalid, "ConfigMap team/bad: data: Invalid value");
        }
        return std::nullopt;
      });
  ChangeSet result = ApplyEverything(
      {ConfigMap("bad", "x"), ConfigMap("good", "blue"),
       Json{{"apiVersion", "example.com/v1"}, {"kind", "Gizmo"}, {"metadata", {{"name", "g"}}}}});
  EXPECT_EQ(result.Summary(), "created 1, failed 2");
  EXPECT_EQ(Color("good"), "blue");
  EXPECT_NE(result.FirstFailure().find("team/bad"), std::string::npos) << result.FirstFailure();
  bool unknown_named = false;
  for (const auto& c : result.changes) {
    if (c.key.kind == "Gizmo") {
      unknown_named = c.action == Action::kFailed &&
                      c.message.find("no matches for kind \"Gizmo\"") != std::string::npos;
    }
  }
  EXPECT_TRUE(unknown_named);
}

TEST_F(ApplierTest, AnImmutableFieldIsRecreatedOnlyWhenTheObjectAsksForIt) {
  ASSERT_EQ(ApplyEverything({ConfigMap("plain", "blue"),
                             ConfigMap("forced", "blue", {{"plumbline.dev/force", "enabled"}})})
                .Count(Action::kCreated),
            2);
  const std::string forced_uid =
      (*kube_.Stored("v1", "ConfigMap", "team", "forced"))["metadata"]["uid"];
  int refused = 0;
  kube_.SetInterceptor([&](const std::string& verb, const std::string&) -> std::optional<Error> {
    // The server refuses the first apply of each: data is immutable.
    if (verb == "apply" && refused < 2) {
      ++refused;
      return Error(ErrorCode::kInvalid, "field is immutable when `immutable` is set");
    }
    return std::nullopt;
  });
  kube_.ClearRequests();
  ChangeSet result =
      ApplyEverything({ConfigMap("plain", "green"),
                       ConfigMap("forced", "green", {{"plumbline.dev/force", "enabled"}})});
  EXPECT_EQ(result.Summary(), "configured 1, failed 1");
  EXPECT_EQ(Color("plain"), "blue");
  EXPECT_EQ(Color("forced"), "green");
  EXPECT_NE((*kube_.Stored("v1", "ConfigMap", "team", "forced"))["metadata"]["uid"], forced_uid);
  EXPECT_EQ(kube_.Count("delete"), 1);  // only the object that asked
}

TEST_F(ApplierTest, PruneDeletesOnlyWhatIsStillOursInReverseOrder) {
  ASSERT_FALSE(ApplyEverything({Namespace("team"), ConfigMap("ours", "blue"),
                                ConfigMap("kept", "blue", {{"plumbline.dev/prune", "disabled"}}),
                                ConfigMap("relabelled", "blue")})
                   .HasFailures());
  // Someone took "relabelled" over: it no longer carries our labels.
  Json taken = *kube_.Stored("v1", "ConfigMap", "team", "relabelled");
  taken["metadata"]["labels"] = Json::object();
  kube_.Put(taken);

  auto key = [](const std::string& kind, const std::string& ns, const std::string& name) {
    return ObjectKey{"", "v1", kind, ns, name};
  };
  PruneContext ctx{&kube_, owner_, "plumbline-system"};
  kube_.ClearRequests();
  ChangeSet result =
      Prune({key("Namespace", "", "team"), key("ConfigMap", "team", "ours"),
             key("ConfigMap", "team", "kept"), key("ConfigMap", "team", "relabelled"),
             key("ConfigMap", "team", "gone"), key("Namespace", "", "plumbline-system")},
            ctx);
  EXPECT_EQ(result.Summary(), "deleted 3, skipped 3") << result.Summary();
  EXPECT_FALSE(kube_.Stored("v1", "ConfigMap", "team", "ours").has_value());
  EXPECT_TRUE(kube_.Stored("v1", "ConfigMap", "team", "kept").has_value());
  EXPECT_TRUE(kube_.Stored("v1", "ConfigMap", "team", "relabelled").has_value());
  // The namespace goes last, after what it holds.
  auto requests = kube_.Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back(), "delete /api/v1/namespaces/team");
  EXPECT_EQ(kube_.Count("delete"), 2);
}

TEST_F(ApplierTest, AKindServedAMomentAfterItsCrdIsEstablishedStillAppliesInTheSameRun) {
  const Json crd = {{"apiVersion", "apiextensions.k8s.io/v1"},
                    {"kind", "CustomResourceDefinition"},
                    {"metadata", {{"name", "gadgets.example.com"}}},
                    {"spec", {{"group", "example.com"}}}};
  const Json gadget = {{"apiVersion", "example.com/v1"},
                       {"kind", "Gadget"},
                       {"metadata", {{"name", "g1"}}},
                       {"spec", {{"size", 2}}}};
  // The server marks the CRD Established when first asked, and serves its kind 300 ms later
  // (measured on a loaded kube-apiserver: the group-version appears after the condition).
  std::thread serve_later;
  bool fired = false;  // the interceptor runs on this thread (ApplyAll's)
  kube_.SetInterceptor(
      [&](const std::string& verb, const std::string& path) -> std::optional<Error> {
        if (fired || verb != "get" || path.find("/gadgets.example.com") == std::string::npos) {
          return std::nullopt;
        }
        auto stored = kube_.Stored("apiextensions.k8s.io/v1", "CustomResourceDefinition", "",
                                   "gadgets.example.com");
        if (!stored) return std::nullopt;  // the read before the apply
        fired = true;
        Json established = *stored;
        established["status"]["conditions"] = {{{"type", "Established"}, {"status", "True"}}};
        kube_.Put(established);
        serve_later = std::thread([this] {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          kube_.ServeKind("example.com/v1", "Gadget", "gadgets", true);
        });
        return std::nullopt;
      });
  ChangeSet result = ApplyEverything({gadget, crd});
  if (serve_later.joinable()) serve_later.join();
  EXPECT_EQ(result.Summary(), "created 2") << result.FirstFailure();
  EXPECT_TRUE(kube_.Stored("example.com/v1", "Gadget", "team", "g1").has_value());

  // An unchanged CRD brings no grace: a kind of its group that is not served fails at once.
  const auto start = std::chrono::steady_clock::now();
  ChangeSet unknown = ApplyEverything(
      {crd,
       Json{{"apiVersion", "example.com/v2"}, {"kind", "Gadget"}, {"metadata", {{"name", "g2"}}}}});
  EXPECT_EQ(unknown.Summary(), "unchanged 1, failed 1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));

  // A CRD that changed brings the grace to its group; a kind that never comes still fails.
  Json widgets = {{"apiVersion", "apiextensions.k8s.io/v1"},
                  {"kind", "CustomResourceDefinition"},
                  {"metadata", {{"name", "widgets.example.org"}}},
                  {"spec", {{"group", "example.org"}, {"scope", "Cluster"}}},
                  {"status", {{"conditions", {{{"type", "Established"}, {"status", "True"}}}}}}};
  kube_.Put(widgets);
  widgets.erase("status");
  widgets["spec"]["scope"] = "Namespaced";
  discovery_grace_ = std::chrono::milliseconds(200);
  ChangeSet never = ApplyEverything(
      {widgets,
       Json{{"apiVersion", "example.org/v1"}, {"kind", "Widget"}, {"metadata", {{"name", "w"}}}}});
  EXPECT_EQ(never.Summary(), "configured 1, failed 1");
  EXPECT_NE(never.FirstFailure().find("no matches for kind \"Widget\""), std::string::npos)
      << never.FirstFailure();
}

TEST_F(ApplierTest, NothingIsSentPastTheDeadline) {
  std::vector<PlannedObject> plan(1);
  plan[0].prepared = Prepare({ConfigMap("late", "blue")}, {&kube_, owner_, ""})[0];
  ApplyContext ctx{&kube_, owner_, ""};
  ctx.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  kube_.ClearRequests();
  ChangeSet applied = ApplyAll(std::move(plan), ctx);
  EXPECT_EQ(applied.Summary(), "failed 1");
  EXPECT_NE(applied.FirstFailure().find("timed out"), std::string::npos);

  PruneContext prune{&kube_, owner_, "plumbline-system"};
  prune.deadline = ctx.deadline;
  EXPECT_EQ(Prune({ObjectKey{"", "v1", "ConfigMap", "team", "late"}}, prune).Summary(), "failed 1");
  EXPECT_TRUE(kube_.Requests().empty());
}

TEST_F(ApplierTest, TheObjectsOfOnePhaseGoOutTogetherAndTheNextPhaseWaitsForThem) {
  TaskPool pool(4);
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0, most = 0;
  bool namespace_done = false, config_before_namespace = false;
  // Each ConfigMap apply waits (a bounded time) for the others: applied one after another, none
  // would ever see another in flight.
  kube_.SetInterceptor([&](const std::string& verb, const std::string& path) {
    std::unique_lock<std::mutex> lock(mu);
    if (path.find("/configmaps/") == std::string::npos) {
      if (verb == "apply") namespace_done = true;
      return std::optional<Error>();
    }
    config_before_namespace |= !namespace_done;
    if (verb != "apply") return std::optional<Error>();
    most = std::max(most, ++in_flight);
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(3), [&] { return most >= 3; });
    --in_flight;
    return std::optional<Error>();
  });
  std::vector<PlannedObject> plan;
  for (auto& p :
       Prepare({ConfigMap("a", "1"), ConfigMap("b", "2"), ConfigMap("c", "3"), Namespace("team")},
               {&kube_, owner_, ""})) {
    PlannedObject planned;
    planned.prepared = std::move(p);
    planned.live_version = "";  // known absent: no reads
    plan.push_back(std::move(planned));
  }
  ApplyContext ctx{&kube_, owner_, ""};
  ctx.pool = &pool;
  ChangeSet applied = ApplyAll(std::move(plan), ctx);
  EXPECT_EQ(most, 3);
  EXPECT_FALSE(config_before_namespace);
  EXPECT_EQ(applied.Count(Action::kCreated), 4);
  // Reported in plan order, whatever order the answers came in.
  ASSERT_EQ(applied.changes.size(), 4u);
  EXPECT_EQ(applied.changes[0].key.kind, "Namespace");
  EXPECT_EQ(applied.changes[1].key.name, "a");
  EXPECT_EQ(applied.changes[3].key.name, "c");
}

}  // namespace
}  // namespace plumbline::apply
