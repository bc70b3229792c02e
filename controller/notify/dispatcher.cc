#include "notify/dispatcher.h"

#include <algorithm>
#include <utility>

namespace plumbline::notify {
namespace {

// "namespace/name" -> "namespace".
std::string NamespaceOf(const std::string& key) { return key.substr(0, key.find('/')); }

using Clock = std::chrono::steady_clock;

std::string KeyOf(const NotifierSpec& n) { return n.ns + "/" + n.name; }

std::chrono::milliseconds Backoff(const DispatcherOptions& o, int attempts) {
  std::chrono::milliseconds wait = o.first_backoff;
  for (int i = 1; i < attempts && wait < o.max_backoff; ++i) wait *= 2;
  return std::min(wait, o.max_backoff);
}

}  // namespace

Dispatcher::Dispatcher(NotifiersFn notifiers, SecretFn secret, SendFn send, log::Logger& logger,
                       CountFn count, Options options)
    : notifiers_(std::move(notifiers)),
      secret_(std::move(secret)),
      send_(std::move(send)),
      log_(logger),
      count_(std::move(count)),
      options_(options) {
  MutexLock lock(stop_mu_);
  for (int i = 0; i < std::max(options_.threads, 1); ++i) workers_.emplace_back([this] { Work(); });
}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Publish(const Event& event) {
  std::vector<NotifierSpec> matches;
  for (NotifierSpec& n : notifiers_()) {
    if (Selects(n, event)) matches.push_back(std::move(n));
  }
  if (matches.empty()) return;
  std::vector<const NotifierSpec*> dropped;
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    // Tenants choose how many Notifiers they have and how slow they are: bound the whole too.
    size_t queued = 0;
    for (const auto& entry : lanes_) queued += entry.second.queue.size();
    for (const NotifierSpec& n : matches) {
      if (queued >= options_.max_queued_total) {
        dropped.push_back(&n);
        continue;
      }
      const std::string key = KeyOf(n);
      auto it = lanes_.find(key);
      if (it == lanes_.end()) {
        if (options_.max_queued == 0) {
          dropped.push_back(&n);
          continue;
        }
        it = lanes_.emplace(key, Lane()).first;
        it->second.turn = next_turn_++;
      } else if (it->second.queue.size() >= options_.max_queued) {
        dropped.push_back(&n);
        continue;
      }
      Item item;
      item.notifier = n;
      item.event = event;
      it->second.queue.push_back(std::move(item));
      ++queued;
    }
  }
  cv_.notify_all();
  for (const NotifierSpec* n : dropped) {
    count_(n->provider, "dropped");
    log_.Warn("notification dropped: the notifier's queue is full",
              {{"app", event.app_namespace + "/" + event.app_name},
               {"notifier", KeyOf(*n)},
               {"provider", ToString(n->provider)},
               {"event", ToString(event.type)}});
  }
}

void Dispatcher::Stop() {
  MutexLock stop(stop_mu_);
  size_t abandoned = 0;
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  {
    MutexLock lock(mu_);
    for (const auto& entry : lanes_) abandoned += entry.second.queue.size();
    lanes_.clear();
  }
  if (abandoned > 0) {
    log_.Warn("notifications abandoned at shutdown", {{"count", std::to_string(abandoned)}});
  }
}

void Dispatcher::Work() {
  std::string key;
  Item item;
  while (Next(&key, &item)) {
    Attempted attempted;
    try {
      attempted = Attempt(item);
    } catch (const std::exception& e) {  // a bug or no memory: this delivery fails, not the process
      attempted.outcome = Outcome::kFailed;
      attempted.error = std::string("unexpected error: ") + e.what();
    }
    Finish(key, item, attempted);
  }
}

