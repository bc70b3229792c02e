// Health of a live object (PRODUCT §3.7): workloads whose rollout is complete, finished Jobs,
// bound PVCs, LoadBalancers with an address, Established CRDs, and anything with a standard
// Ready condition. Kinds with no notion of health are healthy once they exist. Pure function.
#pragma once

#include <string>

#include "common/json.h"

namespace plumbline::health {

enum class State { kHealthy, kProgressing, kDegraded };

struct Assessment {
  State state = State::kHealthy;
  std::string message;  // why not healthy
};

Assessment Assess(const Json& live);
const char* StateName(State state);

}  // namespace plumbline::health
