#include "health/health.h"

namespace plumbline::health {
namespace {

int64_t Int(const Json& obj, const char* field, int64_t def = 0) {
  if (!obj.is_object() || !obj.contains(field) || !obj[field].is_number()) return def;
  return obj[field].get<int64_t>();
}

// The condition of `type`, or null.
const Json* Condition(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) {
    return nullptr;
  }
  for (const auto& c : status["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

bool ConditionIs(const Json& status, const std::string& type, const std::string& value) {
  const Json* c = Condition(status, type);
  return c && c->value("status", "") == value;
}

Assessment Progressing(std::string message) { return {State::kProgressing, std::move(message)}; }
Assessment Degraded(std::string message) { return {State::kDegraded, std::move(message)}; }

// The controller has not yet looked at the latest spec.
bool Stale(const Json& live, const Json& status) {
  int64_t generation = Int(live["metadata"], "generation");
  return generation > 0 && Int(status, "observedGeneration", -1) < generation;
}

Assessment Deployment(const Json& live, const Json& status) {
  if (Stale(live, status)) return Progressing("waiting for the rollout to start");
  const Json* progressing = Condition(status, "Progressing");
  if (progressing && progressing->value("reason", "") == "ProgressDeadlineExceeded") {
    return Degraded("rollout exceeded its progress deadline");
  }
  int64_t want = Int(live["spec"], "replicas", 1);
  int64_t updated = Int(status, "updatedReplicas");
  int64_t available = Int(status, "availableReplicas");
  int64_t total = Int(status, "replicas");
  if (updated < want) {
    return Progressing(std::to_string(updated) + " of " + std::to_string(want) +
                       " replicas updated");
  }
  if (total > updated) return Progressing("old replicas are still terminating");
  if (available < want) {
    return Progressing(std::to_string(available) + " of " + std::to_string(want) +
                       " updated replicas available");
  }
  return {};
}

Assessment StatefulSet(const Json& live, const Json& status) {
  if (Stale(live, status)) return Progressing("waiting for the rollout to start");
  int64_t want = Int(live["spec"], "replicas", 1);
  int64_t ready = Int(status, "readyReplicas");
  if (ready < want) {
    return Progressing(std::to_string(ready) + " of " + std::to_string(want) + " replicas ready");
  }
  if (status.value("updateRevision", "") != status.value("currentRevision", "") &&
      Int(status, "updatedReplicas") < want) {
    return Progressing("rolling update in progress");
  }
  return {};
}

Assessment DaemonSet(const Json& live, const Json& status) {
  if (Stale(live, status)) return Progressing("waiting for the rollout to start");
  int64_t want = Int(status, "desiredNumberScheduled");
  if (Int(status, "updatedNumberScheduled") < want || Int(status, "numberAvailable") < want) {
    return Progressing(std::to_string(Int(status, "numberAvailable")) + " of " +
                       std::to_string(want) + " pods available");
  }
  return {};
}

Assessment Job(const Json& status) {
  if (ConditionIs(status, "Failed", "True")) {
    const Json* c = Condition(status, "Failed");
    return Degraded("job failed: " + c->value("message", c->value("reason", "")));
  }
  if (ConditionIs(status, "Complete", "True")) return {};
  return Progressing("job has not completed");
}

Assessment Pod(const Json& status) {
  std::string phase = status.value("phase", "");
  if (phase == "Succeeded") return {};
  if (phase == "Failed") return Degraded("pod failed");
  if (phase == "Running" && ConditionIs(status, "Ready", "True")) return {};
  return Progressing("pod is " + (phase.empty() ? std::string("Pending") : phase));
}

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kHealthy:
      return "Healthy";
    case State::kProgressing:
      return "Progressing";
    case State::kDegraded:
      return "Degraded";
  }
  return "Unknown";
}

Assessment Assess(const Json& live) {
  const std::string api = live.value("apiVersion", "");
  const std::string kind = live.value("kind", "");
  const Json status = live.value("status", Json::object());
  std::string group = api.find('/') == std::string::npos ? "" : api.substr(0, api.find('/'));
  if (group == "apps" && kind == "Deployment") return Deployment(live, status);
  if (group == "apps" && kind == "StatefulSet") return StatefulSet(live, status);
  if (group == "apps" && kind == "DaemonSet") return DaemonSet(live, status);
  if (group == "batch" && kind == "Job") return Job(status);
  if (group.empty() && kind == "Pod") return Pod(status);
  if (group.empty() && kind == "PersistentVolumeClaim") {
    std::string phase = status.value("phase", "");
    if (phase == "Bound") return {};
    if (phase == "Lost") return Degraded("claim lost its volume");
    return Progressing("claim is " + (phase.empty() ? std::string("Pending") : phase));
  }
  if (group.empty() && kind == "Service") {
    if (live["spec"].value("type", "") != "LoadBalancer") return {};
    const Json lb = status.value("loadBalancer", Json::object());
    if (lb.contains("ingress") && lb["ingress"].is_array() && !lb["ingress"].empty()) return {};
    return Progressing("waiting for a load balancer address");
  }
  if (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition") {
    return ConditionIs(status, "Established", "True") ? Assessment{}
                                                      : Progressing("not Established yet");
  }
  if (const Json* ready = Condition(status, "Ready")) {
    if (Stale(live, status)) return Progressing("waiting for its controller to observe it");
    std::string value = ready->value("status", "");
    if (value == "True") return {};
    std::string why = ready->value("message", ready->value("reason", ""));
    if (ConditionIs(status, "Stalled", "True")) return Degraded("stalled: " + why);
    return Progressing("not Ready: " + why);
  }
  return {};
}

}  // namespace plumbline::health
