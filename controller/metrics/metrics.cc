#include "metrics/metrics.h"

#include "common/mutex.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace plumbline::metrics {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

namespace {

// Seconds: from a fast apply to a slow rollout or a long lead time.
const Histogram::BucketBoundaries kDurationBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                      5,    10,   30,  60,   120, 300};
const Histogram::BucketBoundaries kRequestBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,    2.5,   5,    10};
const Histogram::BucketBoundaries kLeadTimeBuckets = {10,   30,    60,    300,   600,   1800,
                                                      3600, 10800, 21600, 86400, 604800};

const char* ActionLabel(ApplyAction a) {
  switch (a) {
    case ApplyAction::kCreated:
      return "created";
    case ApplyAction::kConfigured:
      return "configured";
    case ApplyAction::kDeleted:
      return "deleted";
    case ApplyAction::kUnchanged:
      return "unchanged";
  }
  return "unchanged";
}

const char* PolicyLabel(PolicyResult r) {
  switch (r) {
    case PolicyResult::kAllowed:
      return "allowed";
    case PolicyResult::kDenied:
      return "denied";
    case PolicyResult::kError:
      return "error";
  }
  return "error";
}

}  // namespace

struct Metrics::Families {
  explicit Families(prometheus::Registry& r)
      : reconcile_total(BuildCounter()
                            .Name("plumbline_reconcile_total")
                            .Help("Reconciles of an Application, by result (success, failure).")
                            .Register(r)),
        reconcile_duration(BuildHistogram()
                               .Name("plumbline_reconcile_duration_seconds")
                               .Help("How long one reconcile of an Application took.")
                               .Register(r)),
        drifted(BuildGauge()
                    .Name("plumbline_drifted_resources")
                    .Help("Managed objects that differ from git now.")
                    .Register(r)),
        managed(BuildGauge()
                    .Name("plumbline_managed_resources")
                    .Help("Objects the Application manages (its inventory).")
                    .Register(r)),
        ready(BuildGauge()
                  .Name("plumbline_application_ready")
                  .Help("1 when the Application is Ready, else 0.")
                  .Register(r)),
        suspended(BuildGauge()
                      .Name("plumbline_application_suspended")
                      .Help("1 when the Application is suspended, else 0.")
                      .Register(r)),
        last_applied(BuildGauge()
                         .Name("plumbline_last_applied_timestamp_seconds")
                         .Help("Unix time of the last apply that changed the cluster or a "
                               "revision.")
                         .Register(r)),
        fetch_duration(BuildHistogram()
                           .Name("plumbline_git_fetch_duration_seconds")
                           .Help("How long getting the Application's revision from git took.")
                           .Register(r)),
        fetch_failures(BuildCounter()
                           .Name("plumbline_git_fetch_failures_total")
                           .Help("Failed git fetches for the Application.")
                           .Register(r)),
        apply_total(BuildCounter()
                        .Name("plumbline_apply_total")
                        .Help("Objects applied or pruned, by action (created, configured, "
                              "deleted, unchanged).")
                        .Register(r)),
        deployments(BuildCounter()
                        .Name("plumbline_deployments_total")
                        .Help("DORA deployment frequency: new revisions applied.")
                        .Register(r)),
        lead_time(BuildHistogram()
                      .Name("plumbline_lead_time_seconds")
                      .Help("DORA lead time for changes: commit time to applied.")
                      .Register(r)),
        change_failures(BuildCounter()
                            .Name("plumbline_change_failures_total")
                            .Help("DORA change failures: new revisions that failed to apply or "
                                  "went unhealthy.")
                            .Register(r)),
        time_to_restore(BuildHistogram()
                            .Name("plumbline_time_to_restore_seconds")
                            .Help("DORA time to restore: first failure to the next Ready.")
                            .Register(r)),
        drift_detected(BuildCounter()
                           .Name("plumbline_drift_detected_total")
                           .Help("Objects found drifted from git (once per object and episode).")
                           .Register(r)),
        drift_corrected(BuildCounter()
                            .Name("plumbline_drift_corrected_total")
                            .Help("Drifted objects re-applied from git.")
                            .Register(r)),
        verification_failures(BuildCounter()
                                  .Name("plumbline_verification_failures_total")
                                  .Help("Revisions refused because their signature did not verify "
                                        "(spec.verify): unsigned, badly signed or untrusted.")
                                  .Register(r)),
        policy_evaluations(BuildCounter()
                               .Name("plumbline_policy_evaluations_total")
                               .Help("Revisions put to the policy server, by result (allowed, "
                                     "denied, error).")
                               .Register(r)),
        kube_requests(BuildCounter()
                          .Name("plumbline_kube_requests_total")
                          .Help("Requests to the Kubernetes API, by verb and HTTP code (0: no "
                                "response).")
                          .Register(r)),
        kube_duration(BuildHistogram()
                          .Name("plumbline_kube_request_duration_seconds")
                          .Help("Latency of requests to the Kubernetes API, by verb.")
                          .Register(r)),
        workqueue_depth(BuildGauge()
                            .Name("plumbline_workqueue_depth")
                            .Help("Applications waiting in the work queue.")
                            .Register(r)),
        notifications(BuildCounter()
                          .Name("plumbline_notifications_total")
                          .Help("Notifications to Notifiers' providers, by provider and result "
                                "(sent, retried, failed, dropped).")
                          .Register(r)),
        spans(BuildCounter()
                  .Name("plumbline_trace_spans_total")
                  .Help("Spans of reconcile traces sent to --otlp-endpoint, by result "
                        "(exported, failed, dropped).")
                  .Register(r)),
        chat_commands(BuildCounter()
                          .Name("plumbline_chatops_commands_total")
                          .Help("Slack commands received, by verb and result (allowed, denied, "
                                "unauthenticated, invalid).")
                          .Register(r)),
        build_info(BuildGauge()
                       .Name("plumbline_build_info")
                       .Help("Always 1; the labels name the build.")
                       .Register(r)) {}