bool Dispatcher::Next(std::string* key, Item* item) {
  MutexLock lock(mu_);
  while (!stopping_) {
    const Clock::time_point now = Clock::now();
    Lane* pick = nullptr;
    const std::string* pick_key = nullptr;
    Clock::time_point wake = Clock::time_point::max();
    // Fair between tenants: the namespace with the fewest deliveries under way goes first, then
    // the lane that has waited longest. Many Notifiers of one tenant with hanging receivers
    // delay another tenant's next delivery by one timeout at most, not by their number.
    int pick_busy = 0;
    for (auto& entry : lanes_) {
      Lane& lane = entry.second;
      if (lane.busy || lane.queue.empty()) continue;
      if (lane.not_before > now) {
        wake = std::min(wake, lane.not_before);
        continue;
      }
      const auto busy = busy_in_namespace_.find(NamespaceOf(entry.first));
      const int lane_busy = busy == busy_in_namespace_.end() ? 0 : busy->second;
      if (pick == nullptr || lane_busy < pick_busy ||
          (lane_busy == pick_busy && lane.turn < pick->turn)) {
        pick = &lane;
        pick_key = &entry.first;
        pick_busy = lane_busy;
      }
    }
    if (pick != nullptr) {
      pick->busy = true;
      ++busy_in_namespace_[NamespaceOf(*pick_key)];
      *key = *pick_key;
      *item = pick->queue.front();
      return true;
    }
    if (wake == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, wake);
    }
  }
  return false;
}

Dispatcher::Attempted Dispatcher::Attempt(const Item& item) {
  const NotifierSpec& n = item.notifier;
  Attempted out;
  auto secret = secret_(n.ns, n.secret_name);
  if (!secret.ok()) {
    out.error = "cannot read Secret " + n.secret_name + ": " + secret.error().message();
    // The API server may come back; a missing or malformed Secret waits for a person.
    const ErrorCode code = secret.error().code();
    const bool transient = code == ErrorCode::kUnavailable || code == ErrorCode::kTimeout;
    out.outcome = transient ? Outcome::kRetry : Outcome::kFailed;
    return out;
  }
  auto delivery = Format(n, *secret, item.event);
  if (!delivery.ok()) {
    out.error = delivery.error().message();
    return out;
  }
  auto response = send_(delivery->base_url, delivery->request, options_.timeout);
  if (!response.ok()) {
    // Only the kind of failure: the client's message names the address.
    out.error = std::string("no response (") + ErrorCodeName(response.error().code()) + ")";
    out.outcome = Outcome::kRetry;
    return out;
  }
  out.status = response->status;
  if (out.status >= 200 && out.status < 300) {
    out.outcome = Outcome::kSent;
  } else {
    out.error = "the receiver answered " + std::to_string(out.status);
    out.outcome = out.status == 429 || out.status >= 500 ? Outcome::kRetry : Outcome::kFailed;
  }
  return out;
}

void Dispatcher::Finish(const std::string& key, const Item& item, const Attempted& attempted) {
  const int attempts = item.attempts + 1;
  const bool retry = attempted.outcome == Outcome::kRetry && attempts < options_.max_attempts;
  {
    MutexLock lock(mu_);
    if (auto busy = busy_in_namespace_.find(NamespaceOf(key));
        busy != busy_in_namespace_.end() && --busy->second <= 0) {
      busy_in_namespace_.erase(busy);
    }
    auto it = lanes_.find(key);
    if (it != lanes_.end()) {  // Stop may have cleared the lanes
      Lane& lane = it->second;
      lane.busy = false;
      if (retry) {
        lane.queue.front().attempts = attempts;
        lane.not_before = Clock::now() + Backoff(options_, attempts);
      } else {
        lane.queue.pop_front();
        lane.not_before = {};
      }
      lane.turn = next_turn_++;
      if (lane.queue.empty()) lanes_.erase(it);
    }
  }
  cv_.notify_all();

  const NotifierSpec& n = item.notifier;
  if (attempted.outcome == Outcome::kSent) {
    count_(n.provider, "sent");
    return;
  }
  count_(n.provider, retry ? "retried" : "failed");
  const Event& e = item.event;
  log_.Log(retry ? log::Level::kDebug : log::Level::kWarn,
           retry ? "notification will be retried" : "notification failed",
           {{"app", e.app_namespace + "/" + e.app_name},
            {"notifier", KeyOf(n)},
            {"provider", ToString(n.provider)},
            {"event", ToString(e.type)},
            {"status", attempted.status ? std::to_string(attempted.status) : "none"},
            {"attempts", std::to_string(attempts)},
            {"error", attempted.error}});
}

Result<http::Response> SendHttp(const std::string& base_url, const http::Request& request,
                                std::chrono::milliseconds timeout) {
  http::ClientOptions options;
  options.base_url = base_url;
  options.timeout = timeout;
  options.total_timeout = timeout;
  options.max_response_bytes = 64 << 10;
  auto client = http::NewClient(options);
  if (!client.ok()) return client.error();
  return (*client)->Send(request);
}

}  // namespace plumbline::notify
