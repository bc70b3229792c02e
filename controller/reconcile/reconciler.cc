#include "reconcile/reconciler.h"

#include <malloc.h>

#include <set>

#include "app/application.h"
#include "app/conditions.h"
#include "app/reach.h"
#include "app/reasons.h"
#include "apply/applier.h"
#include "common/base64.h"
#include "common/mutex.h"
#include "common/redact.h"
#include "common/rfc3339.h"
#include "health/health.h"
#include "inventory/inventory.h"
#include "kube/errors.h"
#include "reconcile/decisions.h"
#include "reconcile/planner.h"
#include "render/sops.h"
#include "trace/context.h"

namespace plumbline::reconcile {

struct Reconciler::Memory {
  Mutex mu;
  // The resourceVersion of our last write of the Application (its status or finalizer): a cached
  // copy older than that misses it.
  std::string written_version;
  std::string health_revision;  // the revision whose rollout is being watched
  std::chrono::steady_clock::time_point health_since{};
  DriftEpisodes drift;
  Dora dora;
  // The last revision whose signature verified, with the keys it verified with, and by whom:
  // an unchanged commit is not verified again every interval.
  std::string verified_for;
  std::string verified_by;
  // The revision whose "applying" (a pending commit status) was announced: once per revision,
  // not on every retry of a failing apply.
  std::string applying_announced;
  // A reconcile failed since the Application was last Ready: the next Ready is a recovery.
  bool unrecovered = false;
  // The revision whose failure the Notifiers were told of: a new revision that fails with the
  // same error (so no new Event) still gets its own, since its commit may be marked pending.
  std::string failure_notified;
};

struct Reconciler::Run {
  Json app;  // as read from the cache
  // Decrypted values of this render (and the keys): no message of this reconcile may carry one.
  std::vector<std::string> secret_values;
  Json status;  // what will be written
  std::string key;
  std::string name, ns;
  int64_t generation = 0;
  app::Spec spec;
  std::shared_ptr<Memory> memory;
  std::chrono::steady_clock::time_point deadline;
  bool spec_ok = false;
  bool failed = false;  // a phase failed (Ready=False for a reason other than progress)
  // The phase under way, which names the reason of an unexpected failure ("Apply": ApplyFailed).
  std::string phase = "Reconcile";
  std::string revision;  // the commit this reconcile worked on, once fetched
  // The trace of this reconcile (one span per phase), and the span of the phase under way.
  std::unique_ptr<trace::Trace> trace;
  size_t span = 0;
  std::string failure_reason, failure;  // the reason and message Fail() reported last
  // What each phase hands the next (commit -> objects -> plan -> change sets -> status).
  std::shared_ptr<const source::Snapshot> snapshot;
  std::vector<render::RenderedObject> rendered;  // their objects move on to `prepared`
  std::unique_ptr<kube::Client> impersonated;    // the ServiceAccount's client, if any
  kube::Client* client = nullptr;                // the one that applies and prunes
  apply::Owner owner;
  std::vector<apply::PreparedObject> prepared;
  std::vector<apply::PlannedObject> plan;
  inventory::KeySet in_git;    // the keys of `prepared`
  inventory::Keys previous;    // status.inventory as the reconcile found it
  inventory::Digests digests;  // and what its applies stored (drift::StoredDigest)
  inventory::Keys inventory;   // as it will be written
  apply::ChangeSet applied, pruned;
  std::string summary;  // "Applied revision abc: 2 created, ..."
  // Drifted objects this reconcile re-applies, as the tracker saw them when planning; those
  // applied are then corrected.
  std::map<apply::ObjectKey, drift::ObjectDrift> correcting;
  std::vector<drift::ObjectDrift> corrected;
  size_t applied_objects = 0;  // objects sent to the API server (apply or dry run)
  // Health of unchanged objects read with a GET because the watch had not delivered them yet.
  std::map<apply::ObjectKey, health::Assessment> read_health;
  // What the status reports, in types, for the metrics: read once from the status the reconcile
  // found (the memory of earlier reconciles) and kept in step by the phases that change it, so
  // metrics never parse back what this reconcile serialized.
  // (What status.inventory holds is `inventory`.)
  struct Reported {
    size_t drifted = 0;                                                 // status.drift.count
    std::optional<std::chrono::system_clock::time_point> last_applied;  // status.lastAppliedTime
  } reported;
};

namespace {

// Once this many objects were applied (by one reconcile or by many small ones together), freed
// memory goes back to the system.
constexpr size_t kTrimAfterObjects = 500;

std::string Short(const std::string& sha) { return sha.substr(0, 12); }

// A reconcile's trace. When it answers a webhook's sync request that carried a W3C traceparent,
// its root links to the push's span: the push's trace leads to the reconcile it caused.
std::unique_ptr<trace::Trace> StartTrace(const Json& application, const Json& status,
                                         trace::Exporter* exporter) {
  std::vector<trace::SpanContext> links;
  const Json annotations = application["metadata"].value("annotations", Json::object());
  if (annotations.is_object()) {
    const std::string requested_at = annotations.value(app::kRequestedAtAnnotation, "");
    const std::string traceparent = annotations.value(app::kTraceparentAnnotation, "");
    // Only a webhook's own request: a later `plumbline sync` leaves the annotation behind.
    if (requested_at.rfind("webhook ", 0) == 0 && !traceparent.empty() &&
        status.value("lastHandledRequestedAt", "") != requested_at) {
      if (auto parent = trace::ParseTraceparent(traceparent)) links.push_back(*parent);
    }
  }
  return std::make_unique<trace::Trace>("reconcile", exporter, std::nullopt, std::move(links));
}

std::string ResourceVersionOf(const Json& object) {
  return StringAt(MemberAt(&object, "metadata"), "resourceVersion");
}

void MarkFailed(Json* status, int64_t gen, const std::string& reason, const std::string& message) {
  app::SetCondition(status, app::kReady, false, reason, message, gen);
  app::SetCondition(status, app::kReconciling, false, reason, message, gen);
}

// One read of a managed object (discovery is cached, so this is one request).
Result<Json> ReadLive(kube::Client& client, const apply::ObjectKey& key) {
  auto resource = client.Resource({key.group, key.version, key.kind});
  if (!resource.ok()) return resource.error();
  return client.Get(*resource, key.ns, key.name);
}

std::string DescribeDrift(const drift::ObjectDrift& d) {
  if (d.missing) return d.key.ToString() + " (missing)";
  std::string out = d.key.ToString() + " (";
  for (size_t i = 0; i < d.fields.size(); ++i) out += (i ? ", " : "") + d.fields[i];
  return out + ")";
}

std::string DescribeDrifts(const std::vector<drift::ObjectDrift>& drifts) {
  std::string out;
  for (size_t i = 0; i < drifts.size() && i < 5; ++i)
    out += (i ? "; " : "") + DescribeDrift(drifts[i]);
  if (drifts.size() > 5) out += "; and " + std::to_string(drifts.size() - 5) + " more";
  return out;
}

Json FieldsJson(const std::vector<std::string>& fields) {
  Json out = Json::array();
  for (const auto& f : fields) out.push_back(f);
  return out;
}

}  // namespace

Reconciler::Reconciler(kube::Client& client, source::SharedFetcher& fetcher,
                       events::Recorder& events, log::Logger& logger, metrics::Metrics& metrics,
                       ReconcilerOptions options)
    : client_(client),
      fetcher_(fetcher),
      events_(events),
      log_(logger),
      metrics_(metrics),
      options_(std::move(options)),
      tracker_(app::kFieldManager),
      live_(client, logger, {app::kNameLabel, app::kNamespaceLabel},
            [this](const apply::ObjectKey& key, const std::string& app, const Json* object,
                   bool health_changed) { tracker_.Observe(key, app, object, health_changed); }),
      apply_pool_(options_.apply_concurrency) {}

Reconciler::~Reconciler() { Stop(); }

void Reconciler::Stop() { live_.Stop(); }

void Reconciler::SetWakeUp(std::function<void(const std::string& key)> wake_up) {
  tracker_.SetWakeUp(std::move(wake_up));
}

void Reconciler::Forget(const std::string& key) {
  {
    MutexLock lock(mu_);
    memory_.erase(key);
  }
  tracker_.Forget(key);
  live_.Use(key, {});
  auto slash = key.find('/');
  if (slash != std::string::npos) metrics_.AppGone(key.substr(0, slash), key.substr(slash + 1));
}

void Reconciler::SecretsListed() { secret_reads_.Listed(); }

void Reconciler::SecretChanged(const std::string& ns, const std::string& name) {
  secret_reads_.Changed(ns, name);
}

Result<source::GitAuth> Reconciler::GitAuthFor(const std::string& ns, const std::string& secret) {
  return secret_reads_.Get<source::GitAuth>("git", ns, secret,
                                            [&] { return app::ReadGitAuth(client_, ns, secret); });
}

Result<std::string> Reconciler::DecryptionKeysFor(const std::string& ns,
                                                  const std::string& secret) {
  return secret_reads_.Get<std::string>(
      "age", ns, secret, [&] { return app::ReadDecryptionKeys(client_, ns, secret); });
}

Result<verify::TrustedKeys> Reconciler::TrustedKeysFor(const std::string& ns,
                                                       const std::string& secret) {
  return secret_reads_.Get<verify::TrustedKeys>(
      "verify", ns, secret, [&] { return app::ReadTrustedKeys(client_, ns, secret); });
}

Result<std::string> Reconciler::SetFinalizer(const Json& application, bool present) {
  // Our field manager owns only the finalizer; applying without it removes it.
  Json patch = {{"apiVersion", app::kApiVersion},
                {"kind", app::kKind},
                {"metadata",
                 {{"name", application["metadata"]["name"]},
                  {"namespace", application["metadata"]["namespace"]},
                  // A precondition: never re-create an Application deleted meanwhile.
                  {"uid", application["metadata"]["uid"]}}}};
  if (present) patch["metadata"]["finalizers"] = Json::array({app::kFinalizer});
  kube::ApplyOptions options;
  options.field_manager = "plumbline-finalizer";
  auto applied = client_.Apply(patch, options);
  if (!applied.ok()) return applied.error();
  return ResourceVersionOf(*applied);
}

Result<std::string> Reconciler::WriteStatus(Run& run) {
  // run.status is already safe (Reconcile made it so before comparing); the patch is dumped as
  // JSON, which throws on bytes that are not UTF-8.
  Json patch = {{"apiVersion", app::kApiVersion},
                {"kind", app::kKind},
                {"metadata", {{"name", run.name}, {"namespace", run.ns}}},
                {"status", run.status}};
  kube::ApplyOptions options;
  options.field_manager = app::kFieldManager;
  auto written = client_.ApplyStatus(patch, options);
  if (!written.ok()) {
    log_.Error("status write failed", {{"app", run.key}, {"error", written.error().message()}});
    return written.error();
  }
  return ResourceVersionOf(*written);
}

ReconcileResult Reconciler::Reconcile(const Json& cached) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<Memory> memory;
  {
    MutexLock lock(mu_);
    auto& m = memory_[app::KeyOf(cached)];
    if (!m) m = std::make_shared<Memory>();
    memory = m;
  }
  MutexLock app_lock(memory->mu);
  // The cached copy is the Application, unless it misses our own last write: then its inventory
  // may be stale, and the inventory decides what gets pruned. Read it fresh only then, so an idle
  // reconcile costs no request.
  Json application = cached;
  if (!memory->written_version.empty() &&
      drift::MaybeNewer(memory->written_version, ResourceVersionOf(cached))) {
    auto apps = client_.Resource({app::kGroup, app::kVersion, app::kKind});
    if (!apps.ok()) return ReconcileResult::Retry();
    auto fresh = client_.Get(*apps, cached["metadata"].value("namespace", ""),
                             cached["metadata"].value("name", ""));
    if (fresh.ok()) {
      application = std::move(*fresh);
    } else if (kube::IsNotFound(fresh.error())) {
      return ReconcileResult::Done();
    } else {
      log_.Error("cannot read the Application",
                 {{"app", app::KeyOf(cached)}, {"error", fresh.error().message()}});
      return ReconcileResult::Retry();
    }
  }
  Run run;
  run.app = application;
  run.name = application["metadata"].value("name", "");
  run.ns = application["metadata"].value("namespace", "");
  run.key = run.ns + "/" + run.name;
  run.generation = application["metadata"].value("generation", int64_t(0));
  run.status = application.value("status", Json::object());
  if (!run.status.is_object()) run.status = Json::object();
  run.previous = app::InventoryOf(run.status);
  run.digests = inventory::DigestsOf(run.status.value("inventory", Json()));
  run.inventory = run.previous;  // until the apply and prune phases move it
  // Read defensively: status is ours, but anyone allowed to write it may have mangled it.
  if (const Json* count = MemberAt(MemberAt(&run.status, "drift"), "count");
      count != nullptr && count->is_number_unsigned()) {
    run.reported.drifted = count->get<size_t>();
  }
  if (auto t = ParseRfc3339(StringAt(&run.status, "lastAppliedTime")); t.ok()) {
    run.reported.last_applied = *t;
  }
  run.memory = memory;
  run.trace = StartTrace(application, run.status, options_.traces);
  run.trace->SetAttribute("plumbline.application", run.key);

