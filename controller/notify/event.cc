#include "notify/event.h"

#include <array>
#include <utility>

namespace plumbline::notify {
namespace {

constexpr std::array<std::pair<EventType, const char*>, 7> kNames = {{
    {EventType::kApplying, "applying"},
    {EventType::kDeployed, "deployed"},
    {EventType::kFailed, "failed"},
    {EventType::kDrifted, "drifted"},
    {EventType::kDriftCorrected, "drift-corrected"},
    {EventType::kRecovered, "recovered"},
    {EventType::kReverted, "reverted"},
}};

}  // namespace

const char* ToString(EventType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) return name;
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view text) {
  for (const auto& [t, name] : kNames) {
    if (text == name) return t;
  }
  return std::nullopt;
}

}  // namespace plumbline::notify
