// The Application custom resource (plumbline.dev/v1alpha1, PRODUCT §2): its spec as a typed
// value with defaults applied, and the names the controller uses on it. Plain values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "apply/owner.h"
#include "common/error.h"
#include "common/json.h"

namespace plumbline::app {

inline constexpr char kGroup[] = "plumbline.dev";
inline constexpr char kVersion[] = "v1alpha1";
inline constexpr char kApiVersion[] = "plumbline.dev/v1alpha1";
inline constexpr char kKind[] = "Application";
inline constexpr char kFinalizer[] = "plumbline.dev/finalizer";
inline constexpr char kFieldManager[] = "plumbline";
// Labels on every object Plumbline applies, naming the Application that owns it.
inline constexpr char kNameLabel[] = "plumbline.dev/name";
inline constexpr char kNamespaceLabel[] = "plumbline.dev/namespace";
inline constexpr char kRequestedAtAnnotation[] = "plumbline.dev/requested-at";
// Set beside requested-at by a webhook whose request carried a W3C traceparent: the reconcile
// that answers links its trace to the push's.
inline constexpr char kTraceparentAnnotation[] = "plumbline.dev/traceparent";
// On each Event the controller records: the trace of the reconcile that recorded it.
inline constexpr char kTraceIdAnnotation[] = "plumbline.dev/trace-id";

struct IgnoreDifference {
  std::string group, kind, name, ns;
  std::vector<std::string> json_pointers;
};

// spec.drift: what a live change that git does not hold leads to.
enum class DriftMode {
  kCorrect,  // re-applied from git at once
  kReport,   // reported (condition, Event, metric) and left alone
};
// "correct" or "report", as spec.drift spells it.
const char* ToString(DriftMode mode);

// spec.source.helm: the path holds a chart, rendered with `helm template`.
struct HelmSpec {
  std::string release_name;               // "" = the Application's name
  std::vector<std::string> values_files;  // relative to the chart's path, in order
  Json values = Json::object();           // applied last, over the files
};

// spec.verify.mode: which signatures must verify before a revision is rendered (as Flux's
// GitRepository spells them).
enum class VerifyMode {
  kHead,        // the commit's
  kTag,         // the annotated tag's that spec.source.revision names
  kTagAndHead,  // both
};
const char* ToString(VerifyMode mode);

// spec.verify: only signed commits (or tags) whose key is in the Secret are applied.
struct VerifySpec {
  VerifyMode mode = VerifyMode::kHead;
  std::string secret_name;  // the trusted public keys
};

// spec.policy: rules of the controller's policy server (--policy-url) that this Application's
// revisions must also pass, as OPA data paths ("plumbline/production/deny"). The server's
// default rule always applies: an Application can add rules, never remove it.
struct PolicySpec {
  std::vector<std::string> rules;
};

struct Spec {
  std::string repo_url;
  std::string revision;  // "" = the remote's HEAD branch
  std::string path = ".";
  std::string secret_name;
  std::string destination_namespace;
  std::chrono::milliseconds interval{std::chrono::minutes(3)};
  bool prune = false;
  bool allow_empty = false;
  DriftMode drift = DriftMode::kCorrect;
  bool suspend = false;
  std::string service_account_name;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::vector<IgnoreDifference> ignore_differences;
  std::optional<HelmSpec> helm;
  // spec.decryption (provider sops): the Secret holding the age keys; "" = not configured.
  std::string decryption_secret;
  std::optional<VerifySpec> verify;
  PolicySpec policy;
};

// Reads spec with defaults (`default_interval` for an Application that sets none). Errors are
// spec errors: retrying will not fix them (Stalled).
Result<Spec> ParseSpec(const Json& application,
                       std::chrono::milliseconds default_interval = std::chrono::minutes(3));

// The owner of what the Application `ns`/`name` applies: our field manager and labels.
apply::Owner OwnerOf(const std::string& name, const std::string& ns);

// "namespace/name" of an object.
std::string KeyOf(const Json& object);

}  // namespace plumbline::app
