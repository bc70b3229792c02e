#include "app/conditions.h"

#include "common/redact.h"
#include "common/rfc3339.h"

namespace plumbline::app {

const Json* FindCondition(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions")) return nullptr;
  for (const auto& c : status["conditions"]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}

void SetCondition(Json* status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, int64_t observed_generation) {
  if (!status->is_object()) *status = Json::object();
  Json& conditions = (*status)["conditions"];
  if (!conditions.is_array()) conditions = Json::array();
  std::string s = value ? "True" : "False";
  constexpr size_t kMaxMessage = 32768;  // metav1.Condition's limit
  // Cut first, then repair: the cut may split a character.
  const std::string safe = SafeText(SafeText(message).substr(0, kMaxMessage));
  for (auto& c : conditions) {
    if (c.value("type", "") != type) continue;
    if (c.value("status", "") != s) {
      c["lastTransitionTime"] = FormatRfc3339(std::chrono::system_clock::now());
    }
    c["status"] = s;
    c["reason"] = reason;
    c["message"] = safe;
    c["observedGeneration"] = observed_generation;
    return;
  }
  conditions.push_back({{"type", type},
                        {"status", s},
                        {"reason", reason},
                        {"message", safe},
                        {"observedGeneration", observed_generation},
                        {"lastTransitionTime", FormatRfc3339(std::chrono::system_clock::now())}});
}

void RemoveCondition(Json* status, const std::string& type) {
  if (!status->is_object() || !status->contains("conditions")) return;
  Json& conditions = (*status)["conditions"];
  Json kept = Json::array();
  for (auto& c : conditions) {
    if (c.value("type", "") != type) kept.push_back(c);
  }
  conditions = kept;
}

}  // namespace plumbline::app
