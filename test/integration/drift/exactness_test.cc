// Drift is exact (PRODUCT §3.5): what the API server defaults or normalizes, and what other
// managers own, is not drift; an unchanged Application costs no per-object request and no write.
#include <gtest/gtest.h>

#include <iostream>

#include "drift_fixture.h"

namespace plumbline {
namespace {

using testing::DriftTest;
using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitRepo;
using testing::MetricSum;

// Writes among requests counted by verb: the verbs that change something.
int Writes(const std::map<std::string, int>& sent) {
  int n = 0;
  for (const char* verb : {"apply", "create", "update", "delete"}) {
    n += sent.count(verb) ? sent.at(verb) : 0;
  }
  return n;
}

class ExactnessTest : public DriftTest {
 protected:
  // Waits until the Application has reconciled `n` more times (each interval is one reconcile).
  bool WaitReconciles(double n, const std::string& app = "web") {
    double start = Reconciles(app);
    return Eventually([&] { return Reconciles(app) >= start + n; }, std::chrono::seconds(60));
  }

  std::map<std::string, std::string> Versions(
      const std::vector<std::tuple<std::string, std::string, std::string>>& objects) {
    std::map<std::string, std::string> out;
    for (const auto& [api, kind, name] : objects) {
      Json o = Live(api, kind, namespace_, name);
      out[kind + "/" + name] = o.is_null() ? "" : o["metadata"].value("resourceVersion", "");
    }
    return out;
  }
};

const char* kDefaultsCrd = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.drift.example.com}
spec:
  group: drift.example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string, default: blue}
              tags: {type: array, items: {type: string}, default: [a, b]}
)";

TEST_F(ExactnessTest, ServerDefaultsAndNormalizationAreNeverDrift) {
  std::string url;
  GitRepo repo = NewRepo("exact", &url);
  // cpu 1000m is stored as 1, memory 1024Mi as 1Gi; imagePullPolicy, terminationMessagePath,
  // sessionAffinity and the Widget's color and tags are defaulted by the server; targetPort and
  // maxSurge are int-or-string fields given as strings.
  repo.Write("app/deploy.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: "25%", maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{name: http, containerPort: 8080}]
        resources:
          requests: {cpu: 1000m, memory: 1024Mi}
          limits: {cpu: "2", memory: 2048Mi}
)");
  repo.Write("app/service.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
)");
  repo.Write("app/crd.yaml", kDefaultsCrd);
  repo.Write("app/widget.yaml",
             "apiVersion: drift.example.com/v1\nkind: Widget\n"
             "metadata: {name: w}\nspec: {size: 3}\n");
  std::string sha = repo.Commit("defaults everywhere");
  ApplyApp("web", Spec(url, "correct", "1s"));
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha &&
           StatusOf(a).value("inventory", Json::array()).size() == 4;
  }));
  // The server really did normalize and default: the comparison below is not trivial.
  Json deploy = Live("apps/v1", "Deployment", namespace_, "web");
  const Json& container = deploy["spec"]["template"]["spec"]["containers"][0];
  ASSERT_EQ(container["resources"]["requests"]["cpu"], "1");
  ASSERT_EQ(container["resources"]["requests"]["memory"], "1Gi");
  ASSERT_EQ(container["imagePullPolicy"], "IfNotPresent");
  ASSERT_EQ(container["terminationMessagePath"], "/dev/termination-log");
  ASSERT_EQ(Live("v1", "Service", namespace_, "web")["spec"]["sessionAffinity"], "None");
  ASSERT_EQ(Live("drift.example.com/v1", "Widget", namespace_, "w")["spec"]["color"], "blue");

  // Let the first reconciles settle (the Widget's kind is watched from the second on).
  ASSERT_TRUE(WaitReconciles(2));
  const std::vector<std::tuple<std::string, std::string, std::string>> objects = {
      {"apps/v1", "Deployment", "web"},
      {"v1", "Service", "web"},
      {"drift.example.com/v1", "Widget", "w"},
      {"apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.drift.example.com"}};
  auto versions = Versions(objects);
  auto& counts = GitOpsEnvironment::Get()->request_counts();
  auto since = std::chrono::steady_clock::now();  // count requests sent from here
  Json app_before = GetApp("web");

  ASSERT_TRUE(WaitReconciles(3));  // three intervals
  auto sent = counts.SentSince(since);
  Json app = GetApp("web");
  EXPECT_EQ(DriftOf(app).value("count", -1), 0) << DriftOf(app).dump();
  EXPECT_EQ(Cond(app, "Drifted", "reason"), "NoDrift");
  EXPECT_EQ(AppMetric("plumbline_drift_detected_total"), 0);
  EXPECT_EQ(Writes(sent), 0) << "a reconcile wrote something";
  EXPECT_EQ(Versions(objects), versions);
  EXPECT_EQ(app["metadata"]["resourceVersion"], app_before["metadata"]["resourceVersion"])
      << "the status was rewritten\nbefore: " << StatusOf(app_before).dump()
      << "\nafter:  " << StatusOf(app).dump();
  EXPECT_EQ(EventCount("DriftDetected") + EventCount("DriftCorrected"), 0);
}