  if (application["metadata"].contains("deletionTimestamp")) {
    try {
      return Finalize(run);
    } catch (const std::exception& e) {
      const std::string msg = SafeText(std::string("deleting the Application failed: ") + e.what());
      log_.Error(msg, {{"app", run.key}, {"trace_id", run.trace->trace_id()}});
      RecordEvent(run, events::Type::kWarning, app::reason::kFinalizeFailed, msg);
      return ReconcileResult::Retry();
    }
  }

  const Json finalizers = application["metadata"].value("finalizers", Json::array());
  bool has_finalizer = false;
  for (const auto& f : finalizers) has_finalizer |= f == app::kFinalizer;
  if (!has_finalizer) {
    auto written = SetFinalizer(application, true);
    if (!written.ok()) {
      log_.Error("cannot add the finalizer",
                 {{"app", run.key}, {"error", written.error().message()}});
      return ReconcileResult::Retry();
    }
    memory->written_version = *written;
  }

  metrics_.AppSeen(run.ns, run.name);
  const Json status_before = run.status;
  ReconcileResult result;
  try {
    result = Pipeline(run);
    run.phase = "DriftReport";
    if (run.spec_ok && !run.spec.suspend) ReportDrift(run);
  } catch (const std::exception& e) {
    // A bug, or an input of a shape nobody foresaw: still a failure like any other, in the
    // conditions and an Event, never only a log line with a stale status.
    result = Fail(run, run.phase + "Failed",
                  "unexpected error in the " + run.phase + " phase: " + e.what());
  }
  run.status["observedGeneration"] = run.generation;
  if (!run.failed && run.spec_ok && !run.spec.suspend) {
    const Json* ready = app::FindCondition(run.status, app::kReady);
    if (ready != nullptr && ready->value("status", "") == "True" && memory->unrecovered) {
      memory->unrecovered = false;
      Notify(run, notify::EventType::kRecovered, "Ready again: " + run.summary);
    }
  }
  if (!run.revision.empty()) run.trace->SetAttribute("plumbline.revision", run.revision);
  // Commit messages and authors, git's and the API's error texts: anything may hold a URL with
  // credentials or bytes that are not UTF-8.
  render::ScrubAll(&run.status, run.secret_values);
  MakeSafe(&run.status);
  if (run.status != status_before) {
    // Only a change is written: a reconcile that finds nothing new makes no write at all. So
    // the trace id shown is that of the last reconcile that changed something.
    run.status["lastReconcileTraceID"] = run.trace->trace_id();
    const size_t span = run.trace->StartSpan("status");
    if (auto written = WriteStatus(run); written.ok()) {
      memory->written_version = *written;
      run.trace->EndSpan(span);
    } else {
      result = ReconcileResult::Retry();
      run.failed = true;
      run.trace->EndSpan(span, written.error().message());
      run.failure_reason = "StatusWriteFailed";
      run.failure = written.error().message();
    }
  }
  if (run.failed) run.trace->SetError(run.failure_reason + ": " + run.failure);
  RecordMetrics(run, start);
  // Applies leave their peak (rendered manifests, every stored object) in malloc's free lists;
  // hand it back, so that resident memory follows what is kept, not what was once built.
  if (run.applied_objects > 0 &&
      applied_since_trim_.fetch_add(run.applied_objects) + run.applied_objects >=
          kTrimAfterObjects) {
    applied_since_trim_ = 0;
    malloc_trim(0);
  }
  return result;
}

