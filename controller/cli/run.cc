// `plumbline run`: the controller.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "app/application.h"
#include "chatops/handler.h"
#include "cli/app_client.h"
#include "cli/chatops_actions.h"
#include "cli/cli.h"
#include "cli/kube_flags.h"
#include "cli/notifications.h"
#include "cli/policy_flags.h"
#include "common/base64.h"
#include "common/duration.h"
#include "common/mutex.h"
#include "common/rfc3339.h"
#include "events/recorder.h"
#include "http/server.h"
#include "leader/elector.h"
#include "log/logger.h"
#include "metrics/metrics.h"
#include "reconcile/controller.h"
#include "reconcile/reconciler.h"
#include "source/git_source.h"
#include "source/shared_fetcher.h"
#include "trace/context.h"
#include "trace/exporter.h"
#include "webhook/receiver.h"

namespace plumbline::cli {
namespace {

bool InCluster() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  return host && *host;
}

std::string DefaultControllerNamespace() {
  std::ifstream in("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  std::string ns;
  if (in && std::getline(in, ns) && !ns.empty()) return ns;
  return "plumbline-system";
}

// The pod name in a cluster (the hostname), plus a random suffix so that a restarted process
// never mistakes its predecessor's lease for its own.
std::string DefaultIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !*host)
    std::snprintf(host, sizeof host, "plumbline");
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "_%08x", random());
  return std::string(host) + suffix;
}