TEST_F(ExactnessTest, OtherManagersFieldsAreNeitherDriftNorOverwritten) {
  std::string url;
  GitRepo repo = NewRepo("managers", &url);
  repo.Write("app/deploy.yaml", testing::kDriftDeployment);
  std::string sha = repo.Commit("web");
  Json spec = Spec(url, "correct", "1s");
  spec["ignoreDifferences"] = Json::array({{{"group", "apps"},
                                            {"kind", "Deployment"},
                                            {"name", "web"},
                                            {"jsonPointers", Json::array({"/spec/replicas"})}}});
  ApplyApp("web", spec);
  ASSERT_TRUE(WaitApp(
      "web", [&](const Json& a) { return StatusOf(a).value("lastAppliedRevision", "") == sha; }));

  // An autoscaler owns replicas (ignored by the Application); someone adds an annotation git
  // does not set.
  EditAs("autoscaler", "apps/v1", "Deployment", "web", {{"spec", {{"replicas", 5}}}});
  EditAs("annotator", "apps/v1", "Deployment", "web",
         {{"metadata", {{"annotations", {{"example.com/owner", "team-a"}}}}}});
  const std::string edited_version =
      Live("apps/v1", "Deployment", namespace_, "web")["metadata"]["resourceVersion"];
  ASSERT_TRUE(WaitReconciles(3));

  // Not written since the edits (the status may change: the rollout now waits for 5 replicas).
  Json live = Live("apps/v1", "Deployment", namespace_, "web");
  EXPECT_EQ(live["metadata"]["resourceVersion"], edited_version);
  EXPECT_EQ(live["spec"]["replicas"], 5);
  EXPECT_EQ(live["metadata"]["annotations"]["example.com/owner"], "team-a");
  EXPECT_EQ(DriftOf(GetApp("web")).value("count", -1), 0);
  EXPECT_EQ(AppMetric("plumbline_drift_detected_total"), 0);

  // A change to the Deployment in git is applied, and still keeps the autoscaler's replicas.
  std::string manifest = testing::kDriftDeployment;
  manifest.replace(manifest.find("nginx:1.25"), 10, "nginx:1.26");
  repo.Write("app/deploy.yaml", manifest);
  std::string sha2 = repo.Commit("nginx 1.26");
  ASSERT_TRUE(WaitApp(
      "web", [&](const Json& a) { return StatusOf(a).value("lastAppliedRevision", "") == sha2; }));
  EXPECT_EQ(LiveImage(), "nginx:1.26");
  live = Live("apps/v1", "Deployment", namespace_, "web");
  EXPECT_EQ(live["spec"]["replicas"], 5);
  EXPECT_EQ(live["metadata"]["annotations"]["example.com/owner"], "team-a");
  EXPECT_EQ(DriftOf(GetApp("web")).value("count", -1), 0);
}