void Reconciler::ReportDrift(Run& run) {
  Memory& memory = *run.memory;
  std::vector<drift::ObjectDrift> now = tracker_.Drifted(run.key);
  const int64_t gen = run.generation;

  const DriftEpisodes::Outcome episode = memory.drift.Observe(run.corrected, now);
  for (const auto& d : episode.fresh) {
    log_.Warn("drift detected", {{"app", run.key},
                                 {"revision", run.revision},
                                 {"trace_id", run.trace->trace_id()},
                                 {"object", d.key.ToString()},
                                 {"missing", d.missing ? "true" : "false"},
                                 {"fields", FieldsJson(d.fields).dump()},
                                 {"mode", app::ToString(run.spec.drift)}});
  }
  metrics_.DriftDetected(run.ns, run.name, static_cast<int>(episode.fresh.size()));
  metrics_.DriftCorrected(run.ns, run.name, static_cast<int>(run.corrected.size()));
  for (const auto& d : run.corrected) {
    log_.Info("drift corrected", {{"app", run.key},
                                  {"revision", run.revision},
                                  {"trace_id", run.trace->trace_id()},
                                  {"object", d.key.ToString()},
                                  {"fields", FieldsJson(d.fields).dump()}});
  }
  run.reported.drifted = now.size();
  if (episode.event == DriftEpisodes::Event::kCorrected) {
    const std::string message = "re-applied from git: " + DescribeDrifts(run.corrected);
    RecordEvent(run, events::Type::kWarning, app::reason::kDriftCorrected, message);
    Notify(run, notify::EventType::kDriftCorrected, message);
  } else if (episode.event == DriftEpisodes::Event::kDetected) {
    const std::string message = "differs from git: " + DescribeDrifts(now);
    RecordEvent(run, events::Type::kWarning, app::reason::kDriftDetected, message);
    Notify(run, notify::EventType::kDrifted, message);
  }

  Json objects = Json::array();
  for (const auto& d : now) {
    Json entry = d.key.ToInventory();
    if (d.missing) entry["missing"] = true;
    entry["fields"] = FieldsJson(d.fields);
    objects.push_back(entry);
  }
  run.status["drift"] = {{"count", now.size()}, {"objects", objects}};
  run.reported.drifted = now.size();
  if (!now.empty()) {
    std::string verb =
        run.spec.drift == app::DriftMode::kReport ? " (drift: report, not corrected)" : "";
    app::SetCondition(&run.status, app::kDrifted, true, app::reason::kDriftDetected,
                      std::to_string(now.size()) + " object(s) differ from git" + verb + ": " +
                          DescribeDrifts(now),
                      gen);
  } else if (!run.corrected.empty()) {
    app::SetCondition(&run.status, app::kDrifted, false, app::reason::kDriftCorrected,
                      "re-applied from git: " + DescribeDrifts(run.corrected), gen);
  } else {
    const Json* drifted = app::FindCondition(run.status, app::kDrifted);
    if (drifted == nullptr || drifted->value("status", "") != "False") {
      app::SetCondition(&run.status, app::kDrifted, false, app::reason::kNoDrift,
                        "every managed object matches git", gen);
    }
  }
}

void Reconciler::RecordMetrics(Run& run, std::chrono::steady_clock::time_point start) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.ReconcileDone(run.ns, run.name, !run.failed, seconds);
  const Json* ready = app::FindCondition(run.status, app::kReady);
  bool is_ready = ready != nullptr && ready->value("status", "") == "True";
  metrics_.SetReady(run.ns, run.name, is_ready);
  metrics_.SetSuspended(run.ns, run.name, run.spec_ok && run.spec.suspend);
  metrics_.SetManaged(run.ns, run.name, static_cast<int>(run.inventory.size()));
  metrics_.SetDrifted(run.ns, run.name, static_cast<int>(run.reported.drifted));
  if (run.reported.last_applied) {
    metrics_.SetLastApplied(
        run.ns, run.name,
        std::chrono::duration<double>(run.reported.last_applied->time_since_epoch()).count());
  }
  // DORA, counted from this reconcile's outcome.
  const Dora::Outcome dora = run.memory->dora.Observe(run.failed, is_ready, run.revision,
                                                      std::chrono::system_clock::now());
  if (dora.change_failed) metrics_.ChangeFailed(run.ns, run.name);
  if (dora.restored_seconds) metrics_.Restored(run.ns, run.name, *dora.restored_seconds);
}