  Family<Counter>& reconcile_total;
  Family<Histogram>& reconcile_duration;
  Family<Gauge>& drifted;
  Family<Gauge>& managed;
  Family<Gauge>& ready;
  Family<Gauge>& suspended;
  Family<Gauge>& last_applied;
  Family<Histogram>& fetch_duration;
  Family<Counter>& fetch_failures;
  Family<Counter>& apply_total;
  Family<Counter>& deployments;
  Family<Histogram>& lead_time;
  Family<Counter>& change_failures;
  Family<Histogram>& time_to_restore;
  Family<Counter>& drift_detected;
  Family<Counter>& drift_corrected;
  Family<Counter>& verification_failures;
  Family<Counter>& policy_evaluations;
  Family<Counter>& kube_requests;
  Family<Histogram>& kube_duration;
  Family<Gauge>& workqueue_depth;
  Family<Counter>& notifications;
  Family<Counter>& spans;
  Family<Counter>& chat_commands;
  Family<Gauge>& build_info;
};

// Every series of one Application, and how to remove them all.
struct Metrics::AppSeries {
  AppSeries(Families& f, const prometheus::Labels& l)
      : families(f),
        labels(l),
        reconcile_success(f.reconcile_total.Add(With("result", "success"))),
        reconcile_failure(f.reconcile_total.Add(With("result", "failure"))),
        reconcile_duration(f.reconcile_duration.Add(l, kDurationBuckets)),
        drifted(f.drifted.Add(l)),
        managed(f.managed.Add(l)),
        ready(f.ready.Add(l)),
        suspended(f.suspended.Add(l)),
        last_applied(f.last_applied.Add(l)),
        fetch_duration(f.fetch_duration.Add(l, kDurationBuckets)),
        fetch_failures(f.fetch_failures.Add(l)),
        deployments(f.deployments.Add(l)),
        lead_time(f.lead_time.Add(l, kLeadTimeBuckets)),
        change_failures(f.change_failures.Add(l)),
        time_to_restore(f.time_to_restore.Add(l, kLeadTimeBuckets)),
        drift_detected(f.drift_detected.Add(l)),
        drift_corrected(f.drift_corrected.Add(l)),
        verification_failures(f.verification_failures.Add(l)) {
    for (auto r : {PolicyResult::kAllowed, PolicyResult::kDenied, PolicyResult::kError}) {
      policy[static_cast<int>(r)] = &f.policy_evaluations.Add(With("result", PolicyLabel(r)));
    }
    for (auto a : {ApplyAction::kCreated, ApplyAction::kConfigured, ApplyAction::kDeleted,
                   ApplyAction::kUnchanged}) {
      apply[static_cast<int>(a)] = &f.apply_total.Add(With("action", ActionLabel(a)));
    }
  }
  ~AppSeries() {
    families.reconcile_total.Remove(&reconcile_success);
    families.reconcile_total.Remove(&reconcile_failure);
    families.reconcile_duration.Remove(&reconcile_duration);
    families.drifted.Remove(&drifted);
    families.managed.Remove(&managed);
    families.ready.Remove(&ready);
    families.suspended.Remove(&suspended);
    families.last_applied.Remove(&last_applied);
    families.fetch_duration.Remove(&fetch_duration);
    families.fetch_failures.Remove(&fetch_failures);
    for (Counter* c : apply) families.apply_total.Remove(c);
    families.deployments.Remove(&deployments);
    families.lead_time.Remove(&lead_time);
    families.change_failures.Remove(&change_failures);
    families.time_to_restore.Remove(&time_to_restore);
    families.drift_detected.Remove(&drift_detected);
    families.drift_corrected.Remove(&drift_corrected);
    families.verification_failures.Remove(&verification_failures);
    for (Counter* c : policy) families.policy_evaluations.Remove(c);
  }
  prometheus::Labels With(const std::string& k, const std::string& v) const {
    prometheus::Labels out = labels;
    out[k] = v;
    return out;
  }

