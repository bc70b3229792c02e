#include "reconcile/reconciler.h"

#include <set>

#include "app/application.h"
#include "app/conditions.h"
#include "apply/applier.h"
#include "common/base64.h"
#include "common/rfc3339.h"
#include "health/health.h"
#include "kube/errors.h"

namespace plumbline::reconcile {

struct Reconciler::Memory {
  std::mutex mu;
  std::map<apply::ObjectKey, Json> last_applied;  // each object as stored after our last apply
  std::string health_revision;  // the revision whose rollout is being watched
  std::chrono::steady_clock::time_point health_since{};
};

struct Reconciler::Run {
  Json app;     // as read from the cache
  Json status;  // what will be written
  std::string key;
  std::string name, ns;
  int64_t generation = 0;
  app::Spec spec;
  std::shared_ptr<Memory> memory;
  std::chrono::steady_clock::time_point deadline;
};

namespace {

std::string Short(const std::string& sha) { return sha.substr(0, 12); }

void MarkFailed(Json* status, int64_t gen, const std::string& reason, const std::string& message) {
  app::SetCondition(status, app::kReady, false, reason, message, gen);
  app::SetCondition(status, app::kReconciling, false, reason, message, gen);
}

Json InventoryJson(const std::vector<apply::ObjectKey>& keys) {
  Json inv = Json::array();
  for (const auto& k : keys) inv.push_back(k.ToInventory());
  return inv;
}

std::vector<apply::ObjectKey> InventoryOf(const Json& status) {
  std::vector<apply::ObjectKey> keys;
  if (!status.is_object() || !status.contains("inventory") || !status["inventory"].is_array()) {
    return keys;
  }
  for (const auto& e : status["inventory"]) keys.push_back(apply::ObjectKey::FromInventory(e));
  return keys;
}

// The client for an Application's objects: its ServiceAccount when it names one (null: use ours).
std::unique_ptr<kube::Client> ImpersonatedClient(kube::Client& client, const std::string& ns,
                                                 const app::Spec& spec) {
  if (spec.service_account_name.empty()) return nullptr;
  return client.Impersonate({"system:serviceaccount:" + ns + ":" + spec.service_account_name, {}});
}

Result<source::GitAuth> ReadAuth(kube::Client& client, const std::string& ns,
                                 const std::string& name) {
  auto secrets = client.Resource({"", "v1", "Secret"});
  if (!secrets.ok()) return secrets.error();
  auto secret = client.Get(*secrets, ns, name);
  if (!secret.ok()) return secret.error().Wrap("spec.source.secretRef");
  source::GitAuth auth;
  const Json data = secret->value("data", Json::object());
  auto field = [&](const char* key) -> std::string {
    if (!data.contains(key) || !data[key].is_string()) return "";
    auto decoded = Base64Decode(data[key].get<std::string>());
    return decoded.ok() ? *decoded : "";
  };
  auth.username = field("username");
  auth.password = field("password");
  auth.bearer_token = field("bearerToken");
  auth.ssh_private_key = field("identity");
  auth.known_hosts = field("known_hosts");
  auth.ca_pem = field("ca.crt");
  return auth;
}

}  // namespace

Reconciler::Reconciler(kube::Client& client, source::SharedFetcher& fetcher,
                       events::Recorder& events, log::Logger& logger, ReconcilerOptions options)
    : client_(client), fetcher_(fetcher), events_(events), log_(logger), options_(std::move(options)) {}

void Reconciler::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  memory_.erase(key);
}

Status Reconciler::SetFinalizer(const Json& application, bool present) {
  // Our field manager owns only the finalizer; applying without it removes it.
  Json patch = {{"apiVersion", app::kApiVersion},
                {"kind", app::kKind},
                {"metadata", {{"name", application["metadata"]["name"]},
                              {"namespace", application["metadata"]["namespace"]},
                              // A precondition: never re-create an Application deleted meanwhile.
                              {"uid", application["metadata"]["uid"]}}}};
  if (present) patch["metadata"]["finalizers"] = Json::array({app::kFinalizer});
  kube::ApplyOptions options;
  options.field_manager = "plumbline-finalizer";
  auto applied = client_.Apply(patch, options);
  if (!applied.ok()) return applied.error();
  return Status::Ok();
}

Status Reconciler::WriteStatus(Run& run) {
  run.status["observedGeneration"] = run.generation;
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
  return Status::Ok();
}

