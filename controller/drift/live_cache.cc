#include "drift/live_cache.h"

#include "common/mutex.h"

namespace plumbline::drift {

struct LiveCache::Kind {
  kube::ResourceInfo resource;
  std::unique_ptr<kube::ListWatcher> watcher;
  bool synced = false;
};

namespace {

// "namespace/name" of the owner named by the tracking labels, or "".
std::string AppOf(const Json& object, const OwnerLabels& keys) {
  const Json* labels = MemberAt(MemberAt(&object, "metadata"), "labels");
  std::string name = StringAt(labels, keys.name.c_str());
  std::string ns = StringAt(labels, keys.ns.c_str());
  return name.empty() || ns.empty() ? "" : ns + "/" + name;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

bool MaybeNewer(const std::string& a, const std::string& b) {
  if (AllDigits(a) && AllDigits(b)) {
    return a.size() != b.size() ? a.size() > b.size() : a > b;
  }
  return a != b;
}

LiveCache::LiveCache(kube::Client& client, log::Logger& logger, OwnerLabels labels, LiveSink sink)
    : client_(client), log_(logger), labels_(std::move(labels)), sink_(std::move(sink)) {}

LiveCache::~LiveCache() { Stop(); }

void LiveCache::Stop() {
  std::map<std::string, std::unique_ptr<Kind>> kinds;
  {
    MutexLock lock(mu_);
    kinds.swap(kinds_);
    used_by_app_.clear();
    objects_.clear();
  }
  // Outside the lock: stopping joins the watch thread, whose handlers take the lock.
  for (auto& [_, kind] : kinds) kind->watcher->Stop();
}

void LiveCache::Use(const std::string& app, const std::vector<kube::ResourceInfo>& kinds) {
  std::vector<Kind*> to_start;
  std::vector<std::unique_ptr<Kind>> to_stop;
  {
    MutexLock lock(mu_);
    std::set<std::string> wanted;
    for (const auto& r : kinds) wanted.insert(KindKey(r.gvk.group, r.gvk.kind));
    if (wanted.empty())
      used_by_app_.erase(app);
    else
      used_by_app_[app] = wanted;
    for (const auto& r : kinds) {
      std::string key = KindKey(r.gvk.group, r.gvk.kind);
      if (kinds_.count(key)) continue;
      auto kind = std::make_unique<Kind>();
      kind->resource = r;
      Kind* raw = kind.get();
      kube::ListWatchOptions options;
      options.label_selector = labels_.name;  // exists: every object Plumbline applied
      kind->watcher = std::make_unique<kube::ListWatcher>(
          client_, r, options,
          kube::ListWatchHandlers{
              [this, raw](const std::vector<Json>& items) { OnList(raw, items); },
              [this, raw](const kube::WatchEvent& e) { OnEvent(raw, e); },
              [this, key](const Error& e) {
                log_.Warn("watch of managed objects interrupted",
                          {{"kind", key}, {"error", e.message()}});
              }});
      to_start.push_back(raw);
      kinds_[key] = std::move(kind);
    }
    std::set<std::string> in_use;
    for (const auto& [_, keys] : used_by_app_) in_use.insert(keys.begin(), keys.end());
    for (auto it = kinds_.begin(); it != kinds_.end();) {
      if (in_use.count(it->first)) {
        ++it;
        continue;
      }
      const auto& gvk = it->second->resource.gvk;
      for (auto o = objects_.begin(); o != objects_.end();) {
        o = o->first.group == gvk.group && o->first.kind == gvk.kind ? objects_.erase(o) : ++o;
      }
      to_stop.push_back(std::move(it->second));
      it = kinds_.erase(it);
    }
  }
  for (Kind* kind : to_start) {
    log_.Info("watching managed objects",
              {{"kind", KindKey(kind->resource.gvk.group, kind->resource.gvk.kind)}});
    kind->watcher->Start();
  }
  for (auto& kind : to_stop) {
    log_.Info("stopped watching managed objects",
              {{"kind", KindKey(kind->resource.gvk.group, kind->resource.gvk.kind)}});
    kind->watcher->Stop();
  }
}

bool LiveCache::WaitSynced(const std::vector<kube::GroupVersionKind>& kinds,
                           std::chrono::steady_clock::time_point deadline) {
  MutexLock lock(mu_);
  while (!AllSynced(kinds)) {
    if (synced_cv_.wait_until(lock, deadline) == std::cv_status::timeout) return AllSynced(kinds);
  }
  return true;
}

bool LiveCache::AllSynced(const std::vector<kube::GroupVersionKind>& kinds) const {
  for (const auto& gvk : kinds) {
    auto it = kinds_.find(KindKey(gvk.group, gvk.kind));
    if (it == kinds_.end() || !it->second->synced) return false;
  }
  return true;
}

bool LiveCache::Synced(const kube::GroupVersionKind& gvk) const {
  MutexLock lock(mu_);
  auto it = kinds_.find(KindKey(gvk.group, gvk.kind));
  return it != kinds_.end() && it->second->synced;
}

std::optional<LiveObject> LiveCache::Lookup(const apply::ObjectKey& key) const {
  MutexLock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

size_t LiveCache::objects() const {
  MutexLock lock(mu_);
  return objects_.size();
}

size_t LiveCache::watches() const {
  MutexLock lock(mu_);
  return kinds_.size();
}

bool LiveCache::Store(const apply::ObjectKey& key, const Json& object, std::string* app) {
  LiveObject& entry = objects_[key];
  health::Assessment health = health::Assess(object);
  // First sight is no change: the apply that created the object assessed it already.
  bool health_changed = !entry.resource_version.empty() && entry.health.state != health.state;
  entry.resource_version = object["metadata"].value("resourceVersion", "");
  entry.app = AppOf(object, labels_);
  entry.health = std::move(health);
  *app = entry.app;
  return health_changed;
}

void LiveCache::OnList(Kind* kind, const std::vector<Json>& items) {
  struct Pending {
    apply::ObjectKey key;
    std::string app;
    const Json* object;
    bool health_changed;
  };
  std::vector<Pending> pending;
  {
    MutexLock lock(mu_);
    std::set<apply::ObjectKey> listed;
    for (const auto& item : items) {
      auto key = apply::ObjectKey::Of(item);
      listed.insert(key);
      std::string app;
      bool changed = Store(key, item, &app);
      pending.push_back({key, app, &item, changed});
    }
    // Objects that went while no watch was open.
    const auto& gvk = kind->resource.gvk;
    for (auto it = objects_.begin(); it != objects_.end();) {
      if (it->first.group == gvk.group && it->first.kind == gvk.kind && !listed.count(it->first)) {
        pending.push_back({it->first, it->second.app, nullptr, true});
        it = objects_.erase(it);
      } else {
        ++it;
      }
    }
  }
  log_.Debug("listed managed objects",
             {{"kind", KindKey(kind->resource.gvk.group, kind->resource.gvk.kind)},
              {"objects", std::to_string(items.size())}});
  for (const auto& p : pending) sink_(p.key, p.app, p.object, p.health_changed);
  // Synced only once the sink has seen the list too: a reconcile that waited for it then finds
  // what the tracker learnt from it (after a restart, what to adopt).
  {
    MutexLock lock(mu_);
    kind->synced = true;
  }
  synced_cv_.notify_all();
}

void LiveCache::OnEvent(Kind* kind, const kube::WatchEvent& event) {
  (void)kind;
  using Type = kube::WatchEvent::Type;
  if (event.type != Type::kAdded && event.type != Type::kModified && event.type != Type::kDeleted) {
    return;
  }
  auto key = apply::ObjectKey::Of(event.object);
  std::string app;
  bool health_changed = true;
  {
    MutexLock lock(mu_);
    if (event.type == Type::kDeleted) {
      auto it = objects_.find(key);
      app = it != objects_.end() ? it->second.app : AppOf(event.object, labels_);
      objects_.erase(key);
    } else {
      health_changed = Store(key, event.object, &app);
    }
  }
  sink_(key, app, event.type == Type::kDeleted ? nullptr : &event.object, health_changed);
}

}  // namespace plumbline::drift