void Reconciler::WatchKinds(Run& run, const std::vector<apply::PreparedObject>& prepared) {
  // Watch every kind git renders, so that later reconciles know the live state without asking.
  std::vector<kube::ResourceInfo> kinds;
  std::vector<kube::GroupVersionKind> gvks;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& p : prepared) {
    // Kinds not served yet (a CRD in this commit) are watched from the next reconcile on.
    if (!p.resource || !seen.insert({p.resource->gvk.group, p.resource->gvk.kind}).second) continue;
    kinds.push_back(*p.resource);
    gvks.push_back(p.resource->gvk);
  }
  live_.Use(run.key, kinds);
  live_.WaitSynced(
      gvks, std::min(run.deadline, std::chrono::steady_clock::now() + options_.cache_sync_timeout));
}

std::vector<apply::PlannedObject> Reconciler::Plan(Run& run,
                                                   std::vector<apply::PreparedObject> prepared,
                                                   kube::Client& client) {
  // The commit was applied before (by this process or, after a restart, another one).
  const bool applied_before = run.status.value("lastAppliedRevision", "") == run.revision;
  std::vector<apply::PlannedObject> plan;
  plan.reserve(prepared.size());
  for (auto& p : prepared) {
    const apply::ObjectKey key = p.key;
    apply::PlannedObject planned{std::move(p), std::nullopt, std::nullopt,
                                 app::IgnoredPointers(run.spec, key)};
    const apply::Change keep{key, apply::Action::kUnchanged, "", Json(), Json()};
    const size_t hash = ManifestHash(planned.prepared.object, planned.ignored);
    ObjectFacts facts;
    facts.watched = live_.Synced({key.group, key.version, key.kind});
    if (facts.watched) facts.live = live_.Lookup(key);
    facts.known = tracker_.Find(run.key, key);
    if (!facts.known && facts.live) {
      // First sight since a restart: the watch holds what our last apply stored, if its digest
      // is the one status.inventory recorded.
      if (auto d = run.digests.find(key); d != run.digests.end()) {
        facts.known = tracker_.Adopt(run.key, key, hash, planned.ignored, d->second);
      }
    }
    planned.live_version = KnownLiveVersion(facts);

    Step step = Decide(facts, hash, run.spec.drift, applied_before);
    if (step == Step::kConfirm) {
      auto current = ReadLive(client, key);
      if (current.ok()) {
        run.read_health[key] = health::Assess(*current);
        step = Step::kKeep;
      } else if (kube::IsNotFound(current.error())) {
        // Gone while no watch was open: missing, as a watch would have said.
        tracker_.Observe(key, run.key, nullptr, false);
        facts = FoundMissing(std::move(facts));
        step = Decide(facts, hash, run.spec.drift, applied_before);
      } else {
        step = Step::kApply;  // the apply reports the error
      }
    }
    if (step == Step::kLearn) {
      step = LearnByDryRun(run, planned, hash, client) ? Step::kKeep : Step::kApply;
    }
    if (step == Step::kCorrect) {
      // As the tracker sees it now, for the Event and status once corrected.
      auto now = tracker_.Find(run.key, key);
      run.correcting[key] = {key, !facts.live || (now && now->missing),
                             now ? now->fields : facts.known->fields};
      tracker_.BeginCorrection(run.key, key);
    }
    if (step == Step::kKeep) planned.outcome = keep;
    plan.push_back(std::move(planned));
  }
  return plan;
}

bool Reconciler::LearnByDryRun(Run& run, const apply::PlannedObject& planned, size_t hash,
                               kube::Client& client) {
  const apply::ObjectKey& key = planned.prepared.key;
  kube::ApplyOptions dry;
  dry.field_manager = app::kFieldManager;
  dry.dry_run = true;
  auto stored = client.Apply(planned.prepared.object, dry);
  if (!stored.ok()) return false;
  auto current = ReadLive(client, key);
  if (!current.ok()) return false;
  auto expected = drift::ExpectationFrom(*stored, app::kFieldManager, hash, planned.ignored);
  if (!expected) return false;
  expected->resource_version = "";  // a dry run stores nothing
  std::vector<std::string> drifted = drift::Evaluate(*expected, *current);
  tracker_.Record(run.key, key, std::move(*expected), std::move(drifted));
  return true;
}

void Reconciler::Learn(Run& run, const apply::ChangeSet& applied) {
  for (const auto& c : applied.changes) run.applied_objects += c.live.is_null() ? 0 : 1;
  // Learn what each apply stored: later live changes are judged against it.
  for (const auto& c : applied.changes) {
    if (c.live.is_null()) continue;
    const std::vector<std::string> ignored = app::IgnoredPointers(run.spec, c.key);
    auto expected = drift::ExpectationFrom(c.live, app::kFieldManager,
                                           ManifestHash(c.desired, ignored), ignored);
    if (!expected) continue;
    const std::string stored_version = expected->resource_version;
    tracker_.Record(run.key, c.key, std::move(*expected));
    // A live change that landed after our apply was judged against the old expectation (or none):
    // judge it again. Rare, so one read is fine.
    auto live = live_.Lookup(c.key);
    if (live && drift::MaybeNewer(live->resource_version, stored_version)) {
      if (auto current = ReadLive(client_, c.key); current.ok()) {
        tracker_.Observe(c.key, run.key, &*current, false);
      }
    }
    if (auto it = run.correcting.find(c.key); it != run.correcting.end()) {
      run.corrected.push_back(it->second);
    }
  }
  for (const auto& [key, _] : run.correcting) tracker_.EndCorrection(run.key, key);  // failed ones
}

ReconcileResult Reconciler::Finalize(Run& run) {
  auto spec = app::ParseSpec(run.app, options_.default_interval);
  const std::vector<apply::ObjectKey>& inventory = run.previous;  // as the status holds it
  if (spec.ok() && spec->prune && !inventory.empty()) {
    std::unique_ptr<kube::Client> impersonated =
        app::ClientForObjects(client_, run.ns, *spec, options_.default_service_account);
    kube::Client* client = impersonated ? impersonated.get() : &client_;
    apply::PruneContext ctx{client, app::OwnerOf(run.name, run.ns), options_.controller_namespace,
                            std::chrono::steady_clock::now() + spec->timeout};
    apply::ChangeSet pruned = apply::Prune(inventory, ctx);
    if (pruned.HasFailures()) {
      std::string msg = "deleting the Application's objects failed: " + pruned.FirstFailure();
      log_.Error(msg, {{"app", run.key}, {"trace_id", run.trace->trace_id()}});
      RecordEvent(run, events::Type::kWarning, app::reason::kPruneFailed, msg);
      return ReconcileResult::Retry();
    }
    log_.Info("deleted the Application's objects",
              {{"app", run.key}, {"result", pruned.Summary()}});
  } else {
    log_.Info("Application deleted; its objects are left in place (prune is off)",
              {{"app", run.key}});
  }
  if (auto s = SetFinalizer(run.app, false); !s.ok() && !kube::IsNotFound(s.error())) {
    return ReconcileResult::Retry();
  }
  return ReconcileResult::Done();
}

