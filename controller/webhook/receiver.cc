#include "webhook/receiver.h"

#include "common/json.h"
#include "common/mutex.h"
#include "webhook/push.h"
#include "webhook/signature.h"

namespace plumbline::webhook {
namespace {

// Sources remembered for rate limiting; past this, the least recent is forgotten (a flood of
// addresses must not grow memory without bound, nor reset an active source's budget).
constexpr size_t kMaxSources = 4096;
// Delivery IDs remembered to refuse replays; GitHub and GitLab send a fresh one per delivery.
constexpr size_t kMaxDeliveries = 4096;

http::ServerResponse Reply(int status, const std::string& message) {
  return {status, message + "\n"};
}

std::string Header(const http::ServerRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

}  // namespace

Receiver::Receiver(SecretFn secret, TargetsFn targets, RequestFn request, log::Logger& logger,
                   ReceiverOptions options)
    : secret_(std::move(secret)),
      targets_(std::move(targets)),
      request_(std::move(request)),
      log_(logger),
      options_(options),
      failures_(options.rate_per_second, options.burst, kMaxSources),
      deliveries_(options.rate_per_second, options.burst, kMaxSources),
      seen_(kMaxDeliveries) {}

std::map<std::string, http::Handler> Receiver::Routes() {
  std::map<std::string, http::Handler> routes;
  for (const char* hook : {"github", "gitlab", "generic"}) {
    routes[std::string("/hooks/") + hook] = [this, hook](const http::ServerRequest& r) {
      return Handle(hook, r);
    };
  }
  return routes;
}

bool Receiver::Allow(Limit limit, const std::string& source) {
  MutexLock lock(mu_);
  KeyedRateLimiter& limiter = limit == Limit::kFailures ? failures_ : deliveries_;
  return limiter.Allow(source, std::chrono::steady_clock::now());
}

bool Receiver::FirstDelivery(const std::string& id) {
  MutexLock lock(mu_);
  return seen_.Insert(id);
}

http::ServerResponse Receiver::Handle(const std::string& hook, const http::ServerRequest& r) {
  if (r.method != "POST") return Reply(405, "only POST");
  auto secret = secret_();
  if (!secret.ok()) {
    log_.Error("webhook secret unavailable", {{"error", secret.error().message()}});
    return Reply(503, "the webhook secret is not available");
  }

  // Authenticity first, then limits: forgeries spend a budget of their own, so behind an
  // ingress (one address for every sender) they cannot starve valid deliveries.
  bool authentic = false;
  std::string event, delivery;
  if (hook == "github") {
    authentic = ValidSha256Signature(Header(r, "x-hub-signature-256"), *secret, r.body);
    event = Header(r, "x-github-event");
    delivery = Header(r, "x-github-delivery");
  } else if (hook == "gitlab") {
    authentic = !secret->empty() && ConstantTimeEquals(Header(r, "x-gitlab-token"), *secret);
    event = Header(r, "x-gitlab-event");
    delivery = Header(r, "x-gitlab-event-uuid");
  } else {
    authentic = ValidSha256Signature(Header(r, "x-signature"), *secret, r.body);
  }
  if (!authentic) {
    if (!Allow(Limit::kFailures, r.remote_address)) {
      return Reply(429, "too many failed authentications from " + r.remote_address);
    }
    log_.Warn("webhook refused: bad signature", {{"hook", hook}, {"source", r.remote_address}});
    return Reply(401, "bad signature");
  }
  if (!Allow(Limit::kDeliveries, r.remote_address)) {
    return Reply(429, "too many requests from " + r.remote_address);
  }
  // A signature covers the body only: a captured delivery can be sent again as it was.
  if (!FirstDelivery(delivery.substr(0, 200))) {
    log_.Info("webhook replay ignored", {{"hook", hook}, {"delivery", delivery.substr(0, 200)}});
    return Reply(200, "delivery " + delivery.substr(0, 200) + " already handled");
  }
  if (hook == "github" && event == "ping") return Reply(200, "pong");
  if ((hook == "github" && event != "push") ||
      (hook == "gitlab" && event != "Push Hook" && event != "Tag Push Hook")) {
    return Reply(202, "ignored: not a push event (" + event.substr(0, 100) + ")");
  }

  Result<Push> push = hook == "github"   ? ParseGitHub(r.body)
                      : hook == "gitlab" ? ParseGitLab(r.body)
                                         : ParseGeneric(r.body);
  if (!push.ok()) return Reply(400, push.error().message());

  Json reconciling = Json::array();
  const auto traceparent = r.headers.find("traceparent");
  for (const Target& t : targets_()) {
    if (!Concerns(*push, t.repo_url, t.revision)) continue;
    const std::string key = t.ns + "/" + t.name;
    if (Status s = request_(t, traceparent == r.headers.end() ? "" : traceparent->second);
        !s.ok()) {
      log_.Error("webhook: cannot request a reconcile",
                 {{"app", key}, {"error", s.error().message()}});
      continue;
    }
    reconciling.push_back(key);
  }
  log_.Info("webhook push", {{"hook", hook},
                             {"repo", push->repo_urls.front()},
                             {"ref", push->tag.empty() ? push->branch : "tag " + push->tag},
                             {"reconciling", std::to_string(reconciling.size())}});
  return {202, Json{{"reconciling", reconciling}}.dump() + "\n", "application/json"};
}

}  // namespace plumbline::webhook