// git declares empty maps; kube-controller-manager adds the Deployment's revision annotation
// and another controller a ConfigMap key. Neither is drift, so nothing is re-applied.
TEST_F(ExactnessTest, KeysOtherManagersAddToAnEmptyMapInGitAreNotDrift) {
  std::string url;
  GitRepo repo = NewRepo("empty-maps", &url);
  std::string deployment = testing::kDriftDeployment;
  deployment.replace(deployment.find("metadata: {name: web}"), 21,
                     "metadata: {name: web, annotations: {}}");
  repo.Write("app/deploy.yaml", deployment);
  repo.Write("app/config.yaml",
             "apiVersion: v1\nkind: ConfigMap\n"
             "metadata: {name: settings, annotations: {}}\ndata: {}\n");
  std::string sha = repo.Commit("empty maps");
  ApplyApp("web", Spec(url, "correct", "1s"));
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha &&
           StatusOf(a).value("inventory", Json::array()).size() == 2;
  }));
  ASSERT_TRUE(WaitReconciles(2));

  UpdateAs("kube-controller-manager", "apps/v1", "Deployment", "web", [](Json& d) {
    d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "1";
  });
  UpdateAs("settings-controller", "v1", "ConfigMap", "settings", [](Json& c) {
    c["data"]["generated"] = "by another controller";
    c["metadata"]["annotations"]["example.com/generated"] = "true";
  });
  const std::vector<std::tuple<std::string, std::string, std::string>> objects = {
      {"apps/v1", "Deployment", "web"}, {"v1", "ConfigMap", "settings"}};
  auto versions = Versions(objects);
  auto& counts = GitOpsEnvironment::Get()->request_counts();
  auto since = std::chrono::steady_clock::now();  // count requests sent from here

  ASSERT_TRUE(WaitReconciles(3));  // three intervals, and the watch events long since
  auto sent = counts.SentSince(since);
  Json app = GetApp("web");
  EXPECT_EQ(DriftOf(app).value("count", -1), 0) << DriftOf(app).dump();
  EXPECT_EQ(Cond(app, "Drifted", "reason"), "NoDrift") << Cond(app, "Drifted", "message");
  EXPECT_EQ(AppMetric("plumbline_drift_detected_total"), 0);
  EXPECT_EQ(EventCount("DriftDetected") + EventCount("DriftCorrected"), 0);
  EXPECT_EQ(Writes(sent), 0) << "an object was re-applied\n"
                             << Live("apps/v1", "Deployment", namespace_, "web")["metadata"].dump()
                             << "\n"
                             << Live("v1", "ConfigMap", namespace_, "settings")["metadata"].dump();
  EXPECT_EQ(Versions(objects), versions);
  Json config = Live("v1", "ConfigMap", namespace_, "settings");
  EXPECT_EQ(config["data"]["generated"], "by another controller");

  // What git does own in those objects is still watched.
  SetImage("nginx:evil");
  ASSERT_TRUE(Eventually([&] { return LiveImage() == "nginx:1.25"; }));
  EXPECT_EQ(Live("apps/v1", "Deployment", namespace_,
                 "web")["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1");
}

// Every shape a manifest's field can take, on a custom resource whose schema says how each
// merges. Fields another manager adds to a granular map, list or set are not drift; an atomic
// map or list another manager changed is (the change took it from git, as a dry-run apply would
// show), and so is a changed scalar.
const char* kShapesCrd = R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: shapes.drift.example.com}
spec:
  group: drift.example.com
  names: {kind: Shape, plural: shapes, singular: shape}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              note: {type: string}
              labels: {type: object, additionalProperties: {type: string}}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties: {name: {type: string}, port: {type: integer}}
              tags: {type: array, x-kubernetes-list-type: set, items: {type: string}}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
              steps: {type: array, items: {type: object, properties: {run: {type: string}}}}
              selector:
                type: object
                x-kubernetes-map-type: atomic
                additionalProperties: {type: string}
              args: {type: array, x-kubernetes-list-type: atomic, items: {type: string}}
)";

