// The controller: watches Applications (and the Secrets they name), keeps the latest copy of each
// Application in a cache, and feeds keys to N workers through a WorkQueue. Reads come from the
// cache, writes go to the API server. Level-based: a key means "look at this Application again".
//
// Start() once, Stop() once; thread-safe in between.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "kube/client.h"
#include "kube/watch.h"
#include "log/logger.h"
#include "reconcile/reconciler.h"
#include "reconcile/work_queue.h"

namespace plumbline::reconcile {

struct ControllerOptions {
  int workers = 4;
  std::string watch_namespace;  // "" = all namespaces
  WorkQueue::Options queue;
  std::function<void(size_t)> on_queue_depth;  // sampled as keys come and go
};

// One cached Application: as JSON text (parsed, nlohmann::json takes about 8 times the memory,
// which at 1,000 Applications is tens of MiB) and the few fields the watch handlers compare.
struct CachedApplication {
  static CachedApplication Of(const Json& application);
  Json Parse() const;

  std::string text;  // without metadata.managedFields
  int64_t generation = 0;
  bool deleting = false;
  std::string annotations;  // as JSON text: a changed one may be a sync request
  // The Secrets the spec names (git credentials, decryption and verification keys): a change to
  // one wakes the Application up.
  std::vector<std::string> secrets;
};

class Controller {
 public:
  Controller(kube::Client& client, Reconciler& reconciler, log::Logger& logger,
             ControllerOptions options);
  ~Controller();

  // Starts the watches, and the workers unless `run_workers` is false (a replica that is not the
  // leader keeps its cache warm but reconciles nothing). Fails when the CRD is not installed.
  Status Start(bool run_workers = true);
  // Starts the workers; does nothing once Stop() was called.
  void StartWorkers();
  // Waits for the reconciles in progress to finish.
  void Stop();
  // True once the first list of Applications has arrived.
  bool Synced() const { return synced_; }
  // The cached Applications (every replica keeps them, leader or not).
  std::vector<Json> Applications();
  WorkQueue& queue() { return queue_; }

 private:
  void OnApplications(const std::vector<Json>& items);
  void OnApplicationEvent(const kube::WatchEvent& event);
  void OnSecretEvent(const kube::WatchEvent& event);
  void Work();
  void Enqueue(const std::string& key);

  kube::Client& client_;
  Reconciler& reconciler_;
  log::Logger& log_;
  const ControllerOptions options_;
  WorkQueue queue_;
  std::unique_ptr<kube::ListWatcher> apps_watch_;
  std::unique_ptr<kube::ListWatcher> secrets_watch_;
  Mutex workers_mu_;
  bool stopped_ GUARDED_BY(workers_mu_) = false;
  std::vector<std::thread> workers_ GUARDED_BY(workers_mu_);
  std::atomic<bool> synced_{false};
  Mutex mu_;
  std::map<std::string, CachedApplication> apps_ GUARDED_BY(mu_);  // key -> latest Application
};

}  // namespace plumbline::reconcile
