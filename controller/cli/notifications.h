// Notifications in `plumbline run`: the cluster's Notifiers, kept current by a watch, and the
// Dispatcher that sends each event the reconciler publishes to the Notifiers that select it.
// Provider Secrets are read when a notification is sent, so a rotated one applies at once.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/mutex.h"
#include "kube/client.h"
#include "kube/watch.h"
#include "log/logger.h"
#include "metrics/metrics.h"
#include "notify/dispatcher.h"
#include "notify/notifier.h"

namespace plumbline::cli {

class Notifications {
 public:
  // Fails when the Notifier CRD is not installed. `watch_namespace` "": all namespaces.
  static Result<std::unique_ptr<Notifications>> Start(kube::Client& client,
                                                      const std::string& watch_namespace,
                                                      log::Logger& logger,
                                                      metrics::Metrics& metrics);
  ~Notifications();

  notify::Sink& sink() { return *dispatcher_; }
  // Stops the watch and the deliveries (queued ones are abandoned).
  void Stop();

 private:
  Notifications(kube::Client& client, log::Logger& logger, metrics::Metrics& metrics);
  std::vector<notify::NotifierSpec> Current() EXCLUDES(mu_);
  void OnList(const std::vector<Json>& items) EXCLUDES(mu_);
  void OnEvent(const kube::WatchEvent& event) EXCLUDES(mu_);
  // The notifier's parsed spec, or nothing (logged once per change) when it is invalid.
  void Put(const Json& notifier) REQUIRES(mu_);
  Result<notify::ProviderSecret> ReadSecret(const std::string& ns, const std::string& name)
      EXCLUDES(secrets_mu_);

  kube::Client& client_;
  log::Logger& log_;
  metrics::Metrics& metrics_;
  Mutex mu_;
  std::map<std::string, notify::NotifierSpec> notifiers_ GUARDED_BY(mu_);  // by ns/name
  // Provider Secrets as read, for a few seconds: every delivery (and retry) needs one, and the
  // API's request budget is everyone's.
  struct KeptSecret {
    Result<notify::ProviderSecret> secret = Error(ErrorCode::kInternal, "unread");
    std::chrono::steady_clock::time_point at;
  };
  Mutex secrets_mu_;
  std::map<std::string, KeptSecret> secrets_ GUARDED_BY(secrets_mu_);
  std::unique_ptr<notify::Dispatcher> dispatcher_;
  std::unique_ptr<kube::ListWatcher> watch_;
};

}  // namespace plumbline::cli
