// Sends notifications without holding up the reconciler. Publish matches the event against the
// current Notifiers and queues one delivery per match; a few workers send them.
//
// Each Notifier has its own queue, sent one delivery at a time in order (a commit's "pending"
// must arrive before its "success"); different Notifiers go independently, so a receiver that
// hangs holds at most one worker, for at most the timeout, while the others keep sending. A 5xx,
// a 429 or no response is retried with exponential backoff (a waiting retry holds no worker);
// other answers are final. The Secret is read when a delivery is sent, so a rotated Secret
// applies at once. Logs and counts never hold the Secret's address or token.
//
// Thread-safe. The callbacks are called from the workers (count also from Publish) and must be
// thread-safe too.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/mutex.h"
#include "http/http_client.h"
#include "log/logger.h"
#include "notify/event.h"
#include "notify/notifier.h"
#include "notify/providers.h"

namespace plumbline::notify {

struct DispatcherOptions {
  size_t max_queued = 1000;  // per Notifier, the delivery being sent included; more are dropped
  size_t max_queued_total = 10000;  // across every Notifier
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{1000}, max_backoff{30000};
  int threads = 2;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // per attempt
};

class Dispatcher : public Sink {
 public:
  using Options = DispatcherOptions;
  using NotifiersFn = std::function<std::vector<NotifierSpec>()>;
  using SecretFn =
      std::function<Result<ProviderSecret>(const std::string& ns, const std::string& secret)>;
  // Returns any response, 4xx and 5xx included; fails only when none came (SendHttp).
  using SendFn = std::function<Result<http::Response>(const std::string& base_url,
                                                      const http::Request& request,
                                                      std::chrono::milliseconds timeout)>;
  // `result`: "sent", "failed", "dropped" (queue full) or "retried" (one per retry).
  using CountFn = std::function<void(Provider provider, std::string_view result)>;

  Dispatcher(NotifiersFn notifiers, SecretFn secret, SendFn send, log::Logger& logger,
             CountFn count, Options options = {});
  ~Dispatcher() override;  // Stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void Publish(const Event& event) override EXCLUDES(mu_);

  // Stops the workers, abandoning queued deliveries; waits for those being sent (each bounded by
  // the timeout). Publish does nothing afterwards.
  void Stop() EXCLUDES(mu_, stop_mu_);

 private:
  struct Item {
    NotifierSpec notifier;
    Event event;
    int attempts = 0;  // made so far
  };
  // One Notifier's deliveries. Its front is the one being sent or waiting for a retry.
  struct Lane {
    std::deque<Item> queue;
    bool busy = false;                                 // a worker is sending the front
    std::chrono::steady_clock::time_point not_before;  // a retry's backoff
    uint64_t turn = 0;  // when it became ready: the oldest ready lane goes first
  };
  enum class Outcome { kSent, kRetry, kFailed };
  struct Attempted {
    Outcome outcome = Outcome::kFailed;
    int status = 0;     // the HTTP status; 0 when none came
    std::string error;  // why it was not sent, without the address or token
  };

  void Work() EXCLUDES(mu_);
  // Waits for a lane's front to send; false when stopping.
  bool Next(std::string* key, Item* item) EXCLUDES(mu_);
  Attempted Attempt(const Item& item);
  void Finish(const std::string& key, const Item& item, const Attempted& attempted) EXCLUDES(mu_);

  NotifiersFn notifiers_;
  SecretFn secret_;
  SendFn send_;
  log::Logger& log_;
  CountFn count_;
  const Options options_;

  Mutex mu_;
  CondVar cv_;
  std::map<std::string, Lane> lanes_ GUARDED_BY(mu_);  // by "namespace/name"; none empty
  uint64_t next_turn_ GUARDED_BY(mu_) = 0;
  std::map<std::string, int> busy_in_namespace_ GUARDED_BY(mu_);  // lanes being sent, by namespace
  bool stopping_ GUARDED_BY(mu_) = false;

  Mutex stop_mu_;  // one Stop at a time
  std::vector<std::thread> workers_ GUARDED_BY(stop_mu_);
};

// A SendFn over http::NewClient: one client per delivery, with the system's CAs.
Result<http::Response> SendHttp(const std::string& base_url, const http::Request& request,
                                std::chrono::milliseconds timeout);

}  // namespace plumbline::notify
