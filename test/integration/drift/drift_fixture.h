// Shared helpers for the drift tests: an Application on a one-Deployment repo, edits made as
// another field manager (as kubectl or an autoscaler would), and the controller's metrics.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "support/gitops_env.h"
#include "support/metrics_text.h"
#include "support/process.h"

namespace plumbline::testing {

inline constexpr char kDriftDeployment[] = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
)";

inline constexpr char kImagePointer[] = "/spec/template/spec/containers/0/image";

class DriftTest : public GitOpsTest {
 protected:
  // interval 1h: anything that happens within a test was caused by a watch, not by polling.
  Json Spec(const std::string& url, const std::string& drift, const std::string& interval = "1h") {
    return {{"source", {{"repoURL", url}, {"path", "app"}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", interval},
            {"drift", drift}};
  }

  // Applies `patch` (apiVersion/kind/metadata.name filled in) as field manager `manager`,
  // forcing ownership, as `kubectl apply --server-side --force-conflicts` would.
  void EditAs(const std::string& manager, const std::string& api_version, const std::string& kind,
              const std::string& name, Json patch) {
    patch["apiVersion"] = api_version;
    patch["kind"] = kind;
    patch["metadata"]["name"] = name;
    patch["metadata"]["namespace"] = namespace_;
    kube::ApplyOptions options;
    options.field_manager = manager;
    options.force = true;
    auto applied = client_->Apply(patch, options);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }

  // Changes the live object with `change` and writes it back (PUT) as field manager `manager`:
  // an Update, as controllers such as kube-controller-manager and `kubectl edit` write.
  void UpdateAs(const std::string& manager, const std::string& api_version, const std::string& kind,
                const std::string& name, const std::function<void(Json&)>& change) {
    Json live = Live(api_version, kind, namespace_, name);
    ASSERT_FALSE(live.is_null()) << kind << "/" << name;
    change(live);
    auto updated = client_->Update(live, manager);
    ASSERT_TRUE(updated.ok()) << updated.error().message();
  }

  void SetImage(const std::string& image) {
    EditAs(
        "kubectl-edit", "apps/v1", "Deployment", "web",
        {{"spec",
          {{"template",
            {{"spec", {{"containers", Json::array({{{"name", "web"}, {"image", image}}})}}}}}}}});
  }

  std::string LiveImage() {
    Json d = Live("apps/v1", "Deployment", namespace_, "web");
    if (d.is_null()) return "";
    return d["spec"]["template"]["spec"]["containers"][0].value("image", "");
  }

  // A metric of Application `app` in this test's namespace (nullopt: no such series).
  std::optional<double> AppMetric(const std::string& name, const std::string& app = "web",
                                  std::map<std::string, std::string> labels = {}) {
    labels["namespace"] = namespace_;
    labels["name"] = app;
    return MetricSum(GitOpsEnvironment::Get()->metrics().Scrape(), name, labels);
  }

  double Reconciles(const std::string& app = "web") {
    return AppMetric("plumbline_reconcile_total", app).value_or(0);
  }

  // Events on the Application with this reason.
  int EventCount(const std::string& reason, const std::string& app = "web") {
    auto events = client_->Resource({"", "v1", "Event"});
    if (!events.ok()) return -1;
    auto list = client_->List(*events, namespace_);
    if (!list.ok()) return -1;
    int n = 0;
    for (const auto& e : list->items) {
      if (e["involvedObject"].value("name", "") == app && e.value("reason", "") == reason) {
        n += e.value("count", 1);
      }
    }
    return n;
  }

  static Json DriftOf(const Json& app) { return StatusOf(app).value("drift", Json::object()); }
};

}  // namespace plumbline::testing
