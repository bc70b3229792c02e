// The live state of managed objects, fed by watches (PRODUCT §3.5): one list+watch per kind in
// use, selecting only objects that carry Plumbline's tracking label, started when an Application
// first renders the kind and stopped when no Application renders it any more.
//
// It keeps, per object, only what reconciles need without asking the API server: whether the
// object exists, its resourceVersion, its owner Application and its health. Every event is passed
// on to a sink (the drift tracker) with the full object, then the object is dropped, so memory
// grows with the number of managed objects, not with their size.
//
// Thread-safe. Sinks run on the watch threads and must not call back into the cache's Use().
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/object_key.h"
#include "common/mutex.h"
#include "health/health.h"
#include "kube/client.h"
#include "kube/watch.h"
#include "log/logger.h"

namespace plumbline::drift {

struct LiveObject {
  std::string resource_version;
  std::string app;  // "namespace/name" of the Application named by the tracking labels
  health::Assessment health;
};

// The label keys that name an object's owning Application (namespace and name); the watches
// select objects that carry the name label.
struct OwnerLabels {
  std::string name;
  std::string ns;
};

// An object came, changed or went (`object` null). `health_changed`: its health state moved.
using LiveSink = std::function<void(const apply::ObjectKey& key, const std::string& app,
                                    const Json* object, bool health_changed)>;

class LiveCache {
 public:
  LiveCache(kube::Client& client, log::Logger& logger, OwnerLabels labels, LiveSink sink);
  ~LiveCache();
  LiveCache(const LiveCache&) = delete;
  LiveCache& operator=(const LiveCache&) = delete;

  // The kinds `app` renders now (empty: none). Starts watches for kinds new to the cache; stops
  // those no Application renders any more.
  void Use(const std::string& app, const std::vector<kube::ResourceInfo>& kinds);
  // Waits until every kind in `kinds` has been listed once, or the deadline; true if all were.
  bool WaitSynced(const std::vector<kube::GroupVersionKind>& kinds,
                  std::chrono::steady_clock::time_point deadline);
  bool Synced(const kube::GroupVersionKind& gvk) const;
  // The object, if the cache has it. Meaningful only when its kind is Synced().
  std::optional<LiveObject> Lookup(const apply::ObjectKey& key) const;
  // Objects and watches held, for benchmarks and tests.
  size_t objects() const;
  size_t watches() const;
  // Stops every watch (also done by the destructor).
  void Stop();

 private:
  struct Kind;
  static std::string KindKey(const std::string& group, const std::string& kind) {
    return group + "/" + kind;
  }
  void OnList(Kind* kind, const std::vector<Json>& items);
  void OnEvent(Kind* kind, const kube::WatchEvent& event);
  // Updates the index and returns what to tell the sink.
  bool Store(const apply::ObjectKey& key, const Json& object, std::string* app) REQUIRES(mu_);
  bool AllSynced(const std::vector<kube::GroupVersionKind>& kinds) const REQUIRES(mu_);

  kube::Client& client_;
  log::Logger& log_;
  const OwnerLabels labels_;
  const LiveSink sink_;
  mutable Mutex mu_;
  CondVar synced_cv_;
  std::map<std::string, std::unique_ptr<Kind>> kinds_ GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> used_by_app_ GUARDED_BY(mu_);  // app -> kind keys
  std::map<apply::ObjectKey, LiveObject> objects_ GUARDED_BY(mu_);
};

// Whether resourceVersion `a` may be newer than `b`. resourceVersions are opaque to clients, but
// every API server backed by etcd issues them as increasing integers; two that are not integers
// and differ count as "maybe newer", so callers verify rather than trust.
bool MaybeNewer(const std::string& a, const std::string& b);

}  // namespace plumbline::drift
