// Records Kubernetes Events (core/v1) on an Application: apply summaries, failures, drift.
// Messages are redacted (no credentials in URLs) and made valid UTF-8. Best effort: a failed
// Event write is logged by the caller, never retried; Record never throws. Thread-safe.
#pragma once

#include <map>
#include <string>

#include "common/json.h"
#include "kube/client.h"

namespace plumbline::events {

enum class Type { kNormal, kWarning };

class Recorder {
 public:
  Recorder(kube::Client& client, std::string component)
      : client_(client), component_(std::move(component)) {}
  // `object` is the involved object (apiVersion, kind, metadata with name, namespace, uid).
  // `annotations` go on the Event (the reconcile's trace id, say).
  Status Record(const Json& object, Type type, const std::string& reason,
                const std::string& message,
                const std::map<std::string, std::string>& annotations = {});

 private:
  kube::Client& client_;
  const std::string component_;
};

}  // namespace plumbline::events
