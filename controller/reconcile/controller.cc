#include "reconcile/controller.h"

#include <algorithm>

#include "app/application.h"
#include "common/mutex.h"

namespace plumbline::reconcile {
namespace {

std::vector<std::string> SecretNamesOf(const Json& application) {
  std::vector<std::string> names;
  const Json spec = application.value("spec", Json::object());
  if (!spec.is_object()) return names;
  for (const Json* owner :
       {MemberAt(&spec, "source"), MemberAt(&spec, "decryption"), MemberAt(&spec, "verify")}) {
    const Json* ref = MemberAt(owner, "secretRef");
    const Json* name = MemberAt(ref, "name");
    if (name != nullptr && name->is_string()) names.push_back(name->get<std::string>());
  }
  return names;
}

// Whether a change to an Application asks for a reconcile. Our own writes (status, the
// finalizer) also arrive as MODIFIED events; reacting to them would loop, so only a spec change,
// deletion, or an annotation change (a sync request) counts.
bool NeedsReconcile(const CachedApplication& before, const CachedApplication& after) {
  return before.generation != after.generation || before.deleting != after.deleting ||
         before.annotations != after.annotations;
}

}  // namespace

CachedApplication CachedApplication::Of(const Json& application) {
  CachedApplication c;
  const Json* meta = MemberAt(&application, "metadata");
  if (meta != nullptr && meta->is_object()) {
    if (const Json* g = MemberAt(meta, "generation"); g != nullptr && g->is_number_integer()) {
      c.generation = g->get<int64_t>();
    }
    c.deleting = meta->contains("deletionTimestamp");
    if (const Json* a = MemberAt(meta, "annotations"); a != nullptr) c.annotations = a->dump();
  }
  c.secrets = SecretNamesOf(application);
  // managedFields are the API server's bookkeeping, which no reconcile reads.
  Json stored = application;
  if (stored.contains("metadata") && stored["metadata"].is_object()) {
    stored["metadata"].erase("managedFields");
  }
  c.text = stored.dump();
  return c;
}

Json CachedApplication::Parse() const { return Json::parse(text); }

Controller::Controller(kube::Client& client, Reconciler& reconciler, log::Logger& logger,
                       ControllerOptions options)
    : client_(client),
      reconciler_(reconciler),
      log_(logger),
      options_(options),
      queue_(options.queue) {
  // Drift and health changes of managed objects: look at their Application again.
  reconciler_.SetWakeUp([this](const std::string& key) { Enqueue(key); });
}

void Controller::Enqueue(const std::string& key) {
  queue_.Add(key);
  if (options_.on_queue_depth) options_.on_queue_depth(queue_.Depth());
}

Controller::~Controller() { Stop(); }

Status Controller::Start(bool run_workers) {
  auto apps = client_.Resource({app::kGroup, app::kVersion, app::kKind});
  if (!apps.ok()) {
    return apps.error().Wrap("the Application CRD is not installed (kubectl apply -f crds/)");
  }
  auto secrets = client_.Resource({"", "v1", "Secret"});
  if (!secrets.ok()) return secrets.error();

  kube::ListWatchOptions lw;
  lw.ns = options_.watch_namespace;
  apps_watch_ = std::make_unique<kube::ListWatcher>(
      client_, *apps, lw,
      kube::ListWatchHandlers{
          [this](const std::vector<Json>& items) { OnApplications(items); },
          [this](const kube::WatchEvent& e) { OnApplicationEvent(e); },
          [this](const Error& e) {
            log_.Warn("watch of Applications interrupted", {{"error", e.message()}});
          }});
  // Secrets only wake the Applications that name them, and tell the reconciler to read a
  // changed one again; the reconcile reads the one it needs. Metadata only, so no Secret's data
  // (of every tenant of the cluster) is held or parsed here.
  kube::ListWatchOptions secrets_lw = lw;
  secrets_lw.metadata_only = true;
  secrets_watch_ = std::make_unique<kube::ListWatcher>(
      client_, *secrets, secrets_lw,
      kube::ListWatchHandlers{[this](const std::vector<Json>&) { reconciler_.SecretsListed(); },
                              [this](const kube::WatchEvent& e) { OnSecretEvent(e); }, nullptr});
  apps_watch_->Start();
  secrets_watch_->Start();
  if (run_workers) StartWorkers();
  return Status::Ok();
}

void Controller::StartWorkers() {
  MutexLock lock(workers_mu_);
  if (stopped_ || !workers_.empty()) return;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
}

void Controller::Stop() {
  std::vector<std::thread> workers;
  {
    MutexLock lock(workers_mu_);
    stopped_ = true;
    workers.swap(workers_);
  }
  queue_.ShutDown();
  if (apps_watch_) apps_watch_->Stop();
  if (secrets_watch_) secrets_watch_->Stop();
  for (auto& w : workers) {
    if (w.joinable()) w.join();
  }
  // Last, so no watch of managed objects calls into a stopped queue.
  reconciler_.SetWakeUp(nullptr);
  reconciler_.Stop();
}

std::vector<Json> Controller::Applications() {
  MutexLock lock(mu_);
  std::vector<Json> out;
  out.reserve(apps_.size());
  for (const auto& [_, app] : apps_) out.push_back(app.Parse());
  return out;
}

void Controller::OnApplications(const std::vector<Json>& items) {
  std::vector<std::string> keys;
  {
    MutexLock lock(mu_);
    std::map<std::string, CachedApplication> fresh;
    for (const auto& item : items) fresh[app::KeyOf(item)] = CachedApplication::Of(item);
    for (const auto& [key, _] : apps_) {
      if (!fresh.count(key)) keys.push_back(key);  // deleted while we were not watching
    }
    apps_.swap(fresh);
    for (const auto& [key, _] : apps_) keys.push_back(key);
  }
  synced_ = true;
  for (const auto& key : keys) Enqueue(key);
}

void Controller::OnApplicationEvent(const kube::WatchEvent& event) {
  std::string key = app::KeyOf(event.object);
  bool enqueue = false;
  {
    MutexLock lock(mu_);
    auto it = apps_.find(key);
    if (event.type == kube::WatchEvent::Type::kDeleted) {
      apps_.erase(key);
      enqueue = true;
    } else {
      CachedApplication now = CachedApplication::Of(event.object);
      enqueue = it == apps_.end() || NeedsReconcile(it->second, now);
      apps_[key] = std::move(now);
    }
  }
  if (enqueue) Enqueue(key);
}

void Controller::OnSecretEvent(const kube::WatchEvent& event) {
  const std::string ns = event.object["metadata"].value("namespace", "");
  const std::string name = event.object["metadata"].value("name", "");
  reconciler_.SecretChanged(ns, name);
  std::vector<std::string> keys;
  {
    MutexLock lock(mu_);
    for (const auto& [key, application] : apps_) {
      if (key.compare(0, ns.size() + 1, ns + "/") == 0 &&
          std::find(application.secrets.begin(), application.secrets.end(), name) !=
              application.secrets.end()) {
        keys.push_back(key);
      }
    }
  }
  for (const auto& key : keys) Enqueue(key);
}

void Controller::Work() {
  while (auto key = queue_.Get()) {
    if (options_.on_queue_depth) options_.on_queue_depth(queue_.Depth());
    Json application;
    {
      MutexLock lock(mu_);
      auto it = apps_.find(*key);
      if (it != apps_.end()) application = it->second.Parse();
    }
    if (application.is_null()) {
      reconciler_.Forget(*key);
      queue_.Forget(*key);
      queue_.Done(*key);
      continue;
    }
    ReconcileResult result;
    try {
      result = reconciler_.Reconcile(application);
    } catch (const std::exception& e) {
      // An object of an unexpected shape must not take the controller down: report and retry.
      log_.Error("reconcile failed unexpectedly", {{"app", *key}, {"error", e.what()}});
      result.retry = true;
    }
    if (result.retry) {
      queue_.AddRateLimited(*key);
    } else {
      queue_.Forget(*key);
      if (result.requeue_after) queue_.AddAfter(*key, *result.requeue_after);
    }
    queue_.Done(*key);
  }
}

}  // namespace plumbline::reconcile
