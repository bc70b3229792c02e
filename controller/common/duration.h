// Go-style durations ("90s", "1m30s", "1h", "500ms"), the format of Kubernetes API durations.
// Stateless and thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "common/error.h"

namespace plumbline {

Result<std::chrono::milliseconds> ParseDuration(const std::string& text);
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace plumbline
