// RFC 3339 timestamps, the format of Kubernetes metav1.Time ("2026-11-22T20:05:22Z").
// Stateless and thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "common/error.h"

namespace plumbline {

using SystemTime = std::chrono::system_clock::time_point;

// Accepts "Z" or a numeric offset and optional fractional seconds.
Result<SystemTime> ParseRfc3339(const std::string& text);
// Always UTC, second precision, as the API server writes metav1.Time.
std::string FormatRfc3339(SystemTime time);
// UTC with microseconds, as metav1.MicroTime ("2026-11-22T20:05:22.123456Z").
std::string FormatRfc3339Micro(SystemTime time);

}  // namespace plumbline
