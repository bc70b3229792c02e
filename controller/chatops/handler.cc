#include "chatops/handler.h"

#include <exception>
#include <utility>

#include "chatops/slack.h"
#include "common/json.h"
#include "common/redact.h"

namespace plumbline::chatops {
namespace {

constexpr char kRoute[] = "/hooks/slack/command";
// Requests remembered to refuse a replay inside the timestamp window; Slack's trigger_id makes
// every genuine request's signature unique.
constexpr size_t kMaxRemembered = 4096;
// Slack truncates long messages; an action's output is cut well before, on a character.
constexpr size_t kMaxPosted = 3500;

http::ServerResponse Reply(int status, const std::string& message) {
  return {status, message + "\n"};
}

std::string Message(const char* response_type, const std::string& text) {
  // Output from git or the cluster may hold bytes that are not UTF-8: replaced, never thrown.
  return Json{{"response_type", response_type}, {"text", text}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
}

http::ServerResponse Ephemeral(const std::string& text) {
  return {200, Message("ephemeral", text), "application/json"};
}
http::ServerResponse InChannel(const std::string& text) {
  return {200, Message("in_channel", text), "application/json"};
}

// Text not written here (action output, errors, user input) cannot mention (<!channel>), link
// or format through Slack's control sequences.
std::string Escape(const std::string& raw) {
  // Errors carry git's text, which may name a repository URL with credentials in it.
  const std::string text = SafeText(raw.substr(0, kMaxPosted));
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out.push_back(c);
    }
  }
  if (text.size() > kMaxPosted) {
    // Drop the last character, which the cut may have split.
    size_t end = out.size();
    while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0x80) != 0) --end;
    out.resize(end);
    out += "… (cut)";
  }
  return out;
}

std::string Mention(const Command& c) { return "<@" + c.user_id + ">"; }
std::string Quoted(const Command& c) { return "`" + CommandLine(c) + "`"; }
std::string App(const Command& c) { return c.ns + "/" + c.name; }

std::string Field(const std::map<std::string, std::string>& form, const char* key) {
  auto it = form.find(key);
  return it == form.end() ? "" : it->second.substr(0, 200);
}

}  // namespace

Handler::Handler(SecretFn signing_secret, AuthorizerFn authorizer, Actions& actions,
                 RespondFn respond, log::Logger& logger, HandlerOptions options)
    : secret_(std::move(signing_secret)),
      authorizer_(std::move(authorizer)),
      actions_(actions),
      respond_(std::move(respond)),
      log_(logger),
      options_(std::move(options)),
      seen_(kMaxRemembered),
      failures_(options_.failure_rate, options_.failure_burst, kMaxRemembered) {
  const int workers = options_.workers < 1 ? 1 : options_.workers;
  threads_.reserve(workers);
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
}

Handler::~Handler() { Stop(); }

std::map<std::string, http::Handler> Handler::Routes() {
  return {{kRoute, [this](const http::ServerRequest& r) { return Handle(r); }}};
}

void Handler::Audit(const Command& c, const char* result, const std::string& detail) {
  const std::string verb = ToString(c.verb);
  if (options_.on_result) options_.on_result(verb, result);
  const std::string app = c.verb == Verb::kHelp ? "" : App(c);
  const std::string message = "slack command " + std::string(result);
  const log::Level level = std::string(result) == "failed"   ? log::Level::kError
                           : std::string(result) == "denied" ? log::Level::kWarn
                                                             : log::Level::kInfo;
  if (detail.empty()) {
    log_.Log(level, message,
             {{"user", c.user_id},
              {"user_name", c.user_name},
              {"channel", c.channel_id},
              {"verb", verb},
              {"app", app},
              {"result", result}});
  } else {
    log_.Log(level, message,
             {{"user", c.user_id},
              {"user_name", c.user_name},
              {"channel", c.channel_id},
              {"verb", verb},
              {"app", app},
              {"result", result},
              {"detail", detail}});
  }
}