  Families& families;
  const prometheus::Labels labels;
  Counter& reconcile_success;
  Counter& reconcile_failure;
  Histogram& reconcile_duration;
  Gauge& drifted;
  Gauge& managed;
  Gauge& ready;
  Gauge& suspended;
  Gauge& last_applied;
  Histogram& fetch_duration;
  Counter& fetch_failures;
  Counter* apply[4] = {};
  Counter& deployments;
  Histogram& lead_time;
  Counter& change_failures;
  Histogram& time_to_restore;
  Counter& drift_detected;
  Counter& drift_corrected;
  Counter& verification_failures;
  Counter* policy[3] = {};
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_)) {
  families_->build_info.Add({{"version", PLUMBLINE_VERSION}}).Set(1);
  families_->workqueue_depth.Add({}).Set(0);
  for (const char* verb : {"get", "list", "watch", "apply", "create", "update", "delete"}) {
    families_->kube_requests.Add({{"verb", verb}, {"code", "200"}});
    families_->kube_duration.Add({{"verb", verb}}, kRequestBuckets);
  }
}

Metrics::~Metrics() {
  exposer_.reset();  // stop serving before the series go
  MutexLock lock(mu_);
  apps_.clear();
}

Status Metrics::Serve(const std::string& address) {
  std::string bind = address;
  if (!bind.empty() && bind[0] == ':') bind = "0.0.0.0" + bind;
  try {
    // civetweb's own threads serve scrapes; a read deadline keeps a stalled client from
    // holding one for longer than a scrape takes (the default is 30 s).
    exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", bind, "num_threads", "4", "request_timeout_ms", "10000"});
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 "cannot serve metrics on \"" + address + "\": " + e.what());
  }
  exposer_->RegisterCollectable(registry_);
  return Status::Ok();
}

