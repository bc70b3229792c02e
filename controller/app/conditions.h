// Status conditions as Kubernetes uses them (metav1.Condition): setting one keeps its
// lastTransitionTime unless its status changes. Messages are stored redacted (no credentials in
// URLs) and valid UTF-8. Operates on a status JSON object.
#pragma once

#include <string>

#include "common/json.h"

namespace plumbline::app {

// Condition types (PRODUCT §2).
inline constexpr char kReady[] = "Ready";
inline constexpr char kReconciling[] = "Reconciling";
inline constexpr char kStalled[] = "Stalled";
inline constexpr char kHealthy[] = "Healthy";
inline constexpr char kDrifted[] = "Drifted";
// Present under spec.verify: whether the revision's signature verified.
inline constexpr char kSourceVerified[] = "SourceVerified";

void SetCondition(Json* status, const std::string& type, bool value, const std::string& reason,
                  const std::string& message, int64_t observed_generation);
void RemoveCondition(Json* status, const std::string& type);
// nullptr when absent.
const Json* FindCondition(const Json& status, const std::string& type);

}  // namespace plumbline::app