ReconcileResult Reconciler::Reconcile(const Json& cached) {
  // Read the Application fresh: the cache may not have our last status write yet, and the
  // inventory in it decides what gets pruned.
  Json application = cached;
  if (auto apps = client_.Resource({app::kGroup, app::kVersion, app::kKind}); apps.ok()) {
    auto fresh = client_.Get(*apps, cached["metadata"].value("namespace", ""),
                             cached["metadata"].value("name", ""));
    if (fresh.ok()) {
      application = std::move(*fresh);
    } else if (kube::IsNotFound(fresh.error())) {
      return {};
    } else {
      log_.Error("cannot read the Application", {{"app", app::KeyOf(cached)},
                                                  {"error", fresh.error().message()}});
      return {std::nullopt, true};
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& m = memory_[run.key];
    if (!m) m = std::make_shared<Memory>();
    run.memory = m;
  }
  std::lock_guard<std::mutex> app_lock(run.memory->mu);

  if (application["metadata"].contains("deletionTimestamp")) return Finalize(run);

  const Json finalizers = application["metadata"].value("finalizers", Json::array());
  bool has_finalizer = false;
  for (const auto& f : finalizers) has_finalizer |= f == app::kFinalizer;
  if (!has_finalizer) {
    if (Status s = SetFinalizer(application, true); !s.ok()) {
      log_.Error("cannot add the finalizer", {{"app", run.key}, {"error", s.error().message()}});
      return {std::nullopt, true};
    }
  }

  ReconcileResult result = Pipeline(run);
  if (Status s = WriteStatus(run); !s.ok() && !result.retry) result = {std::nullopt, true};
  return result;
}

ReconcileResult Reconciler::Finalize(Run& run) {
  auto spec = app::ParseSpec(run.app);
  std::vector<apply::ObjectKey> inventory = InventoryOf(run.status);
  if (spec.ok() && spec->prune && !inventory.empty()) {
    std::unique_ptr<kube::Client> impersonated = ImpersonatedClient(client_, run.ns, *spec);
    kube::Client* client = impersonated ? impersonated.get() : &client_;
    apply::PruneContext ctx{client, run.name, run.ns, options_.controller_namespace,
                            std::chrono::steady_clock::now() + spec->timeout};
    apply::ChangeSet pruned = apply::Prune(inventory, ctx);
    if (pruned.HasFailures()) {
      std::string msg = "deleting the Application's objects failed: " + pruned.FirstFailure();
      log_.Error(msg, {{"app", run.key}});
      (void)events_.Record(run.app, events::Type::kWarning, "PruneFailed", msg);
      return {std::nullopt, true};
    }
    log_.Info("deleted the Application's objects",
              {{"app", run.key}, {"result", pruned.Summary()}});
  } else {
    log_.Info("Application deleted; its objects are left in place (prune is off)",
              {{"app", run.key}});
  }
  if (Status s = SetFinalizer(run.app, false); !s.ok() && !kube::IsNotFound(s.error())) {
    return {std::nullopt, true};
  }
  return {};
}

ReconcileResult Reconciler::Pipeline(Run& run) {
  Json& status = run.status;
  const int64_t gen = run.generation;

  // Spec errors: retrying will not fix them, a spec change will (Stalled).
  auto spec = app::ParseSpec(run.app);
  if (!spec.ok()) {
    MarkFailed(&status, gen, "InvalidSpec", spec.error().message());
    app::SetCondition(&status, app::kStalled, true, "InvalidSpec", spec.error().message(), gen);
    log_.Error("invalid spec", {{"app", run.key}, {"error", spec.error().message()}});
    return {};
  }
  run.spec = *spec;
  app::RemoveCondition(&status, app::kStalled);
  if (run.spec.suspend) {
    app::SetCondition(&status, app::kReconciling, false, "Suspended", "reconciliation is suspended",
                      gen);
    return {};
  }
  run.deadline = std::chrono::steady_clock::now() + run.spec.timeout;
  app::SetCondition(&status, app::kReconciling, true, "Progressing", "reconciliation in progress",
                    gen);

  // Fetch.
  source::FetchRequest request;
  request.url = run.spec.repo_url;
  request.revision = run.spec.revision;
  request.timeout = std::min(options_.fetch_timeout, run.spec.timeout);
  if (!run.spec.secret_name.empty()) {
    auto auth = ReadAuth(client_, run.ns, run.spec.secret_name);
    if (!auth.ok()) {
      MarkFailed(&status, gen, "FetchFailed", auth.error().message());
      log_.Error("fetch failed", {{"app", run.key}, {"error", auth.error().message()}});
      return {std::nullopt, true};
    }
    request.auth = *auth;
  }
  // A sync request (the requested-at annotation) must see the newest commit, not a shared
  // fetch from earlier in the interval.
  const std::string requested_at =
      run.app["metadata"].value("annotations", Json::object()).value(app::kRequestedAtAnnotation, "");
  bool requested = !requested_at.empty() && status.value("lastHandledRequestedAt", "") != requested_at;
  std::string revision;  // known once fetched
  // A failed phase: one Warning Event per new failure (not one per retry), conditions, a log line.
  auto fail = [&](const char* reason, const std::string& msg) -> ReconcileResult {
    const Json* ready = app::FindCondition(status, app::kReady);
    if (ready == nullptr || ready->value("message", "") != msg) {
      (void)events_.Record(run.app, events::Type::kWarning, reason, msg);
    }
    MarkFailed(&status, gen, reason, msg);
    log_.Error(std::string(reason), {{"app", run.key}, {"revision", revision}, {"error", msg}});
    return {std::nullopt, true};
  };
  auto snapshot = fetcher_.Fetch(request, requested ? std::chrono::milliseconds(0)
                                                    : run.spec.interval);
  if (!requested_at.empty()) status["lastHandledRequestedAt"] = requested_at;
  if (!snapshot.ok()) return fail("FetchFailed", snapshot.error().message());
  const source::Commit& commit = (*snapshot)->commit();
  revision = commit.sha;
  status["lastAttemptedRevision"] = commit.sha;

  // Render.
  auto files = (*snapshot)->ReadDir(run.spec.path);
  if (!files.ok()) return fail("RenderFailed", files.error().message());
  auto rendered = render::Render(*files, options_.render);
  if (!rendered.ok()) return fail("RenderFailed", rendered.error().message());

  std::unique_ptr<kube::Client> impersonated = ImpersonatedClient(client_, run.ns, run.spec);
  kube::Client* client = impersonated ? impersonated.get() : &client_;
  apply::ApplyContext ctx;
  ctx.client = client;
  ctx.app_name = run.name;
  ctx.app_namespace = run.ns;
  ctx.default_namespace = run.spec.destination_namespace;
  ctx.deadline = run.deadline;
  auto memory = run.memory;
  ctx.last_applied = [memory](const apply::ObjectKey& key) -> std::optional<Json> {
    auto it = memory->last_applied.find(key);
    if (it == memory->last_applied.end()) return std::nullopt;
    return it->second;
  };

  std::vector<Json> objects;
  for (auto& r : *rendered) objects.push_back(r.object);
  // Two objects with one identity are an error, judged after namespaces are defaulted.
  std::vector<apply::ObjectKey> desired = apply::DesiredKeys(objects, ctx);
  std::map<apply::ObjectKey, std::string> seen;
  for (size_t i = 0; i < desired.size(); ++i) {
    auto [it, inserted] = seen.emplace(desired[i], (*rendered)[i].source);
    if (!inserted) {
      return fail("RenderFailed", desired[i].ToString() + " is defined twice: in " + it->second +
                                      " and in " + (*rendered)[i].source);
    }
  }

  std::vector<apply::ObjectKey> inventory = InventoryOf(status);
  if (objects.empty() && !inventory.empty() && !run.spec.allow_empty) {
    return fail("RenderFailed",
                "path \"" + run.spec.path + "\" rendered no objects at " + Short(commit.sha) +
                    "; refusing to prune " + std::to_string(inventory.size()) +
                    " objects (set spec.allowEmpty to allow it)");
  }

  // Apply.
  apply::ChangeSet applied = apply::ApplyAll(objects, ctx);
  std::set<apply::ObjectKey> in_git(desired.begin(), desired.end());
  std::vector<apply::ObjectKey> new_inventory;
  for (const auto& c : applied.changes) {
    if (c.action != apply::Action::kFailed) {
      new_inventory.push_back(c.key);
      if (!c.live.is_null()) memory->last_applied[c.key] = c.live;
    }
  }
  // Objects that failed keep their place if they were managed before.
  for (const auto& k : inventory) {
    bool kept = std::find(new_inventory.begin(), new_inventory.end(), k) != new_inventory.end();
    if (!kept && in_git.count(k)) new_inventory.push_back(k);
  }
  if (applied.HasFailures()) {
    // Never prune after a failed apply: keep the stale objects too.
    for (const auto& k : inventory) {
      if (!in_git.count(k)) new_inventory.push_back(k);
    }
    status["inventory"] = InventoryJson(new_inventory);
    return fail("ApplyFailed", applied.FirstFailure());
  }

  // Prune.
  apply::ChangeSet pruned;
  std::vector<apply::ObjectKey> stale;
  for (const auto& k : inventory) {
    if (!in_git.count(k)) stale.push_back(k);
  }
  if (run.spec.prune && !stale.empty()) {
    apply::PruneContext pctx{client, run.name, run.ns, options_.controller_namespace,
                             run.deadline};
    pruned = apply::Prune(stale, pctx);
    for (const auto& c : pruned.changes) {
      memory->last_applied.erase(c.key);
      if (c.action == apply::Action::kFailed) new_inventory.push_back(c.key);
    }
  }
  status["inventory"] = InventoryJson(new_inventory);
  if (pruned.HasFailures()) return fail("PruneFailed", pruned.FirstFailure());

  // History and the applied revision.
  apply::ChangeSet all = applied;
  all.Append(pruned);
  bool new_revision = status.value("lastAppliedRevision", "") != commit.sha;
  bool changed = all.Count(apply::Action::kCreated) + all.Count(apply::Action::kConfigured) +
                     all.Count(apply::Action::kDeleted) > 0;
  std::string now = FormatRfc3339(std::chrono::system_clock::now());
  if (new_revision || !status.contains("lastAppliedTime") || changed) {
    status["lastAppliedTime"] = now;
  }
  if (new_revision) {
    Json entry = {{"revision", commit.sha},
                  {"author", commit.author},
                  {"message", commit.message.substr(0, commit.message.find('\n'))},
                  {"commitTime", FormatRfc3339(commit.time)},
                  {"appliedTime", now},
                  {"created", all.Count(apply::Action::kCreated)},
                  {"configured", all.Count(apply::Action::kConfigured)},
                  {"deleted", all.Count(apply::Action::kDeleted)}};
    Json history = Json::array({entry});
    for (const auto& h : status.value("history", Json::array())) {
      if (history.size() >= options_.history_limit) break;
      history.push_back(h);
    }
    status["history"] = history;
  }
  status["lastAppliedRevision"] = commit.sha;
  std::string summary = "Applied revision " + Short(commit.sha) + ": " + all.Summary();
  if (new_revision || changed) {
    log_.Info("applied", {{"app", run.key}, {"revision", commit.sha}, {"result", all.Summary()}});
    (void)events_.Record(run.app, events::Type::kNormal, "ReconciliationSucceeded", summary);
  }
  for (const auto& c : all.changes) {
    if (c.action == apply::Action::kUnchanged) continue;
    log_.Debug("object", {{"app", run.key},
                          {"revision", commit.sha},
                          {"object", c.key.ToString()},
                          {"action", apply::ActionName(c.action)}});
  }

  // Health.
  if (memory->health_revision != commit.sha) {
    memory->health_revision = commit.sha;
    memory->health_since = std::chrono::steady_clock::now();
  }
  std::string unhealthy;
  bool degraded = false;
  for (const auto& c : applied.changes) {
    if (c.live.is_null()) continue;
    health::Assessment a = health::Assess(c.live);
    if (a.state == health::State::kHealthy) continue;
    degraded |= a.state == health::State::kDegraded;
    if (unhealthy.empty()) unhealthy = c.key.ToString() + ": " + a.message;
  }
  app::SetCondition(&status, app::kReconciling, false, "Succeeded", summary, gen);
  if (unhealthy.empty()) {
    app::SetCondition(&status, app::kHealthy, true, "Healthy", "all objects are healthy", gen);
    app::SetCondition(&status, app::kReady, true, "ReconciliationSucceeded", summary, gen);
    return {run.spec.interval, false};
  }
  bool timed_out = std::chrono::steady_clock::now() - memory->health_since >= run.spec.timeout;
  if (degraded || timed_out) {
    app::SetCondition(&status, app::kHealthy, false, "HealthCheckFailed", unhealthy, gen);
    MarkFailed(&status, gen, "HealthCheckFailed", unhealthy);
    return {run.spec.interval, false};
  }
  app::SetCondition(&status, app::kHealthy, false, "Progressing", unhealthy, gen);
  app::SetCondition(&status, app::kReady, false, "Progressing",
                    summary + "; waiting for " + unhealthy, gen);
  return {std::min(options_.health_recheck, run.spec.interval), false};
}

}  // namespace plumbline::reconcile
