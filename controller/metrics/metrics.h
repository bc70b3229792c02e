// The controller's Prometheus metrics (PRODUCT §6), behind one seam: nothing else sees
// prometheus-cpp. Per-Application series are created, all at zero, when the Application is first
// seen, so alerts never see gaps, and removed when it is deleted.
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/mutex.h"

namespace prometheus {
class Registry;
class Exposer;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace plumbline::metrics {

// plumbline_apply_total{action}.
enum class ApplyAction { kCreated, kConfigured, kDeleted, kUnchanged };
// plumbline_policy_evaluations_total{result}.
enum class PolicyResult { kAllowed, kDenied, kError };

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves /metrics on `address` ("host:port", ":port" for all interfaces, port 0 for any free
  // one). Call once.
  Status Serve(const std::string& address);
  // The port Serve() bound (0 before).
  int port() const;
  // The text exposition, as /metrics serves it.
  std::string Scrape() const;

  // Per Application ("namespace", "name").
  void AppSeen(const std::string& ns, const std::string& name);
  void AppGone(const std::string& ns, const std::string& name);
  void ReconcileDone(const std::string& ns, const std::string& name, bool success, double seconds);
  void GitFetched(const std::string& ns, const std::string& name, bool success, double seconds);
  void Applied(const std::string& ns, const std::string& name, ApplyAction action, int count);
  void SetManaged(const std::string& ns, const std::string& name, int count);
  void SetDrifted(const std::string& ns, const std::string& name, int count);
  void DriftDetected(const std::string& ns, const std::string& name, int objects);
  void DriftCorrected(const std::string& ns, const std::string& name, int objects);
  void SetReady(const std::string& ns, const std::string& name, bool ready);
  void SetSuspended(const std::string& ns, const std::string& name, bool suspended);
  void SetLastApplied(const std::string& ns, const std::string& name, double unix_seconds);
  // DORA: a new revision applied, with its lead time (commit to applied).
  void Deployed(const std::string& ns, const std::string& name, double lead_time_seconds);
  void ChangeFailed(const std::string& ns, const std::string& name);
  void Restored(const std::string& ns, const std::string& name, double seconds);
  // spec.verify refused a revision.
  void VerificationFailed(const std::string& ns, const std::string& name);
  void PolicyEvaluated(const std::string& ns, const std::string& name, PolicyResult result);

  // Controller-wide.
  void KubeRequest(const std::string& verb, int code, double seconds);
  void SetWorkqueueDepth(int depth);
  // A notification's fate: provider slack, generic, github, gitlab; result sent, retried,
  // failed or dropped (its queue was full).
  void Notification(const std::string& provider, const std::string& result);
  // Spans of reconcile traces: exported, failed (the collector did not take them), dropped
  // (the export queue was full).
  void Spans(const std::string& result, size_t count);
  // A Slack command: verb, and result allowed, denied, unauthenticated or invalid.
  void ChatCommand(const std::string& verb, const std::string& result);

 private:
  struct AppSeries;
  struct Families;
  AppSeries* Series(const std::string& ns, const std::string& name) REQUIRES(mu_);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  mutable Mutex mu_;
  std::map<std::string, std::unique_ptr<AppSeries>> apps_ GUARDED_BY(mu_);  // "ns/name"
};

}  // namespace plumbline::metrics