// A shared secret (`what`: "webhook secret", "Slack signing secret"), from a file or from key
// `key` of a Secret; re-read at most every 10 s so a rotated secret applies without a restart.
webhook::Receiver::SecretFn SharedSecret(kube::Client& client, std::string ns,
                                         std::string secret_name, std::string key, std::string file,
                                         std::string what) {
  struct Cache {
    Mutex mu;
    std::chrono::steady_clock::time_point at GUARDED_BY(mu){};
    std::optional<Result<std::string>> value GUARDED_BY(mu);
  };
  auto cache = std::make_shared<Cache>();
  return [&client, ns, secret_name, key, file, what, cache]() -> Result<std::string> {
    MutexLock lock(cache->mu);
    const auto now = std::chrono::steady_clock::now();
    if (cache->value && now - cache->at < std::chrono::seconds(10)) return *cache->value;
    Result<std::string> value = Error(ErrorCode::kInternal, "unset");
    if (!file.empty()) {
      std::ifstream in(file, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      value = !in ? Result<std::string>(
                        Error(ErrorCode::kNotFound, what + " file \"" + file + "\" unreadable"))
              : text.empty() ? Result<std::string>(Error(ErrorCode::kInvalidArgument,
                                                         what + " file \"" + file + "\" is empty"))
                             : Result<std::string>(text);
    } else {
      auto secrets = client.Resource({"", "v1", "Secret"});
      auto secret =
          secrets.ok() ? client.Get(*secrets, ns, secret_name) : Result<Json>(secrets.error());
      std::string encoded;
      if (secret.ok() && secret->contains("data") && (*secret)["data"].is_object()) {
        encoded = (*secret)["data"].value(key, "");
      }
      auto decoded = Base64Decode(encoded);
      value = !secret.ok() ? Result<std::string>(secret.error())
              : encoded.empty() || !decoded.ok()
                  ? Result<std::string>(
                        Error(ErrorCode::kInvalidArgument,
                              "Secret " + ns + "/" + secret_name + " has no key \"" + key + "\""))
                  : Result<std::string>(*decoded);
    }
    cache->value = value;
    cache->at = now;
    return value;
  };
}

webhook::Target TargetOf(const Json& app) {
  webhook::Target t;
  t.ns = app["metadata"].value("namespace", "");
  t.name = app["metadata"].value("name", "");
  const Json spec = app.value("spec", Json::object());
  const Json source = spec.is_object() ? spec.value("source", Json::object()) : Json::object();
  if (source.is_object()) {
    t.repo_url = source.value("repoURL", "");
    t.revision = source.value("revision", "");
  }
  return t;
}

// What `plumbline sync` does: a new requested-at annotation, answered with a fresh fetch. A
// valid W3C `traceparent` of the push goes beside it (and an old one is removed), so that the
// reconcile links its trace to the push's.
Status RequestReconcile(kube::Client& client, const webhook::Target& t,
                        const std::string& traceparent) {
  const auto parent = trace::ParseTraceparent(traceparent);
  Json annotations = {{app::kRequestedAtAnnotation,
                       "webhook " + FormatRfc3339Micro(std::chrono::system_clock::now())}};
  if (parent) annotations[app::kTraceparentAnnotation] = trace::FormatTraceparent(*parent);
  Json patch = {
      {"apiVersion", std::string(app::kGroup) + "/" + app::kVersion},
      {"kind", app::kKind},
      {"metadata", {{"name", t.name}, {"namespace", t.ns}, {"annotations", annotations}}}};
  kube::ApplyOptions as_webhook;
  as_webhook.field_manager = "plumbline-webhook";
  auto applied = client.Apply(patch, as_webhook);
  if (!applied.ok()) return applied.error();
  return Status::Ok();
}

// Why the controller stops: a signal, or the leader lease lost.
class StopRequest {
 public:
  void Set(std::string reason) {
    {
      MutexLock lock(mu_);
      if (!reason_.empty()) return;
      reason_ = std::move(reason);
    }
    cv_.notify_all();
  }
  std::string Wait() {
    MutexLock lock(mu_);
    while (reason_.empty()) cv_.wait(lock);
    return reason_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::string reason_ GUARDED_BY(mu_);
};

void AddRunFlags(Flags& flags) {
  AddKubeFlags(flags);
  AddPolicyFlags(flags);
  flags.Add("workers", "4", "Applications reconciled at once")
      .Add("apply-concurrency", "16",
           "objects applied at once across all Applications (one apply phase's objects go out "
           "together)")
      .Add("watch-namespace", "", "only reconcile Applications in this namespace (default: all)")
      .Add("controller-namespace", DefaultControllerNamespace(),
           "the namespace the controller runs in; never pruned")
      .Add("default-interval", "3m", "interval of Applications that set no spec.interval")
      .Add("metrics-addr", ":8080",
           "where /metrics is served (host:port, :port for all interfaces, 0 to disable)")
      .Add("health-addr", ":8081", "where /healthz and /readyz are served (0 to disable)")
      .Add("webhook-addr", "0",
           "where push webhooks are received (/hooks/github, /hooks/gitlab, /hooks/generic); "
           "0 disables")
      .Add("webhook-secret", "",
           "Secret (in the controller namespace) whose key `token` is the webhook secret")
      .Add("webhook-secret-file", "", "file holding the webhook secret (instead of a Secret)")
      .Add("slack-signing-secret", "",
           "serve Slack slash commands on /hooks/slack/command (needs --webhook-addr), checked "
           "with the signing secret in key `signingSecret` of this Secret of the controller's "
           "namespace")
      .Add("slack-signing-secret-file", "",
           "file holding the Slack signing secret (instead of a Secret)")
      .Add("chatops-configmap", "plumbline-chatops",
           "ConfigMap of the controller's namespace whose `rules.yaml` says who may run which "
           "Slack command on which Application (absent: only help)")
      .Add("slack-response-url-prefix", "https://hooks.slack.com/",
           "where a Slack command's results may be posted: its response_url must start with this")
      .Add("chatops-default-namespace", "default",
           "namespace of an Application a Slack command names without one")
      .Add("otlp-endpoint", "",
           "send a trace of each reconcile to this OpenTelemetry collector (OTLP over HTTP, "
           "JSON; \"http://collector:4318\"); empty: trace ids only, nothing sent")
      .Add("webhook-rate", "10", "webhook requests per second allowed from one address")
      .Add("webhook-burst", "20", "webhook requests allowed at once from one address")
      .Add("leader-elect", "false",
           "elect a leader on a Lease so that of several replicas only one reconciles", true)
      .Add("leader-election-namespace", "", "namespace of the Lease (default: the controller's)")
      .Add("leader-election-id", "plumbline-leader", "name of the Lease")
      .Add("leader-election-identity", "",
           "this replica's name in the Lease (default: host name "
           "and a random suffix)")
      .Add("leader-lease-duration", "15s", "how long a Lease holds without renewal")
      .Add("leader-renew-deadline", "10s",
           "the leader stops writing when it could not renew for this long")
      .Add("leader-retry-period", "2s", "how often the Lease is renewed or tried")
      .Add("cache-dir", UserCacheDir("git"), "where git repositories are cached")
      .Add("allow-local-repos", "false",
           "fetch file:// URLs and local paths (a local demo, tests); they read this machine's "
           "disk, so they are refused by default. The git cache is refused always",
           true)
      .Add("git-timeout", "60", "seconds one git fetch may take")
      .Add("max-file-bytes", std::to_string(4 << 20), "largest manifest file rendered")
      .Add("max-documents", "10000", "most YAML documents rendered for one Application")
      .Add("max-objects", "10000", "most objects rendered for one Application")
      .Add("kustomize-path", "kustomize",
           "the kustomize program, for a path holding kustomization.yaml (looked up on PATH)")
      .Add("helm-path", "helm", "the helm program, for a path holding Chart.yaml")
      .Add("sops-path", "sops", "the sops program, for files encrypted with SOPS")
      .Add("allow-remote-bases", "false",
           "let kustomize fetch resources that are not in the repository (git or HTTP URLs); "
           "refused by default, as they reach the network as the controller",
           true)
      .Add("render-timeout", "60", "seconds kustomize, helm or sops may run for one render")
      .Add("gpgv-path", "gpgv",
           "the gpgv program, for OpenPGP-signed revisions under spec.verify (SSH signatures are "
           "verified in-process)")
      .Add("policy-fail-open", "false",
           "apply revisions when the policy server cannot answer (default: refuse them, "
           "PolicyCheckFailed)",
           true)
      .Add("default-service-account", "",
           "the ServiceAccount (of each Application's own namespace) that an Application without "
           "spec.serviceAccountName acts as; default: the controller's own identity")
      .Add("no-cross-namespace-refs", "false",
           "refuse (Stalled) an Application that deploys outside its own namespace", true)
      .Add("log-format", InCluster() ? "json" : "text", "json or text")
      .Add("log-level", "info", "debug, info, warn or error")
      .Add("check-flags", "false", "validate the flags, then exit without starting", true);
}

constexpr int kMaxThreadsPerFlag = 1024;

// The flags of `plumbline run` that need more than a string, checked before anything starts.
struct RunSettings {
  log::Format log_format = log::Format::kText;
  log::Level log_level = log::Level::kInfo;
  std::map<std::string, double> numbers;  // the positive numbers, by flag name
  std::map<std::string, std::chrono::milliseconds> durations;
  bool leader_elect = false;
  leader::ElectorOptions election;
  std::string webhook_addr;
  bool push_webhooks = false;                 // --webhook-secret(-file)
  bool chatops = false;                       // --slack-signing-secret(-file)
  std::unique_ptr<policy::Gate> policy_gate;  // --policy-url; null: none
};

Result<RunSettings> ReadRunSettings(const Flags& flags) {
  RunSettings settings;
  const std::string format = flags.Get("log-format");
  if (format != "json" && format != "text") {
    return Error(ErrorCode::kInvalidArgument, "--log-format must be json or text");
  }
  settings.log_format = format == "json" ? log::Format::kJson : log::Format::kText;
  const std::map<std::string, log::Level> levels = {{"debug", log::Level::kDebug},
                                                    {"info", log::Level::kInfo},
                                                    {"warn", log::Level::kWarn},
                                                    {"error", log::Level::kError}};
  auto level = levels.find(flags.Get("log-level"));
  if (level == levels.end()) {
    return Error(ErrorCode::kInvalidArgument, "--log-level must be debug, info, warn or error");
  }
  settings.log_level = level->second;

  for (const char* name :
       {"workers", "apply-concurrency", "git-timeout", "render-timeout", "max-file-bytes",
        "max-documents", "max-objects", "webhook-rate", "webhook-burst"}) {
    auto v = flags.GetDouble(name);
    if (!v.ok() || *v <= 0) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string("--") + name + " must be a positive number");
    }
    settings.numbers[name] = *v;
  }
  // Each is a thread: a typo must not start a million of them.
  for (const char* name : {"workers", "apply-concurrency"}) {
    if (settings.numbers[name] > kMaxThreadsPerFlag) {
      return Error(ErrorCode::kInvalidArgument, std::string("--") + name + " must be at most " +
                                                    std::to_string(kMaxThreadsPerFlag));
    }
  }
  for (const char* name : {"default-interval", "leader-lease-duration", "leader-renew-deadline",
                           "leader-retry-period"}) {
    auto d = ParseDuration(flags.Get(name));
    if (!d.ok() || d->count() <= 0) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string("--") + name + " must be a positive duration (like 30s or 3m)");
    }
    settings.durations[name] = *d;
  }

  auto gate = PolicyGateFromFlags(flags);
  if (!gate.ok()) return gate.error();
  settings.policy_gate = std::move(*gate);

  settings.leader_elect = flags.GetBool("leader-elect");
  leader::ElectorOptions& election = settings.election;
  election.ns = flags.Get("leader-election-namespace").empty()
                    ? flags.Get("controller-namespace")
                    : flags.Get("leader-election-namespace");
  election.name = flags.Get("leader-election-id");
  election.identity = flags.Get("leader-election-identity").empty()
                          ? DefaultIdentity()
                          : flags.Get("leader-election-identity");
  election.lease_duration = settings.durations["leader-lease-duration"];
  election.renew_deadline = settings.durations["leader-renew-deadline"];
  election.retry_period = settings.durations["leader-retry-period"];
  if (settings.leader_elect) {
    if (Status s = leader::Validate(election); !s.ok()) return s.error();
  }
  for (char c : flags.Get("default-service-account")) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return Error(ErrorCode::kInvalidArgument,
                   "--default-service-account must be a ServiceAccount name (lowercase letters, "
                   "digits, '-' and '.')");
    }
  }
  settings.webhook_addr = flags.Get("webhook-addr");
  settings.push_webhooks =
      !flags.Get("webhook-secret").empty() || !flags.Get("webhook-secret-file").empty();
  settings.chatops =
      !flags.Get("slack-signing-secret").empty() || !flags.Get("slack-signing-secret-file").empty();
  if (!flags.Get("webhook-secret").empty() && !flags.Get("webhook-secret-file").empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "give only one of --webhook-secret and --webhook-secret-file");
  }
  if (!flags.Get("slack-signing-secret").empty() &&
      !flags.Get("slack-signing-secret-file").empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "give only one of --slack-signing-secret and --slack-signing-secret-file");
  }
  if (settings.webhook_addr != "0" && !settings.push_webhooks && !settings.chatops) {
    return Error(ErrorCode::kInvalidArgument,
                 "--webhook-addr needs --webhook-secret or --webhook-secret-file (push webhooks), "
                 "or --slack-signing-secret or --slack-signing-secret-file (Slack commands)");
  }
  if (settings.chatops && settings.webhook_addr == "0") {
    return Error(ErrorCode::kInvalidArgument,
                 "Slack commands are served on the webhook server: give --webhook-addr");
  }
  if (const std::string otlp = flags.Get("otlp-endpoint");
      !otlp.empty() && otlp.rfind("http://", 0) != 0 && otlp.rfind("https://", 0) != 0) {
    return Error(ErrorCode::kInvalidArgument, "--otlp-endpoint must be an http(s) URL");
  }
  return settings;
}

