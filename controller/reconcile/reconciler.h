// Reconciles one Application (PRODUCT §3): lifecycle first (finalizer, deletion, suspend), then a
// straight pipeline of phases: fetch, verify, render, prepare, policy, plan, apply, prune, health,
// each a span of the reconcile's trace (status.lastReconcileTraceID, the Events' and log lines'
// trace id). Deployments, failures, drift and recoveries also go to the Notifiers. Each
// phase that fails marks Ready=False with its reason (FetchFailed, RenderFailed, ...), records a
// Warning Event and stops; an unexpected exception ends the reconcile the same way, with the
// reason of the phase it happened in. The status is written when it changed, redacted and made
// valid UTF-8.
//
// Drift (§3.5): the live cache watches every kind the Applications render, and the tracker judges
// each live change against what our last apply stored. Only objects that changed in git, drifted
// (drift: correct) or are missing are applied; the rest cost no request. A drift wakes the
// Application up (SetWakeUp) so it is reported or corrected within moments.
//
// API cost (PRODUCT §9): the Application is the controller's cached copy, read again only when
// it is older than our own last write of it; an idle reconcile then makes no request at all.
// After a restart, status.inventory's digests let the tracker adopt what the watches list
// instead of applying or dry-running each object again.
//
// Thread-safe: workers call Reconcile for different Applications at once (the work queue never
// hands one Application to two workers).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "apply/applier.h"
#include "apply/change_set.h"
#include "apply/object_key.h"
#include "common/json.h"
#include "common/mutex.h"
#include "common/task_pool.h"
#include "drift/live_cache.h"
#include "drift/tracker.h"
#include "events/recorder.h"
#include "kube/client.h"
#include "log/logger.h"
#include "metrics/metrics.h"
#include "notify/event.h"
#include "policy/gate.h"
#include "reconcile/secret_reads.h"
#include "render/build_cache.h"
#include "render/path.h"
#include "source/shared_fetcher.h"
#include "trace/exporter.h"
#include "trace/span.h"
#include "verify/signature.h"

namespace plumbline::reconcile {

struct ReconcilerOptions {
  std::string controller_namespace = "plumbline-system";                // never pruned
  std::chrono::milliseconds default_interval{std::chrono::minutes(3)};  // for spec.interval unset
  render::RenderOptions render;
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(60)};
  // How often to look again while objects are still rolling out.
  std::chrono::milliseconds health_recheck{std::chrono::seconds(5)};
  size_t history_limit = 10;
  // How long a reconcile waits for the first list of a kind it starts watching.
  std::chrono::milliseconds cache_sync_timeout{std::chrono::seconds(10)};
  // Multi-tenant lockdown (--default-service-account): an Application that names no
  // spec.serviceAccountName acts as this ServiceAccount of its own namespace ("": as the
  // controller itself).
  std::string default_service_account;
  // --no-cross-namespace-refs: an Application may deploy only into its own namespace (its
  // spec.destination.namespace and every namespaced object it renders); cluster-scoped objects
  // are left to the RBAC of the ServiceAccount it acts as.
  bool no_cross_namespace_refs = false;
  // Objects applied at once, across every Application reconciled at the same time
  // (--apply-concurrency); the objects of one apply phase go out together.
  size_t apply_concurrency = 16;
  verify::VerifyOptions verify;  // spec.verify's OpenPGP checks (gpgv)
  // The policy gate (--policy-url); null: none. Not owned.
  policy::Gate* policy = nullptr;
  // --policy-fail-open: a policy server that cannot answer lets revisions through (with a
  // Warning Event and the error counted) instead of blocking them.
  bool policy_fail_open = false;
  // Where deployed, failed, drift and recovery events go (the Notifiers); null: nowhere. Not
  // owned; Publish never blocks a reconcile.
  notify::Sink* notifications = nullptr;
  // Where each reconcile's trace goes (--otlp-endpoint); null: traces are still made (their ids
  // are in logs, Events and the status) but not exported. Not owned.
  trace::Exporter* traces = nullptr;
};

// What the work queue does with the Application next. Made by one of the three constructors.
struct ReconcileResult {
  // Nothing more to do until the Application (or something it names) changes.
  static ReconcileResult Done() { return {}; }
  // Success: look again after `d` (the interval, or sooner while progressing).
  static ReconcileResult RequeueAfter(std::chrono::milliseconds d) { return {d, false}; }
  // A transient failure: retry with the key's exponential backoff.
  static ReconcileResult Retry() { return {std::nullopt, true}; }

  std::optional<std::chrono::milliseconds> requeue_after;
  bool retry = false;
};

class Reconciler {
 public:
  Reconciler(kube::Client& client, source::SharedFetcher& fetcher, events::Recorder& events,
             log::Logger& logger, metrics::Metrics& metrics, ReconcilerOptions options);
  ~Reconciler();

