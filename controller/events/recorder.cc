#include "events/recorder.h"

#include "common/redact.h"
#include "common/rfc3339.h"

namespace plumbline::events {

Status Recorder::Record(const Json& object, Type type, const std::string& reason,
                        const std::string& message,
                        const std::map<std::string, std::string>& annotations) {
  const Json& meta = object["metadata"];
  std::string now = FormatRfc3339(std::chrono::system_clock::now());
  constexpr size_t kMaxMessage = 1024;  // the API limits Event messages
  Json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata",
                 {{"generateName", meta.value("name", "object") + "."},
                  {"namespace", meta.value("namespace", "default")}}},
                {"involvedObject",
                 {{"apiVersion", object.value("apiVersion", "")},
                  {"kind", object.value("kind", "")},
                  {"name", meta.value("name", "")},
                  {"namespace", meta.value("namespace", "")},
                  {"uid", meta.value("uid", "")},
                  {"resourceVersion", meta.value("resourceVersion", "")}}},
                {"reason", reason},
                // Cut first, then repair: the cut may split a character.
                {"message", SafeText(SafeText(message).substr(0, kMaxMessage))},
                {"type", type == Type::kWarning ? "Warning" : "Normal"},
                {"source", {{"component", component_}}},
                {"reportingComponent", component_},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"count", 1}};
  for (const auto& [key, value] : annotations) {
    event["metadata"]["annotations"][key] = SafeText(value);
  }
  try {
    auto created = client_.Create(event);
    if (!created.ok()) return created.error();
  } catch (const std::exception& e) {  // an involved object of an odd shape: never throw
    return Error(ErrorCode::kInternal, std::string("recording an Event: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace plumbline::events