ReconcileResult Reconciler::Fail(Run& run, const std::string& reason, const std::string& msg) {
  run.failed = true;
  run.memory->unrecovered = true;
  const std::string message = SafeText(render::Scrub(msg, run.secret_values));
  run.failure_reason = reason;
  run.failure = message;
  const bool is_new = FailureIsNew(run.status, reason, message);
  if (is_new) RecordEvent(run, events::Type::kWarning, reason, message);
  // Like the Event, once per failure, not on every retry; and once per failing revision.
  if (is_new || run.memory->failure_notified != run.revision) {
    run.memory->failure_notified = run.revision;
    Notify(run, notify::EventType::kFailed, message);
  }
  MarkFailed(&run.status, run.generation, reason, message);
  log_.Error(reason, {{"app", run.key},
                      {"revision", run.revision},
                      {"trace_id", run.trace->trace_id()},
                      {"error", message}});
  return ReconcileResult::Retry();
}

Reconciler::PhaseEnd Reconciler::Traced(Run& run, const char* name,
                                        PhaseEnd (Reconciler::*phase)(Run&)) {
  const bool failed_before = run.failed;
  run.span = run.trace->StartSpan(name);
  PhaseEnd end;
  try {
    end = (this->*phase)(run);
  } catch (const std::exception& e) {
    run.trace->EndSpan(run.span, std::string("unexpected error: ") + e.what());
    throw;
  }
  const bool failed = run.failed && !failed_before;
  run.trace->EndSpan(run.span, failed ? run.failure_reason + ": " + run.failure : "");
  return end;
}

void Reconciler::RecordEvent(Run& run, events::Type type, const std::string& reason,
                             const std::string& message) {
  (void)events_.Record(run.app, type, reason, message,
                       {{app::kTraceIdAnnotation, run.trace->trace_id()}});
}

void Reconciler::Notify(Run& run, notify::EventType type, const std::string& message) {
  if (options_.notifications == nullptr) return;
  notify::Event event;
  event.type = type;
  event.app_namespace = run.ns;
  event.app_name = run.name;
  const Json labels = run.app["metadata"].value("labels", Json::object());
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) event.app_labels[k] = v.get<std::string>();
    }
  }
  event.repo_url = SafeText(run.spec.repo_url);
  event.revision = run.revision;
  if (run.snapshot) {
    const source::Commit& commit = run.snapshot->commit();
    // Bounded: every Notifier queues its own copy, and git holds whatever a tenant commits.
    event.author = SafeText(commit.author.substr(0, 256));
    event.subject =
        SafeText(commit.message.substr(0, std::min<size_t>(commit.message.find('\n'), 256)));
  }
  event.phase = run.phase;
  event.reason = type == notify::EventType::kFailed ? run.failure_reason : "";
  event.message = SafeText(render::Scrub(message, run.secret_values).substr(0, 4096));
  apply::ChangeSet all = run.applied;
  all.Append(run.pruned);
  event.created = all.Count(apply::Action::kCreated);
  event.configured = all.Count(apply::Action::kConfigured);
  event.deleted = all.Count(apply::Action::kDeleted);
  event.drifted = run.reported.drifted;
  event.trace_id = run.trace->trace_id();
  event.time = std::chrono::system_clock::now();
  options_.notifications->Publish(event);
}

void Reconciler::Stall(Run& run, const std::string& reason, const std::string& message) {
  (void)Fail(run, reason, message);
  app::SetCondition(&run.status, app::kStalled, true, reason, SafeText(message), run.generation);
}

ReconcileResult Reconciler::Pipeline(Run& run) {
  if (auto stop = Traced(run, "spec", &Reconciler::SpecPhase)) return *stop;
  if (auto stop = Traced(run, "fetch", &Reconciler::FetchPhase)) return *stop;
  if (run.spec.verify) {
    if (auto stop = Traced(run, "verify", &Reconciler::VerifyPhase)) return *stop;
  } else if (auto stop = VerifyPhase(run)) {
    return *stop;
  }
  if (auto stop = Traced(run, "render", &Reconciler::RenderPhase)) return *stop;
  if (auto stop = Traced(run, "prepare", &Reconciler::PreparePhase)) return *stop;
  if (auto stop = Traced(run, "policy", &Reconciler::PolicyPhase)) return *stop;
  if (auto stop = Traced(run, "plan", &Reconciler::PlanPhase)) return *stop;
  if (auto stop = Traced(run, "apply", &Reconciler::ApplyPhase)) return *stop;
  if (auto stop = Traced(run, "prune", &Reconciler::PrunePhase)) return *stop;
  RecordRevision(run);
  const size_t span = run.trace->StartSpan("health");
  const bool failed_before = run.failed;
  ReconcileResult result = HealthPhase(run);
  run.trace->EndSpan(span, run.failed && !failed_before ? run.failure : "");
  return result;
}

