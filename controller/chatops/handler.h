// Slack slash commands on POST /hooks/slack/command: status, history, sync, rollback, suspend
// and resume on an Application, from a channel, by the people the chatops rules allow.
//
// Checks, in order: method (405), signing secret available (503), Slack's signature and
// timestamp (401), a replayed request (200, ignored), the command's text (200, an ephemeral
// usage reply: Slack shows any other status as an error), the rules (default deny). An allowed
// command is acknowledged in the channel at once (Slack waits 3 s at most), runs on a worker
// thread, and its outcome, success or failure, is posted to the channel through the request's
// response_url: the channel keeps the trail of who ran what and what came of it. Each command
// is also logged with who, where, what and the result. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chatops/authz.h"
#include "chatops/command.h"
#include "common/error.h"
#include "common/mutex.h"
#include "http/server.h"
#include "log/logger.h"
#include "webhook/limits.h"

namespace plumbline::chatops {

// What the commands do, implemented by the controller. Each returns the text to post (Slack
// mrkdwn; '&', '<' and '>' are escaped before posting, so output cannot mention or link).
// Called from the Handler's worker threads, several at once: must be thread-safe.
class Actions {
 public:
  virtual ~Actions() = default;
  virtual Result<std::string> Status(const std::string& ns, const std::string& name) = 0;
  virtual Result<std::string> History(const std::string& ns, const std::string& name) = 0;
  virtual Result<std::string> Sync(const std::string& ns, const std::string& name) = 0;
  // `sha` "" = the revision applied last; the revert is authored as the Slack user (their
  // user name and ID).
  virtual Result<std::string> Rollback(const std::string& ns, const std::string& name,
                                       const std::string& sha, const std::string& user_name,
                                       const std::string& user_id) = 0;
  virtual Result<std::string> Suspend(const std::string& ns, const std::string& name) = 0;
  virtual Result<std::string> Resume(const std::string& ns, const std::string& name) = 0;
};

struct HandlerOptions {
  std::string default_namespace;     // for "sync web"; "" = the namespace must be given
  int workers = 2;                   // threads that run actions (at least 1)
  size_t max_pending = 16;           // commands running or waiting; more are answered "busy"
  std::chrono::seconds window{300};  // how far a request's timestamp may be from now
  // Failed signatures allowed per source address (a token bucket), as the push receiver's:
  // past them, 429 and no log line. <= 0 allows all.
  double failure_rate = 10;
  int failure_burst = 20;
  // Called for every request with its verb ("" when unknown) and result: unauthenticated,
  // invalid, denied, busy, allowed, done, failed (a metric).
  std::function<void(const std::string& verb, const std::string& result)> on_result;
};

class Handler {
 public:
  using SecretFn = std::function<Result<std::string>()>;
  using AuthorizerFn = std::function<Result<Authorizer>()>;
  // Posts a message (JSON) to a command's response_url.
  using RespondFn =
      std::function<plumbline::Status(const std::string& response_url, const std::string& json)>;

  Handler(SecretFn signing_secret, AuthorizerFn authorizer, Actions& actions, RespondFn respond,
          log::Logger& logger, HandlerOptions options = {});
  ~Handler();  // Stop()
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  http::ServerResponse Handle(const http::ServerRequest& request) EXCLUDES(mu_);
  // "/hooks/slack/command".
  std::map<std::string, http::Handler> Routes();
  // Waits for the running commands; those still waiting are not run, and their channels are
  // told so. Later commands are answered "stopping". Idempotent.
  void Stop() EXCLUDES(mu_);

 private:
  void Work() EXCLUDES(mu_);
  void Run(const Command& command);
  void StopOnce() EXCLUDES(mu_);
  // Posts an in-channel message; a failure is logged.
  void Post(const Command& command, const std::string& text);
  void Audit(const Command& command, const char* result, const std::string& detail = "");

  SecretFn secret_;
  AuthorizerFn authorizer_;
  Actions& actions_;
  RespondFn respond_;
  log::Logger& log_;
  const HandlerOptions options_;

  Mutex mu_;
  CondVar work_cv_;
  std::deque<Command> queue_ GUARDED_BY(mu_);
  size_t running_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  webhook::RecentIds seen_ GUARDED_BY(mu_);
  webhook::KeyedRateLimiter failures_ GUARDED_BY(mu_);
  std::once_flag stop_once_;
  std::vector<std::thread> threads_;
};

}  // namespace plumbline::chatops