// A second client to the same API server, identified and counted like `like`, without its
// write fence: for the Lease itself, and for webhook requests that any replica may make.
Result<std::unique_ptr<kube::Client>> UnfencedClient(const kube::Client& main,
                                                     const kube::ClientOptions& like,
                                                     std::chrono::milliseconds request_timeout) {
  kube::ClientOptions options;
  options.user_agent = like.user_agent;
  options.on_request = like.on_request;
  options.request_timeout = request_timeout;
  return kube::Client::Create(main.config(), options);
}

// /healthz: the process serves. /readyz: the Applications are listed (every replica watches
// them, so a new leader starts with a warm cache).
Result<std::unique_ptr<http::Server>> ServeProbes(const std::string& addr,
                                                  const reconcile::Controller& controller) {
  std::map<std::string, http::Handler> routes;
  routes["/healthz"] = [](const http::ServerRequest&) { return http::ServerResponse{200, "ok\n"}; };
  routes["/readyz"] = [&controller](const http::ServerRequest&) {
    return controller.Synced() ? http::ServerResponse{200, "ok\n"}
                               : http::ServerResponse{503, "Applications not listed yet\n"};
  };
  return http::Serve(addr, std::move(routes));
}

}  // namespace

int RunCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "Usage: plumbline run [flags]\n\nRuns the controller: reconciles every Application "
      "in the cluster until SIGINT or SIGTERM.");
  AddRunFlags(flags);
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline run: " << s.error().message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return 0;
  }
  auto read = ReadRunSettings(flags);
  if (!read.ok()) {
    err << "plumbline run: " << read.error().message() << "\n";
    return 2;
  }
  const RunSettings& settings = *read;
  if (flags.GetBool("check-flags")) return 0;
  auto number = [&settings](const char* name) { return settings.numbers.at(name); };
  auto fail = [&err](const Error& e) {
    err << "plumbline run: " << e.message() << "\n";
    return 1;
  };
  log::Logger logger(err, settings.log_format, settings.log_level);
  const bool leader_elect = settings.leader_elect;

  // Block the stop signals before any thread starts (threads inherit the mask); one thread
  // waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  metrics::Metrics metrics;
  std::unique_ptr<leader::Elector> elector;  // set before any write can happen
  kube::ClientOptions client_options;
  // The identity in the User-Agent tells replicas apart in the API server's audit log.
  client_options.user_agent =
      std::string("plumbline/") + PLUMBLINE_VERSION + " (" + settings.election.identity + ")";
  client_options.on_request = [&metrics](const kube::RequestRecord& r) {
    metrics.KubeRequest(r.verb, r.code, r.latency.count());
  };
  if (leader_elect) {
    client_options.may_write = [&elector] {
      return elector ? elector->MayWrite()
                     : Status(Error(ErrorCode::kUnavailable, "not the leader yet"));
    };
  }
  auto client = ClientFromFlags(flags, client_options);
  if (!client.ok()) return fail(client.error());
  std::unique_ptr<kube::Client> lease_client;
  if (leader_elect) {
    // Lease requests are bounded by half the renew deadline, so a slow answer on a loaded
    // machine still counts while a hung one leaves time for a retry. (The fence itself is
    // timed: writes stop at the deadline whatever a request is doing.)
    const leader::ElectorOptions& election = settings.election;
    auto c = UnfencedClient(**client, client_options,
                            std::max(election.retry_period, election.renew_deadline / 2));
    if (!c.ok()) return fail(c.error());
    lease_client = std::move(*c);
    elector = std::make_unique<leader::Elector>(*lease_client, election, logger);
  }

  // The cache outlives a killed process (an emptyDir survives a container restart), and so do
  // the lock files of a fetch it was in the middle of; nothing else writes this cache.
  if (int removed = source::RemoveStaleLocks(flags.Get("cache-dir"), std::chrono::seconds(0));
      removed > 0) {
    logger.Info("git cache: removed lock files a killed fetch left",
                {{"files", std::to_string(removed)}});
  }
  source::SourceOptions git_options;
  git_options.allow_local_repos = flags.GetBool("allow-local-repos");
  auto git = source::NewLibgit2Source(flags.Get("cache-dir"), git_options);
  source::SharedFetcher fetcher(*git);
  events::Recorder events(**client, "plumbline");
  reconcile::ReconcilerOptions ropts;
  ropts.controller_namespace = flags.Get("controller-namespace");
  ropts.default_interval = settings.durations.at("default-interval");
  ropts.fetch_timeout = std::chrono::milliseconds(int64_t(number("git-timeout") * 1000));
  ropts.render.max_file_bytes = size_t(number("max-file-bytes"));
  ropts.render.max_documents = size_t(number("max-documents"));
  ropts.render.max_objects = size_t(number("max-objects"));
  ropts.render.kustomize = flags.Get("kustomize-path");
  ropts.render.helm = flags.Get("helm-path");
  ropts.render.sops = flags.Get("sops-path");
  ropts.render.allow_remote_bases = flags.GetBool("allow-remote-bases");
  ropts.render.tool_timeout = std::chrono::milliseconds(int64_t(number("render-timeout") * 1000));
  ropts.default_service_account = flags.Get("default-service-account");
  ropts.no_cross_namespace_refs = flags.GetBool("no-cross-namespace-refs");
  ropts.apply_concurrency = size_t(number("apply-concurrency"));
  ropts.verify.gpgv_path = flags.Get("gpgv-path");
  ropts.policy = settings.policy_gate.get();
  ropts.policy_fail_open = flags.GetBool("policy-fail-open");
  if (const std::string addr = flags.Get("metrics-addr"); addr != "0") {
    if (Status s = metrics.Serve(addr); !s.ok()) return fail(s.error());
  }
  // Traces and notifications outlive the reconciler that hands them spans and events.
  std::unique_ptr<trace::Exporter> traces;
  if (const std::string endpoint = flags.Get("otlp-endpoint"); !endpoint.empty()) {
    trace::OtlpHttpOptions otlp;
    otlp.endpoint = endpoint;
    otlp.resource = {{"service.name", std::string("plumbline")},
                     {"service.version", std::string(PLUMBLINE_VERSION)},
                     {"service.instance.id", settings.election.identity}};
    auto exporter = trace::NewOtlpHttpExporter(
        otlp,
        [&metrics](size_t spans, bool ok) { metrics.Spans(ok ? "exported" : "failed", spans); },
        [&metrics](size_t spans) { metrics.Spans("dropped", spans); });
    if (!exporter.ok()) return fail(exporter.error().Wrap("--otlp-endpoint"));
    traces = std::move(*exporter);
    ropts.traces = traces.get();
  }
  std::unique_ptr<Notifications> notifications;
  if (auto started = Notifications::Start(**client, flags.Get("watch-namespace"), logger, metrics);
      started.ok()) {
    notifications = std::move(*started);
    ropts.notifications = &notifications->sink();
  } else {
    logger.Warn("notifications are off", {{"error", started.error().message()}});
  }
  reconcile::Reconciler reconciler(**client, fetcher, events, logger, metrics, ropts);
  reconcile::ControllerOptions copts;
  copts.on_queue_depth = [&metrics](size_t depth) {
    metrics.SetWorkqueueDepth(static_cast<int>(depth));
  };
  copts.workers = int(number("workers"));
  copts.watch_namespace = flags.Get("watch-namespace");
  reconcile::Controller controller(**client, reconciler, logger, copts);

  std::unique_ptr<http::Server> probes;
  if (const std::string addr = flags.Get("health-addr"); addr != "0") {
    auto server = ServeProbes(addr, controller);
    if (!server.ok()) return fail(server.error());
    probes = std::move(*server);
  }

  // Push webhooks: any replica may receive one; it asks for a reconcile the way `plumbline sync`
  // does (an annotation), which the leader acts on. Hence a client without the write fence.
  std::unique_ptr<kube::Client> webhook_client;
  std::unique_ptr<webhook::Receiver> receiver;
  std::unique_ptr<KubeChatOpsActions> chat_actions;
  std::unique_ptr<chatops::Handler> chat;
  std::unique_ptr<http::Server> webhook_server;
  if (settings.webhook_addr != "0") {
    auto c = UnfencedClient(**client, client_options, kube::ClientOptions().request_timeout);
    if (!c.ok()) return fail(c.error());
    webhook_client = std::move(*c);
    // Connect and discover Applications now, so that the first delivery answers at once (the
    // sender gives up after 10 s; a TLS handshake alone can take seconds under load).
    if (auto found = webhook_client->Resource({app::kGroup, app::kVersion, app::kKind});
        !found.ok()) {
      logger.Warn("webhooks: Applications not discovered yet",
                  {{"error", found.error().message()}});
    }
    std::map<std::string, http::Handler> routes;
    if (settings.push_webhooks) {
      receiver = std::make_unique<webhook::Receiver>(
          SharedSecret(*webhook_client, flags.Get("controller-namespace"),
                       flags.Get("webhook-secret"), "token", flags.Get("webhook-secret-file"),
                       "webhook secret"),
          [&controller] {
            std::vector<webhook::Target> targets;
            for (const Json& app : controller.Applications()) targets.push_back(TargetOf(app));
            return targets;
          },
          [&webhook_client](const webhook::Target& t, const std::string& traceparent) {
            return RequestReconcile(*webhook_client, t, traceparent);
          },
          logger, webhook::ReceiverOptions{number("webhook-rate"), int(number("webhook-burst"))});
      routes = receiver->Routes();
    }
    if (settings.chatops) {
      ChatOpsActionsOptions actions_options;
      actions_options.git_cache_dir = flags.Get("cache-dir") + "/chatops";
      actions_options.git_timeout =
          std::chrono::milliseconds(int64_t(number("git-timeout") * 1000));
      chat_actions = std::make_unique<KubeChatOpsActions>(
          *webhook_client, [&controller] { return controller.Applications(); }, actions_options);
      chatops::HandlerOptions chat_options;
      chat_options.default_namespace = flags.Get("chatops-default-namespace");
      chat_options.on_result = [&metrics](const std::string& verb, const std::string& result) {
        metrics.ChatCommand(verb, result);
      };
      chat = std::make_unique<chatops::Handler>(
          SharedSecret(*webhook_client, flags.Get("controller-namespace"),
                       flags.Get("slack-signing-secret"), "signingSecret",
                       flags.Get("slack-signing-secret-file"), "Slack signing secret"),
          ChatOpsRules(*webhook_client, flags.Get("controller-namespace"),
                       flags.Get("chatops-configmap")),
          *chat_actions, SlackResponder(flags.Get("slack-response-url-prefix")), logger,
          chat_options);
      routes.merge(chat->Routes());
    }
    auto server = http::Serve(settings.webhook_addr, routes);
    if (!server.ok()) return fail(server.error());
    webhook_server = std::move(*server);
  }

  // The signal thread is detached (sigwait cannot be interrupted), so it shares ownership of
  // what it signals: a signal after Run returned must not touch a destroyed object.
  auto stop_owner = std::make_shared<StopRequest>();
  StopRequest& stop = *stop_owner;
  std::thread([stop_owner, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    stop_owner->Set(sig == SIGINT ? "SIGINT" : "SIGTERM");
  }).detach();

  if (Status s = controller.Start(/*run_workers=*/!leader_elect); !s.ok()) {
    logger.Error("cannot start", {{"error", s.error().message()}});
    return 1;
  }
  logger.Info("controller started", {{"server", (*client)->config().server},
                                     {"workers", flags.Get("workers")},
                                     {"metrics", flags.Get("metrics-addr")},
                                     {"health", flags.Get("health-addr")},
                                     {"webhooks", settings.webhook_addr},
                                     {"leader-elect", leader_elect ? "true" : "false"}});
  std::thread leading;
  if (leader_elect) {
    leading = std::thread([&] {
      if (!elector->Acquire()) return;
      elector->StartRenewing([&stop] { stop.Set("lost the leader lease"); });
      controller.StartWorkers();
    });
  }
  const std::string reason = stop.Wait();
  const bool lost = reason == "lost the leader lease";
  logger.Info("stopping", {{"reason", reason}});
  // In-flight reconciles finish, status included, while the lease is still renewed.
  webhook_server.reset();  // no new requests while stopping
  if (chat) chat->Stop();  // commands under way finish
  controller.Stop();
  if (elector) elector->Stop();
  if (leading.joinable()) leading.join();
  if (elector && !lost) elector->Release();
  logger.Info("stopped", {});
  return lost ? 1 : 0;
}

}  // namespace plumbline::cli