Reconciler::PhaseEnd Reconciler::SpecPhase(Run& run) {
  // Spec errors: retrying will not fix them, a spec change will (Stalled).
  auto spec = app::ParseSpec(run.app, options_.default_interval);
  if (!spec.ok()) {
    Stall(run, app::reason::kInvalidSpec, spec.error().message());
    return ReconcileResult::Done();
  }
  run.spec = *spec;
  run.spec_ok = true;
  if (options_.no_cross_namespace_refs && !run.spec.destination_namespace.empty() &&
      run.spec.destination_namespace != run.ns) {
    Stall(run, app::reason::kCrossNamespaceRef,
          "spec.destination.namespace \"" + run.spec.destination_namespace +
              "\" is not the Application's namespace \"" + run.ns +
              "\"; this controller refuses cross-namespace references (--no-cross-namespace-refs)");
    return ReconcileResult::Done();
  }
  app::RemoveCondition(&run.status, app::kStalled);
  if (run.spec.suspend) {
    app::SetCondition(&run.status, app::kReconciling, false, app::reason::kSuspended,
                      "reconciliation is suspended", run.generation);
    return ReconcileResult::Done();
  }
  run.deadline = std::chrono::steady_clock::now() + run.spec.timeout;
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::FetchPhase(Run& run) {
  run.phase = "Fetch";
  source::FetchRequest request;
  request.url = run.spec.repo_url;
  request.revision = run.spec.revision;
  request.timeout = std::min(options_.fetch_timeout, run.spec.timeout);
  if (!run.spec.secret_name.empty()) {
    auto auth = GitAuthFor(run.ns, run.spec.secret_name);
    if (!auth.ok()) {
      metrics_.GitFetched(run.ns, run.name, false, 0);
      return Fail(run, app::reason::kFetchFailed, auth.error().message());
    }
    request.auth = *auth;
  }
  // A sync request (the requested-at annotation) must see the newest commit, not a shared
  // fetch from earlier in the interval.
  const std::string requested_at = run.app["metadata"]
                                       .value("annotations", Json::object())
                                       .value(app::kRequestedAtAnnotation, "");
  const bool requested =
      !requested_at.empty() && run.status.value("lastHandledRequestedAt", "") != requested_at;
  const auto fetch_start = std::chrono::steady_clock::now();
  auto snapshot =
      fetcher_.Fetch(request, requested ? std::chrono::milliseconds(0) : run.spec.interval);
  metrics_.GitFetched(
      run.ns, run.name, snapshot.ok(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fetch_start).count());
  if (!requested_at.empty()) run.status["lastHandledRequestedAt"] = requested_at;
  if (!snapshot.ok()) return Fail(run, app::reason::kFetchFailed, snapshot.error().message());
  run.snapshot = std::move(*snapshot);
  run.revision = run.snapshot->commit().sha;
  run.status["lastAttemptedRevision"] = run.revision;
  run.trace->SetAttribute(run.span, "plumbline.revision", run.revision);
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::VerifyPhase(Run& run) {
  if (!run.spec.verify) {
    app::RemoveCondition(&run.status, app::kSourceVerified);
    return std::nullopt;
  }
  run.phase = "Verify";
  const app::VerifySpec& spec = *run.spec.verify;
  const source::Commit& commit = run.snapshot->commit();
  // Nothing of an unverified revision is rendered or applied: the cluster keeps the last
  // verified one. A refusal is about the revision (counted, alerted on): retrying will not help
  // until git changes (the interval looks) or the keys do (their Secret's change wakes us up).
  auto refuse = [&](const std::string& message) -> PhaseEnd {
    metrics_.VerificationFailed(run.ns, run.name);
    app::SetCondition(&run.status, app::kSourceVerified, false, app::reason::kVerificationFailed,
                      SafeText(message), run.generation);
    (void)Fail(run, app::reason::kVerificationFailed, message);
    return ReconcileResult::RequeueAfter(run.spec.interval);
  };
  // Could not verify (the keys' Secret unreadable, gpgv missing or slow): nothing is applied
  // either, but it is not the revision's fault, so it is retried with backoff, not counted.
  auto cannot_verify = [&](const std::string& message) -> PhaseEnd {
    app::SetCondition(&run.status, app::kSourceVerified, false, app::reason::kVerificationFailed,
                      SafeText(message), run.generation);
    return Fail(run, app::reason::kVerificationFailed, message);
  };
  auto keys = TrustedKeysFor(run.ns, spec.secret_name);
  if (!keys.ok()) return cannot_verify("cannot read the trusted keys: " + keys.error().message());
  const bool check_tag = spec.mode != app::VerifyMode::kHead;
  const bool check_head = spec.mode != app::VerifyMode::kTag;
  if (check_tag && !commit.tag) {
    return refuse("spec.verify.mode " + std::string(app::ToString(spec.mode)) +
                  " needs spec.source.revision to name an annotated tag; \"" + run.spec.revision +
                  "\" is a branch (a branch of the same name hides a tag), a lightweight tag or a "
                  "commit");
  }
  if (check_tag && commit.tag->declared_name != commit.tag->name) {
    // A signed tag moved to another name: its signature covers the name it was made with.
    return refuse("tag " + commit.tag->name + " points at a tag object named \"" +
                  commit.tag->declared_name + "\"");
  }
  // What a verification depends on, exactly: the commit, the tag, the mode and the keys.
  std::string verified_for = commit.sha + "\n" + (commit.tag ? commit.tag->sha : "") + "\n" +
                             app::ToString(spec.mode) + "\n";
  for (const auto& k : keys->ssh) verified_for += k + "\n";
  for (const auto& k : keys->openpgp) verified_for += k + "\n";
  std::string verified_by = run.memory->verified_by;
  if (run.memory->verified_for != verified_for) {
    std::vector<std::string> signers;
    // Empty when verified; else the refusal (or the reason it could not be checked).
    auto check = [&](const std::string& what, const source::SignedObject& object) -> Status {
      if (!object.error.empty()) {
        return Error(ErrorCode::kUnauthorized,
                     what + ": its signature cannot be read: " + object.error);
      }
      if (object.signature.empty()) {
        return Error(ErrorCode::kUnauthorized, what + " is not signed");
      }
      auto signer =
          verify::VerifySignature(object.signature, object.signed_data, *keys, options_.verify);
      if (!signer.ok()) return signer.error().Wrap(what);
      signers.push_back(what + " by " + signer->Describe());
      return Status::Ok();
    };
    std::vector<std::pair<std::string, const source::SignedObject*>> objects;
    if (check_tag) objects.emplace_back("tag " + commit.tag->name, &commit.tag->signed_object);
    if (check_head) {
      objects.emplace_back("commit " + Short(commit.sha) + " (" + commit.author + ")",
                           &commit.signed_object);
    }
    for (const auto& object : objects) {
      Status s = check(object.first, *object.second);
      if (s.ok()) continue;
      const ErrorCode code = s.error().code();
      if (code == ErrorCode::kUnauthorized || code == ErrorCode::kInvalidArgument) {
        return refuse(s.error().message());
      }
      return cannot_verify(s.error().message());
    }
    verified_by.clear();
    for (const auto& signer : signers) verified_by += (verified_by.empty() ? "" : ", ") + signer;
    run.memory->verified_for = std::move(verified_for);
    run.memory->verified_by = verified_by;
  }
  app::SetCondition(&run.status, app::kSourceVerified, true, app::reason::kVerified,
                    SafeText("verified " + verified_by), run.generation);
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::RenderPhase(Run& run) {
  run.phase = "Render";
  render::PathRequest request = app::RenderRequestFor(run.spec, run.name, run.ns);
  request.deadline = run.deadline;
  if (!run.spec.decryption_secret.empty()) {
    auto keys = DecryptionKeysFor(run.ns, run.spec.decryption_secret);
    if (!keys.ok()) return Fail(run, app::reason::kRenderFailed, keys.error().message());
    request.age_keys = std::move(*keys);
  }
  std::shared_ptr<const source::Snapshot> snapshot = run.snapshot;
  render::RenderOptions render_options = options_.render;
  // A signature covers the commit, not what a remote base would fetch at render time.
  if (run.spec.verify) render_options.allow_remote_bases = false;
  // Most reconciles see a commit already rendered: its build is kept, no program runs.
  render_options.cache = &build_cache_;
  auto rendered = render::RenderPath(
      [snapshot](const std::string& dir, const source::ReadOptions& read) {
        return snapshot->ReadDir(dir, read);
      },
      request, render_options);
  if (!rendered.ok() && rendered.error().code() == ErrorCode::kNotFound) {
    return Fail(
        run, app::reason::kRenderFailed,
        rendered.error().message() + " (set spec.allowEmpty to render it as empty and prune)");
  }
  if (!rendered.ok()) return Fail(run, app::reason::kRenderFailed, rendered.error().message());
  run.secret_values = std::move(rendered->secret_values);
  // Kubernetes takes only UTF-8 (and JSON cannot carry anything else): say where, not fail later.
  for (const auto& r : rendered->objects) {
    if (auto where = FindInvalidUtf8(r.object)) {
      return Fail(run, app::reason::kRenderFailed,
                  r.source + ": " + *where + " is not valid UTF-8");
    }
  }
  run.rendered = std::move(rendered->objects);
  run.trace->SetAttribute(run.span, "plumbline.objects", static_cast<int64_t>(run.rendered.size()));
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::PreparePhase(Run& run) {
  run.impersonated =
      app::ClientForObjects(client_, run.ns, run.spec, options_.default_service_account);
  run.client = run.impersonated ? run.impersonated.get() : &client_;
  run.owner = app::OwnerOf(run.name, run.ns);
  std::vector<Json> objects;
  for (auto& r : run.rendered) objects.push_back(std::move(r.object));  // only sources stay there
  run.prepared =
      apply::Prepare(std::move(objects), {run.client, run.owner, run.spec.destination_namespace});
  // Two objects with one identity are an error, judged after namespaces are defaulted. Prepare
  // reorders by phase; the sources follow the objects through their render index.
  std::map<apply::ObjectKey, std::string> seen;
  for (const auto& p : run.prepared) {
    const apply::ObjectKey& key = p.key;
    const std::string& source = run.rendered[p.index].source;
    auto [it, inserted] = seen.emplace(key, source);
    if (!inserted) {
      return Fail(run, app::reason::kRenderFailed,
                  key.ToString() + " is defined twice: in " + it->second + " and in " + source);
    }
    if (options_.no_cross_namespace_refs && !key.ns.empty() && key.ns != run.ns) {
      // Stalled until git changes; the interval still looks for that change.
      Stall(
          run, app::reason::kCrossNamespaceRef,
          source + ": " + key.ToString() + " is outside the Application's namespace \"" + run.ns +
              "\"; this controller refuses cross-namespace references (--no-cross-namespace-refs)");
      return ReconcileResult::RequeueAfter(run.spec.interval);
    }
    run.in_git.insert(key);
  }
  if (run.prepared.empty() && !run.previous.empty() && !run.spec.allow_empty) {
    return Fail(run, app::reason::kRenderFailed,
                "path \"" + run.spec.path + "\" rendered no objects at " + Short(run.revision) +
                    "; refusing to prune " + std::to_string(run.previous.size()) +
                    " objects (set spec.allowEmpty to allow it)");
  }
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::PolicyPhase(Run& run) {
  if (options_.policy == nullptr && run.spec.policy.rules.empty()) return std::nullopt;
  run.phase = "Policy";
  if (options_.policy == nullptr) {
    return Fail(run, app::reason::kPolicyCheckFailed,
                "spec.policy names rules, but this controller has no policy server "
                "(--policy-url): nothing applied");
  }
  const source::Commit& commit = run.snapshot->commit();
  policy::Subject subject{run.ns, run.name, commit.sha, commit.author, commit.message};
  std::vector<Json> objects;
  objects.reserve(run.prepared.size());
  for (const auto& p : run.prepared) {
    if (!p.disabled) objects.push_back(p.object);  // what will be applied, as diff asks
  }
  Json input = policy::InputFor(subject, objects);
  // Policy servers log what they are asked: no decrypted value leaves, wherever it was used.
  render::ScrubAll(&input, run.secret_values);
  auto denials = options_.policy->Evaluate(input, run.spec.policy.rules);
  if (!denials.ok()) {
    metrics_.PolicyEvaluated(run.ns, run.name, metrics::PolicyResult::kError);
    const std::string why = "cannot evaluate policy for revision " + Short(run.revision) + ": " +
                            denials.error().message();
    // Only a server that cannot answer may be skipped; one that answers something that is not
    // a verdict (an undefined rule) blocks like a denial.
    const ErrorCode code = denials.error().code();
    if (options_.policy_fail_open &&
        (code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout)) {
      const std::string message = SafeText(
          render::Scrub(why + "; applying anyway (--policy-fail-open)", run.secret_values));
      RecordEvent(run, events::Type::kWarning, app::reason::kPolicyCheckFailed, message);
      log_.Error(app::reason::kPolicyCheckFailed,
                 {{"app", run.key}, {"trace_id", run.trace->trace_id()}, {"error", message}});
      return std::nullopt;
    }
    return Fail(run, app::reason::kPolicyCheckFailed, why + "; nothing applied (failing closed)");
  }
  if (!denials->empty()) {
    metrics_.PolicyEvaluated(run.ns, run.name, metrics::PolicyResult::kDenied);
    (void)Fail(run, app::reason::kPolicyDenied,
               "policy denied revision " + Short(run.revision) +
                   ", nothing applied: " + policy::Describe(*denials));
    // A change of git or of the policy will help, a retry with backoff will not.
    return ReconcileResult::RequeueAfter(run.spec.interval);
  }
  metrics_.PolicyEvaluated(run.ns, run.name, metrics::PolicyResult::kAllowed);
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::PlanPhase(Run& run) {
  run.phase = "Apply";
  if (run.status.value("lastAppliedRevision", "") != run.revision &&
      run.memory->applying_announced != run.revision) {
    run.memory->applying_announced = run.revision;
    Notify(run, notify::EventType::kApplying, "applying revision " + Short(run.revision));
  }
  WatchKinds(run, run.prepared);
  run.plan = Plan(run, std::move(run.prepared), *run.client);
  run.trace->SetAttribute(run.span, "plumbline.objects", static_cast<int64_t>(run.plan.size()));
  return std::nullopt;
}

Reconciler::PhaseEnd Reconciler::ApplyPhase(Run& run) {
  run.phase = "Apply";
  apply::ApplyContext ctx{run.client, run.owner, run.spec.destination_namespace, run.deadline};
  ctx.pool = &apply_pool_;
  run.applied = apply::ApplyAll(std::move(run.plan), ctx);
  run.trace->SetAttribute(run.span, "plumbline.created",
                          static_cast<int64_t>(run.applied.Count(apply::Action::kCreated)));
  run.trace->SetAttribute(run.span, "plumbline.configured",
                          static_cast<int64_t>(run.applied.Count(apply::Action::kConfigured)));
  Learn(run, run.applied);
  tracker_.Retain(run.key, run.in_git);
  run.inventory = inventory::AfterApply(run.previous, run.in_git, run.applied);
  if (run.applied.HasFailures()) {
    run.status["inventory"] = InventoryJson(run);
    return Fail(run, app::reason::kApplyFailed, run.applied.FirstFailure());
  }
  return std::nullopt;
}

Json Reconciler::InventoryJson(const Run& run) const {
  inventory::Digests digests;
  for (const auto& key : run.inventory) {
    if (auto known = tracker_.Find(run.key, key)) {
      digests[key] = known->digest;
    } else if (auto d = run.digests.find(key); d != run.digests.end()) {
      digests[key] = d->second;  // not applied now (it failed): what the last apply stored
    }
  }
  return inventory::ToJson(run.inventory, digests);
}

Reconciler::PhaseEnd Reconciler::PrunePhase(Run& run) {
  run.phase = "Prune";
  const inventory::Keys stale = inventory::Stale(run.previous, run.in_git);
  if (run.spec.prune && !stale.empty()) {
    apply::PruneContext ctx{run.client, run.owner, options_.controller_namespace, run.deadline};
    run.pruned = apply::Prune(stale, ctx);
    run.trace->SetAttribute(run.span, "plumbline.deleted",
                            static_cast<int64_t>(run.pruned.Count(apply::Action::kDeleted)));
    run.inventory = inventory::AfterPrune(std::move(run.inventory), run.pruned);
  }
  run.status["inventory"] = InventoryJson(run);
  if (run.pruned.HasFailures()) {
    return Fail(run, app::reason::kPruneFailed, run.pruned.FirstFailure());
  }
  return std::nullopt;
}

void Reconciler::RecordRevision(Run& run) {
  Json& status = run.status;
  const source::Commit& commit = run.snapshot->commit();
  apply::ChangeSet all = run.applied;
  all.Append(run.pruned);
  const size_t created = all.Count(apply::Action::kCreated);
  const size_t configured = all.Count(apply::Action::kConfigured);
  const size_t deleted = all.Count(apply::Action::kDeleted);
  const size_t changes = created + configured + deleted;
  const bool new_revision = status.value("lastAppliedRevision", "") != commit.sha;
  metrics_.Applied(run.ns, run.name, metrics::ApplyAction::kCreated, created);
  metrics_.Applied(run.ns, run.name, metrics::ApplyAction::kConfigured, configured);
  metrics_.Applied(run.ns, run.name, metrics::ApplyAction::kDeleted, deleted);
  metrics_.Applied(run.ns, run.name, metrics::ApplyAction::kUnchanged,
                   all.Count(apply::Action::kUnchanged));
  const auto applied_at = std::chrono::system_clock::now();
  if (new_revision) {
    metrics_.Deployed(run.ns, run.name,
                      std::chrono::duration<double>(applied_at - commit.time).count());
  }
  const std::string now = FormatRfc3339(applied_at);
  if (new_revision || !status.contains("lastAppliedTime") || changes > 0) {
    status["lastAppliedTime"] = now;
    // As written: whole seconds (RFC 3339), so the metric equals what the status shows.
    run.reported.last_applied = std::chrono::time_point_cast<std::chrono::seconds>(applied_at);
  }
  if (new_revision) {
    Json entry = {{"revision", commit.sha},
                  {"author", commit.author},
                  {"message", commit.message.substr(0, commit.message.find('\n'))},
                  {"commitTime", FormatRfc3339(commit.time)},
                  {"appliedTime", now},
                  {"created", created},
                  {"configured", configured},
                  {"deleted", deleted}};
    Json history = Json::array({entry});
    for (const auto& h : status.value("history", Json::array())) {
      if (history.size() >= options_.history_limit) break;
      history.push_back(h);
    }
    status["history"] = history;
  }
  status["lastAppliedRevision"] = commit.sha;
  run.summary = "Applied revision " + Short(commit.sha) + ": " + all.Summary();
  if (!new_revision && changes == 0) {
    // Nothing changed: keep the message of the last reconcile that changed something, so that an
    // idle reconcile (after a drift correction, say) rewrites no status.
    const Json* last = app::FindCondition(status, app::kReconciling);
    if (last != nullptr && last->value("reason", "") == app::reason::kSucceeded) {
      run.summary = last->value("message", run.summary);
    }
  }
  if (new_revision || changes > 0) {
    log_.Info("applied", {{"app", run.key},
                          {"revision", commit.sha},
                          {"trace_id", run.trace->trace_id()},
                          {"result", all.Summary()}});
  }
  // A drift correction has its own Event (one per episode); this one is for changes from git.
  if (new_revision || changes > run.corrected.size()) {
    RecordEvent(run, events::Type::kNormal, app::reason::kReconciliationSucceeded, run.summary);
  }
  if (new_revision) {
    Notify(run,
           IsRevert(commit.message) ? notify::EventType::kReverted : notify::EventType::kDeployed,
           run.summary);
  }
  for (const auto& c : all.changes) {
    if (c.action == apply::Action::kUnchanged) continue;
    log_.Debug("object", {{"app", run.key},
                          {"revision", commit.sha},
                          {"object", c.key.ToString()},
                          {"action", apply::ActionName(c.action)}});
  }
}

ReconcileResult Reconciler::HealthPhase(Run& run) {
  run.phase = "HealthCheck";
  Json& status = run.status;
  const int64_t gen = run.generation;
  Memory& memory = *run.memory;
  if (memory.health_revision != run.revision) {
    memory.health_revision = run.revision;
    memory.health_since = std::chrono::steady_clock::now();
  }
  std::vector<ObjectHealth> objects;
  for (const auto& c : run.applied.changes) {
    if (c.action == apply::Action::kFailed || c.action == apply::Action::kSkipped) continue;
    if (!c.live.is_null()) {
      objects.push_back({c.key, health::Assess(c.live)});  // applied now: as the apply stored it
    } else if (auto live = live_.Lookup(c.key)) {
      objects.push_back({c.key, live->health});  // not applied: as the watch last saw it
    } else if (auto read = run.read_health.find(c.key); read != run.read_health.end()) {
      objects.push_back({c.key, read->second});  // the watch lags behind: as the GET saw it
    }
  }
  const HealthVerdict verdict = JudgeHealth(
      objects, std::chrono::steady_clock::now() - memory.health_since, run.spec.timeout);
  app::SetCondition(&status, app::kReconciling, false, app::reason::kSucceeded, run.summary, gen);
  switch (verdict.state) {
    case HealthVerdict::State::kHealthy:
      app::SetCondition(&status, app::kHealthy, true, app::reason::kHealthy,
                        "all objects are healthy", gen);
      app::SetCondition(&status, app::kReady, true, app::reason::kReconciliationSucceeded,
                        run.summary, gen);
      return ReconcileResult::RequeueAfter(run.spec.interval);
    case HealthVerdict::State::kFailed:
      app::SetCondition(&status, app::kHealthy, false, app::reason::kHealthCheckFailed,
                        verdict.message, gen);
      (void)Fail(run, app::reason::kHealthCheckFailed, verdict.message);
      return ReconcileResult::RequeueAfter(run.spec.interval);
    case HealthVerdict::State::kProgressing:
      break;
  }
  app::SetCondition(&status, app::kHealthy, false, app::reason::kProgressing, verdict.message, gen);
  app::SetCondition(&status, app::kReady, false, app::reason::kProgressing,
                    run.summary + "; waiting for " + verdict.message, gen);
  return ReconcileResult::RequeueAfter(std::min(options_.health_recheck, run.spec.interval));
}

}  // namespace plumbline::reconcile