int Metrics::port() const {
  if (!exposer_) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

Metrics::AppSeries* Metrics::Series(const std::string& ns, const std::string& name) {
  auto& s = apps_[ns + "/" + name];
  if (!s)
    s = std::make_unique<AppSeries>(*families_,
                                    prometheus::Labels{{"namespace", ns}, {"name", name}});
  return s.get();
}

void Metrics::AppSeen(const std::string& ns, const std::string& name) {
  MutexLock lock(mu_);
  Series(ns, name);
}

void Metrics::AppGone(const std::string& ns, const std::string& name) {
  MutexLock lock(mu_);
  apps_.erase(ns + "/" + name);
}

void Metrics::ReconcileDone(const std::string& ns, const std::string& name, bool success,
                            double seconds) {
  MutexLock lock(mu_);
  AppSeries* s = Series(ns, name);
  (success ? s->reconcile_success : s->reconcile_failure).Increment();
  s->reconcile_duration.Observe(seconds);
}

void Metrics::GitFetched(const std::string& ns, const std::string& name, bool success,
                         double seconds) {
  MutexLock lock(mu_);
  AppSeries* s = Series(ns, name);
  s->fetch_duration.Observe(seconds);
  if (!success) s->fetch_failures.Increment();
}

void Metrics::Applied(const std::string& ns, const std::string& name, ApplyAction action,
                      int count) {
  if (count <= 0) return;
  MutexLock lock(mu_);
  Series(ns, name)->apply[static_cast<int>(action)]->Increment(count);
}

void Metrics::SetManaged(const std::string& ns, const std::string& name, int count) {
  MutexLock lock(mu_);
  Series(ns, name)->managed.Set(count);
}

void Metrics::SetDrifted(const std::string& ns, const std::string& name, int count) {
  MutexLock lock(mu_);
  Series(ns, name)->drifted.Set(count);
}

void Metrics::DriftDetected(const std::string& ns, const std::string& name, int objects) {
  if (objects <= 0) return;
  MutexLock lock(mu_);
  Series(ns, name)->drift_detected.Increment(objects);
}

void Metrics::DriftCorrected(const std::string& ns, const std::string& name, int objects) {
  if (objects <= 0) return;
  MutexLock lock(mu_);
  Series(ns, name)->drift_corrected.Increment(objects);
}

void Metrics::SetReady(const std::string& ns, const std::string& name, bool ready) {
  MutexLock lock(mu_);
  Series(ns, name)->ready.Set(ready ? 1 : 0);
}

void Metrics::SetSuspended(const std::string& ns, const std::string& name, bool suspended) {
  MutexLock lock(mu_);
  Series(ns, name)->suspended.Set(suspended ? 1 : 0);
}

void Metrics::SetLastApplied(const std::string& ns, const std::string& name, double unix_seconds) {
  MutexLock lock(mu_);
  Series(ns, name)->last_applied.Set(unix_seconds);
}

void Metrics::Deployed(const std::string& ns, const std::string& name, double lead_time_seconds) {
  MutexLock lock(mu_);
  AppSeries* s = Series(ns, name);
  s->deployments.Increment();
  s->lead_time.Observe(std::max(0.0, lead_time_seconds));
}

void Metrics::ChangeFailed(const std::string& ns, const std::string& name) {
  MutexLock lock(mu_);
  Series(ns, name)->change_failures.Increment();
}

void Metrics::VerificationFailed(const std::string& ns, const std::string& name) {
  MutexLock lock(mu_);
  Series(ns, name)->verification_failures.Increment();
}

void Metrics::PolicyEvaluated(const std::string& ns, const std::string& name, PolicyResult result) {
  MutexLock lock(mu_);
  Series(ns, name)->policy[static_cast<int>(result)]->Increment();
}

void Metrics::Restored(const std::string& ns, const std::string& name, double seconds) {
  MutexLock lock(mu_);
  Series(ns, name)->time_to_restore.Observe(seconds);
}

void Metrics::KubeRequest(const std::string& verb, int code, double seconds) {
  // Families are thread-safe on their own; Add() returns the existing series for known labels.
  families_->kube_requests.Add({{"verb", verb}, {"code", std::to_string(code)}}).Increment();
  families_->kube_duration.Add({{"verb", verb}}, kRequestBuckets).Observe(seconds);
}

void Metrics::SetWorkqueueDepth(int depth) { families_->workqueue_depth.Add({}).Set(depth); }

void Metrics::Notification(const std::string& provider, const std::string& result) {
  families_->notifications.Add({{"provider", provider}, {"result", result}}).Increment();
}

void Metrics::Spans(const std::string& result, size_t count) {
  families_->spans.Add({{"result", result}}).Increment(static_cast<double>(count));
}

void Metrics::ChatCommand(const std::string& verb, const std::string& result) {
  families_->chat_commands.Add({{"verb", verb}, {"result", result}}).Increment();
}

}  // namespace plumbline::metrics