TEST_F(ExactnessTest, OnlyFieldsGitOwnsAreDriftWhateverTheirShape) {
  std::string url;
  GitRepo repo = NewRepo("shapes", &url);
  repo.Write("app/crd.yaml", kShapesCrd);
  repo.Write("app/shape.yaml", R"(apiVersion: drift.example.com/v1
kind: Shape
metadata: {name: s}
spec:
  size: 1
  note: ""
  labels: {}
  ports: []
  tags: []
  extra: {}
  steps: []
  selector: {}
  args: []
)");
  std::string sha = repo.Commit("shapes");
  // A 1 s interval: Shapes are watched from the second reconcile on, once the kind is known.
  ApplyApp("web", Spec(url, "report", "1s"));
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAppliedRevision", "") == sha &&
           StatusOf(a).value("inventory", Json::array()).size() == 2;
  }));
  const std::string kApi = "drift.example.com/v1";
  // Wait until a change to the Shape is seen, then undo it.
  EditAs("kubectl-edit", kApi, "Shape", "s", {{"spec", {{"size", 2}}}});
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "True"; }));
  EditAs("kubectl-edit", kApi, "Shape", "s", {{"spec", {{"size", 1}}}});
  ASSERT_TRUE(WaitApp("web", [](const Json& a) { return Cond(a, "Drifted") == "False"; }));

  // Another controller adds to every granular field git declares empty.
  UpdateAs("other-controller", kApi, "Shape", "s", [](Json& o) {
    Json& spec = o["spec"];
    spec["labels"]["added"] = "x";
    spec["ports"].push_back({{"name", "metrics"}, {"port", 9090}});
    spec["tags"].push_back("added");
    spec["extra"]["added"] = {{"nested", true}};
  });
  // Then changes a field git owns, on the same object (its watch delivers in order): once that
  // is reported, the additions were judged too, and only the changed field is drift.
  EditAs("kubectl-edit", kApi, "Shape", "s", {{"spec", {{"size", 3}}}});
  auto fields = [](const Json& a) {
    Json objects = DriftOf(a).value("objects", Json::array());
    return objects.size() == 1 ? objects[0].value("fields", Json::array()) : Json::array();
  };
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) { return !fields(a).empty(); }));
  Json app = GetApp("web");
  EXPECT_EQ(fields(app), Json::array({"/spec/size"}))
      << DriftOf(app).dump() << "\n"
      << Live(kApi, "Shape", namespace_, "s")["metadata"]["managedFields"].dump();

  // Atomic fields another manager changed now belong to it: drift, as a dry run would show.
  UpdateAs("other-controller", kApi, "Shape", "s", [](Json& o) {
    Json& spec = o["spec"];
    spec["selector"]["added"] = "x";
    spec["args"].push_back("--added");
    spec["steps"].push_back({{"run", "added"}});
  });
  const Json want = Json::array({"/spec/args", "/spec/selector", "/spec/size", "/spec/steps"});
  EXPECT_TRUE(WaitApp("web", [&](const Json& a) { return fields(a) == want; }))
      << DriftOf(GetApp("web")).dump() << "\n"
      << Live(kApi, "Shape", namespace_, "s")["metadata"]["managedFields"].dump();
}