http::ServerResponse Handler::Handle(const http::ServerRequest& r) {
  if (r.method != "POST") return Reply(405, "only POST");
  Result<std::string> secret = secret_();
  if (!secret.ok() || secret->empty()) {
    log_.Error("slack signing secret unavailable",
               {{"error", secret.ok() ? "empty" : secret.error().message()}});
    return Reply(503, "the signing secret is not available");
  }
  if (Status verified = VerifySlackRequest(*secret, r.headers, r.body,
                                           std::chrono::system_clock::now(), options_.window);
      !verified.ok()) {
    {
      MutexLock lock(mu_);
      if (!failures_.Allow(r.remote_address, std::chrono::steady_clock::now())) {
        if (options_.on_result) options_.on_result("", "unauthenticated");
        return Reply(429, "too many failed signatures");
      }
    }
    log_.Warn("slack command refused",
              {{"source", r.remote_address}, {"error", verified.error().message()}});
    const bool stale = verified.error().code() == ErrorCode::kTimeout;
    if (options_.on_result) options_.on_result("", "unauthenticated");
    return Reply(401, stale ? "stale request" : "invalid signature");
  }
  {
    // A signature is unique to a request: the same one again is a replay within the window.
    MutexLock lock(mu_);
    // As verified: the hex in either case is the same signature.
    std::string signature = r.headers.at("x-slack-signature");
    for (char& ch : signature) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!seen_.Insert(signature)) {
      log_.Warn("slack command replay ignored", {{"source", r.remote_address}});
      return Reply(200, "");
    }
  }

  const std::map<std::string, std::string> form = ParseForm(r.body);
  if (form.count("ssl_check") != 0) return Reply(200, "");  // Slack checking the certificate
  Result<Command> parsed = ParseCommand(form, options_.default_namespace);
  if (!parsed.ok()) {
    log_.Info("slack command invalid", {{"user", Field(form, "user_id")},
                                        {"user_name", Field(form, "user_name")},
                                        {"channel", Field(form, "channel_id")},
                                        {"text", Field(form, "text")},
                                        {"result", "invalid"},
                                        {"error", parsed.error().message()}});
    if (options_.on_result) options_.on_result("", "invalid");
    return Ephemeral(Escape(parsed.error().message()) + "\n" + HelpText());
  }
  const Command& c = *parsed;
  if (c.verb == Verb::kHelp) {
    Audit(c, "done");
    return Ephemeral(HelpText());
  }

  Result<Authorizer> authorizer = authorizer_();
  if (!authorizer.ok()) {
    log_.Error("chatops rules unavailable", {{"error", authorizer.error().message()}});
    Audit(c, "denied", "the rules are unavailable");
    return InChannel(Mention(c) + " cannot run " + Quoted(c) +
                     ": the chatops rules are unavailable (the controller's log says why)");
  }
  if (!authorizer->Allows(c)) {
    Audit(c, "denied");
    return InChannel(Mention(c) + " is not allowed to " + ToString(c.verb) + " " + App(c));
  }

  bool queued = false, stopping = false;
  {
    MutexLock lock(mu_);
    stopping = stopping_;
    if (!stopping_ && queue_.size() + running_ < options_.max_pending) {
      queue_.push_back(c);
      queued = true;
    }
  }
  if (!queued) {
    Audit(c, "busy");
    return Ephemeral(stopping ? "The controller is stopping; try again in a moment."
                              : "Busy: too many commands are running; try again shortly.");
  }
  work_cv_.notify_one();
  Audit(c, "allowed");
  return InChannel(Mention(c) + " ran " + Quoted(c) + "…");
}

void Handler::Work() {
  while (true) {
    Command c;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) work_cv_.wait(lock);
      if (stopping_) return;  // Stop tells the channels of those still waiting
      c = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    Run(c);
    MutexLock lock(mu_);
    --running_;
  }
}

void Handler::Run(const Command& c) {
  Result<std::string> out = Error(ErrorCode::kInternal, "no action");
  try {
    switch (c.verb) {
      case Verb::kStatus:
        out = actions_.Status(c.ns, c.name);
        break;
      case Verb::kHistory:
        out = actions_.History(c.ns, c.name);
        break;
      case Verb::kSync:
        out = actions_.Sync(c.ns, c.name);
        break;
      case Verb::kRollback:
        out = actions_.Rollback(c.ns, c.name, c.sha, c.user_name, c.user_id);
        break;
      case Verb::kSuspend:
        out = actions_.Suspend(c.ns, c.name);
        break;
      case Verb::kResume:
        out = actions_.Resume(c.ns, c.name);
        break;
      case Verb::kHelp:
        return;  // answered in Handle
    }
  } catch (const std::exception& e) {  // a worker must not take the process down
    out = Error(ErrorCode::kInternal, e.what());
  }
  if (!out.ok()) {
    Audit(c, "failed", out.error().message());
    Post(c, Mention(c) + " " + Quoted(c) + " failed: " + Escape(out.error().message()));
    return;
  }
  Audit(c, "done");
  Post(c, Mention(c) + " " + Quoted(c) + ":\n" + Escape(*out));
}

void Handler::Post(const Command& c, const std::string& text) {
  // The response_url is not logged: for 30 minutes it lets anyone post to the channel.
  if (Status s = respond_(c.response_url, Message("in_channel", text)); !s.ok()) {
    log_.Error("slack: cannot post a command's outcome", {{"user", c.user_id},
                                                          {"channel", c.channel_id},
                                                          {"verb", ToString(c.verb)},
                                                          {"app", App(c)},
                                                          {"error", s.error().message()}});
  }
}

void Handler::Stop() { std::call_once(stop_once_, &Handler::StopOnce, this); }

void Handler::StopOnce() {
  std::deque<Command> waiting;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    waiting.swap(queue_);
  }
  work_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  for (const Command& c : waiting) {
    Audit(c, "dropped", "the controller is stopping");
    Post(c, Mention(c) + " " + Quoted(c) + " was not run: the controller is stopping.");
  }
}

}  // namespace plumbline::chatops
