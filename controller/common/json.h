// The JSON value type used for Kubernetes objects throughout the controller.
// nlohmann/json is heavy to compile: include this only where objects are handled.
#pragma once

#include <nlohmann/json.hpp>

namespace plumbline {
using Json = nlohmann::json;
}  // namespace plumbline
