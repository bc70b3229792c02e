// Reconciles one Application (PRODUCT §3): lifecycle first (finalizer, deletion, suspend), then a
// straight pipeline of phases: fetch, render, apply, prune, health. Each phase that fails marks
// Ready=False with its reason and stops; the status is written on every exit.
//
// Thread-safe: workers call Reconcile for different Applications at once (the work queue never
// hands one Application to two workers).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "apply/object_key.h"
#include "common/json.h"
#include "events/recorder.h"
#include "kube/client.h"
#include "log/logger.h"
#include "render/render.h"
#include "source/shared_fetcher.h"

namespace plumbline::reconcile {

struct ReconcilerOptions {
  std::string controller_namespace = "plumbline-system";  // never pruned
  render::RenderOptions render;
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(60)};
  // How often to look again while objects are still rolling out.
  std::chrono::milliseconds health_recheck{std::chrono::seconds(5)};
  size_t history_limit = 10;
};

struct ReconcileResult {
  // Success: look again after this long (the interval, or sooner while progressing).
  std::optional<std::chrono::milliseconds> requeue_after;
  // A transient failure: retry with the key's exponential backoff.
  bool retry = false;
};

class Reconciler {
 public:
  Reconciler(kube::Client& client, source::SharedFetcher& fetcher, events::Recorder& events,
             log::Logger& logger, ReconcilerOptions options);

  // `application` is the latest cached copy of the object.
  ReconcileResult Reconcile(const Json& application);
  // Drops what is remembered about an Application that no longer exists.
  void Forget(const std::string& key);

 private:
  struct Memory;  // what one Application's previous reconciles learned
  struct Run;     // one reconcile in progress

  ReconcileResult Finalize(Run& run);
  ReconcileResult Pipeline(Run& run);
  Status WriteStatus(Run& run);
  Status SetFinalizer(const Json& application, bool present);

  kube::Client& client_;
  source::SharedFetcher& fetcher_;
  events::Recorder& events_;
  log::Logger& log_;
  const ReconcilerOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Memory>> memory_;  // guarded by mu_
};

}  // namespace plumbline::reconcile