TEST_F(ExactnessTest, UnchangedObjectsCostNoRequestsAndOneDriftCostsAFew) {
  constexpr int kObjects = 300;
  std::string url;
  GitRepo repo = NewRepo("cost", &url);
  for (int i = 0; i < kObjects; ++i) {
    repo.Write("app/cm" + std::to_string(i) + ".yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm" + std::to_string(i) +
                   "}\ndata: {index: \"" + std::to_string(i) + "\"}\n");
  }
  std::string sha = repo.Commit("300 ConfigMaps");
  ApplyApp("web", Spec(url, "correct", "1s"));
  ASSERT_TRUE(ReadyAt("web", sha));
  std::vector<std::string> names;
  for (int i = 0; i < kObjects; ++i) names.push_back("cm" + std::to_string(i));
  ASSERT_TRUE(WaitCached("v1", "ConfigMap", names));
  ASSERT_TRUE(WaitReconciles(2));

  auto& counts = GitOpsEnvironment::Get()->request_counts();
  auto server_metrics = [&] {
    auto text = client_->GetText("/metrics");
    EXPECT_TRUE(text.ok()) << text.error().message();
    return text.ok() ? *text : std::string();
  };
  // kube-apiserver's own count of requests on the managed kind and on Applications.
  auto server_count = [&](const std::string& text, const std::string& resource,
                          const std::string& verb) {
    return MetricSum(text, "apiserver_request_total", {{"resource", resource}, {"verb", verb}})
        .value_or(0);
  };
  std::string cm0_version =
      Live("v1", "ConfigMap", namespace_, "cm0")["metadata"]["resourceVersion"];
  std::string server_before = server_metrics();
  auto since = std::chrono::steady_clock::now();  // count requests sent from here
  double reconciles_before = Reconciles();
  ASSERT_TRUE(WaitReconciles(3));  // three intervals
  auto sent = counts.SentSince(since);
  std::string server_after = server_metrics();
  double reconciles = Reconciles() - reconciles_before;

  // The client's own count: one GET of the Application per reconcile, nothing per object.
  EXPECT_EQ(Writes(sent), 0);
  EXPECT_EQ(sent["list"], 0);
  EXPECT_LE(sent["get"], reconciles + 1);
  EXPECT_GE(reconciles, 3);
  // The API server's count agrees: no request of any verb on ConfigMaps, no write to the
  // Application.
  for (const char* verb : {"GET", "LIST", "APPLY", "PATCH", "POST", "PUT", "DELETE"}) {
    EXPECT_EQ(server_count(server_after, "configmaps", verb),
              server_count(server_before, "configmaps", verb))
        << verb << " configmaps";
  }
  for (const char* verb : {"APPLY", "PATCH", "PUT"}) {
    EXPECT_EQ(server_count(server_after, "applications", verb),
              server_count(server_before, "applications", verb))
        << verb << " applications";
  }
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "cm0")["metadata"]["resourceVersion"], cm0_version);
  std::cout << "unchanged reconcile of " << kObjects
            << " objects: " << double(sent["get"]) / reconciles << " API requests per reconcile ("
            << reconciles << " reconciles)\n";

  // One drifted object: polling off, so only the watch explains what follows.
  Json spec = Spec(url, "correct", "1h");
  ApplyApp("web", spec);
  ASSERT_TRUE(WaitApp("web", [](const Json& a) {
    return StatusOf(a).value("observedGeneration", 0) == a["metadata"].value("generation", -1);
  }));
  since = std::chrono::steady_clock::now();
  server_before = server_metrics();
  EditAs("kubectl-edit", "v1", "ConfigMap", "cm7", {{"data", {{"index", "seventy"}}}});
  ASSERT_TRUE(Eventually([&] {
    return Live("v1", "ConfigMap", namespace_, "cm7")["data"].value("index", "") == "7";
  }));
  ASSERT_TRUE(WaitApp(
      "web", [](const Json& a) { return Cond(a, "Drifted", "reason") == "DriftCorrected"; }));
  // The request hook runs just after the response that made the status visible.
  ASSERT_TRUE(Eventually([&] { return counts.SentSince(since)["apply"] >= 2; }));
  sent = counts.SentSince(since);
  server_after = server_metrics();
  // The correction (1 apply), the status (1 apply), one Event, and at most two GETs of the
  // Application (none when a reconcile already under way picks the drift up). A reconcile under
  // way (the old 1s interval's last one) may also report the drift in a status of its own
  // before the wake-up corrects it: then 3 applies. Either way O(1), not per object.
  EXPECT_GE(sent["apply"], 2);
  EXPECT_LE(sent["apply"], 3);
  EXPECT_EQ(sent["create"], 1);
  EXPECT_LE(sent["get"], 2);
  EXPECT_EQ(sent["list"], 0);
  EXPECT_EQ(server_count(server_after, "configmaps", "APPLY") -
                server_count(server_before, "configmaps", "APPLY"),
            2);  // the test's edit and the controller's correction
}

}  // namespace
}  // namespace plumbline