  // `application` is the latest cached copy of the object.
  ReconcileResult Reconcile(const Json& application);
  // Drops what is remembered about an Application that no longer exists.
  void Forget(const std::string& key);
  // Git credentials from the Secrets Applications name are kept until the Secret changes, once a
  // watch of Secrets reports to these: SecretsListed on each (re)list (every kept credential is
  // dropped), SecretChanged on each event. Without a watch every reconcile reads the Secret.
  void SecretsListed();
  void SecretChanged(const std::string& ns, const std::string& name);
  // Called with an Application's key when one of its objects drifted or changed health.
  void SetWakeUp(std::function<void(const std::string& key)> wake_up);
  // Stops the watches of managed objects.
  void Stop();

  const drift::LiveCache& live_cache() const { return live_; }
  const drift::Tracker& tracker() const { return tracker_; }

 private:
  struct Memory;  // what one Application's previous reconciles learned
  struct Run;     // one reconcile in progress

  // A phase either hands the next one its output (in Run) or ends the reconcile with a result.
  using PhaseEnd = std::optional<ReconcileResult>;

  ReconcileResult Finalize(Run& run);
  // The phases, in order; each reads what the one before left in Run.
  ReconcileResult Pipeline(Run& run);
  PhaseEnd SpecPhase(Run& run);     // parse the spec; Stalled on errors; suspend
  PhaseEnd FetchPhase(Run& run);    // the commit (shared fetch)
  PhaseEnd VerifyPhase(Run& run);   // spec.verify: its signature, before anything reads it
  PhaseEnd RenderPhase(Run& run);   // its objects
  PhaseEnd PreparePhase(Run& run);  // kinds, namespaces, labels, order; duplicates; the empty guard
  PhaseEnd PolicyPhase(Run& run);   // the policy server's verdict on the prepared objects
  PhaseEnd PlanPhase(Run& run);     // what to send; "applying" announced for a new revision
  PhaseEnd ApplyPhase(Run& run);    // apply, learn, inventory
  PhaseEnd PrunePhase(Run& run);
  void RecordRevision(Run& run);  // history, applied revision, metrics, Event
  ReconcileResult HealthPhase(Run& run);
  // A failed phase: Ready=False with `reason`, a Warning Event when the failure is new (not on
  // every retry), a log line; the key is retried with backoff.
  ReconcileResult Fail(Run& run, const std::string& reason, const std::string& message);
  // Runs one phase inside a span of the reconcile's trace, marked with the failure if it failed.
  PhaseEnd Traced(Run& run, const char* span, PhaseEnd (Reconciler::*phase)(Run&));
  // An Event on the Application, annotated with the reconcile's trace id.
  void RecordEvent(Run& run, events::Type type, const std::string& reason,
                   const std::string& message);
  // Hands an event to the Notifiers (never blocks), with what this reconcile knows of the commit.
  void Notify(Run& run, notify::EventType type, const std::string& message);
  // Like Fail, plus Stalled=True: retrying will not help, a change of the spec (or of git) will.
  void Stall(Run& run, const std::string& reason, const std::string& message);
  // Starts (or keeps) the watches of every kind the prepared objects have, and waits a bounded
  // time for their first lists.
  void WatchKinds(Run& run, const std::vector<apply::PreparedObject>& prepared);
  // What to send (reconcile/planner.h): makes the one read or dry run a decision may need, and
  // marks the drifted objects it corrects.
  std::vector<apply::PlannedObject> Plan(Run& run, std::vector<apply::PreparedObject> prepared,
                                         kube::Client& client);
  // drift: report after a restart: records what our apply would store, writing nothing. False
  // when it could not tell (the object is then applied, which reports the error).
  bool LearnByDryRun(Run& run, const apply::PlannedObject& planned, size_t hash,
                     kube::Client& client);
  // Records what each apply stored, so later live changes are judged against it.
  void Learn(Run& run, const apply::ChangeSet& applied);
  void ReportDrift(Run& run);
  void RecordMetrics(Run& run, std::chrono::steady_clock::time_point start);
  // The credentials of spec.source.secretRef: kept ones, else read (one GET).
  Result<source::GitAuth> GitAuthFor(const std::string& ns, const std::string& secret);
  // The age keys of spec.decryption, kept like git credentials until their Secret changes.
  Result<std::string> DecryptionKeysFor(const std::string& ns, const std::string& secret);
  // The keys of spec.verify, kept like git credentials until their Secret changes.
  Result<verify::TrustedKeys> TrustedKeysFor(const std::string& ns, const std::string& secret);
  // status.inventory as this run leaves it, with what each object's last apply stored.
  Json InventoryJson(const Run& run) const;
  // Both return the Application's resourceVersion after the write.
  Result<std::string> WriteStatus(Run& run);
  Result<std::string> SetFinalizer(const Json& application, bool present);

  kube::Client& client_;
  source::SharedFetcher& fetcher_;
  events::Recorder& events_;
  log::Logger& log_;
  metrics::Metrics& metrics_;
  const ReconcilerOptions options_;
  drift::Tracker tracker_;
  drift::LiveCache live_;
  TaskPool apply_pool_;
  render::BuildCache build_cache_{64 << 20};  // kustomize and helm output by input
  std::atomic<size_t> applied_since_trim_{0};
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Memory>> memory_ GUARDED_BY(mu_);
  SecretReads secret_reads_;  // git credentials and decryption keys
};

}  // namespace plumbline::reconcile
