// The push webhook receiver (PRODUCT §5): POST /hooks/github, /hooks/gitlab and /hooks/generic.
// A valid push asks every Application it concerns for a reconcile with a fresh fetch, the same
// request `plumbline sync` makes (the requested-at annotation), so any replica can receive it
// and the leader acts on it.
//
// Checks, in order: method (405), secret available (503), signature or token in constant time
// (401; past the failed-authentication budget of the source address, 429), the source's budget
// of authentic deliveries (429), a replayed delivery ID (200, ignored), payload (400). The server
// refuses bodies over its limit (413) before any of these. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/mutex.h"
#include "http/server.h"
#include "log/logger.h"
#include "webhook/limits.h"

namespace plumbline::webhook {

// An Application a push may concern.
struct Target {
  std::string ns, name;
  std::string repo_url;
  std::string revision;
};

// Two budgets per source address with these numbers: one for failed authentications, one for
// authentic deliveries.
struct ReceiverOptions {
  double rate_per_second = 10;  // <= 0 disables the limits
  int burst = 20;
};

class Receiver {
 public:
  using SecretFn = std::function<Result<std::string>()>;
  using TargetsFn = std::function<std::vector<Target>()>;
  // `traceparent` is the request's W3C traceparent header as sent ("" when none), for the
  // reconcile to link its trace to the push.
  using RequestFn = std::function<Status(const Target&, const std::string& traceparent)>;

  Receiver(SecretFn secret, TargetsFn targets, RequestFn request, log::Logger& logger,
           ReceiverOptions options = {});

  // The routes to serve.
  std::map<std::string, http::Handler> Routes();
  // One request to /hooks/<hook> ("github", "gitlab", "generic").
  http::ServerResponse Handle(const std::string& hook, const http::ServerRequest& request);

 private:
  enum class Limit { kFailures, kDeliveries };
  bool Allow(Limit limit, const std::string& source) EXCLUDES(mu_);
  bool FirstDelivery(const std::string& id) EXCLUDES(mu_);

  SecretFn secret_;
  TargetsFn targets_;
  RequestFn request_;
  log::Logger& log_;
  const ReceiverOptions options_;

  Mutex mu_;
  KeyedRateLimiter failures_ GUARDED_BY(mu_);
  KeyedRateLimiter deliveries_ GUARDED_BY(mu_);
  RecentIds seen_ GUARDED_BY(mu_);
};

}  // namespace plumbline::webhook
