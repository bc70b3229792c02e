// `plumbline run`: the controller.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/kube_flags.h"
#include "events/recorder.h"
#include "log/logger.h"
#include "metrics/metrics.h"
#include "reconcile/controller.h"
#include "reconcile/reconciler.h"
#include "source/git_source.h"
#include "source/shared_fetcher.h"

namespace plumbline::cli {
namespace {

std::string DefaultCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg) return std::string(xdg) + "/plumbline/git";
  if (home && *home) return std::string(home) + "/.cache/plumbline/git";
  return "/tmp/plumbline/git";
}

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

}  // namespace

int RunCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags("Usage: plumbline run [flags]\n\nRuns the controller: reconciles every Application "
              "in the cluster until SIGINT or SIGTERM.");
  AddKubeFlags(flags);
  flags.Add("workers", "4", "Applications reconciled at once")
      .Add("watch-namespace", "", "only reconcile Applications in this namespace (default: all)")
      .Add("controller-namespace", DefaultControllerNamespace(),
           "the namespace the controller runs in; never pruned")
      .Add("metrics-addr", ":8080",
           "where /metrics is served (host:port, :port for all interfaces, 0 to disable)")
      .Add("cache-dir", DefaultCacheDir(), "where git repositories are cached")
      .Add("git-timeout", "60", "seconds one git fetch may take")
      .Add("max-file-bytes", std::to_string(4 << 20), "largest manifest file rendered")
      .Add("max-documents", "10000", "most YAML documents rendered for one Application")
      .Add("max-objects", "10000", "most objects rendered for one Application")
      .Add("log-format", InCluster() ? "json" : "text", "json or text")
      .Add("log-level", "info", "debug, info, warn or error");
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline run: " << s.error().message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return 0;
  }
  const std::string format = flags.Get("log-format");
  if (format != "json" && format != "text") {
    err << "plumbline run: --log-format must be json or text\n";
    return 2;
  }
  const std::string level_name = flags.Get("log-level");
  log::Level level = level_name == "debug" ? log::Level::kDebug
                     : level_name == "warn" ? log::Level::kWarn
                     : level_name == "error" ? log::Level::kError
                                             : log::Level::kInfo;
  log::Logger logger(err, format == "json" ? log::Format::kJson : log::Format::kText, level);

  std::vector<std::pair<const char*, double>> numbers;
  for (const char* name : {"workers", "git-timeout", "max-file-bytes", "max-documents",
                           "max-objects"}) {
    auto v = flags.GetDouble(name);
    if (!v.ok() || *v <= 0) {
      err << "plumbline run: --" << name << " must be a positive number\n";
      return 2;
    }
    numbers.emplace_back(name, *v);
  }
  auto number = [&](const char* name) {
    for (auto& [n, v] : numbers) {
      if (std::string(n) == name) return v;
    }
    return 0.0;
  };

  metrics::Metrics metrics;
  kube::ClientOptions client_options;
  client_options.on_request = [&metrics](const kube::RequestRecord& r) {
    metrics.KubeRequest(r.verb, r.code, r.latency.count());
  };
  auto client = ClientFromFlags(flags, client_options);
  if (!client.ok()) {
    err << "plumbline run: " << client.error().message() << "\n";
    return 1;
  }
  auto git = source::NewLibgit2Source(flags.Get("cache-dir"));
  source::SharedFetcher fetcher(*git);
  events::Recorder events(**client, "plumbline");
  reconcile::ReconcilerOptions ropts;
  ropts.controller_namespace = flags.Get("controller-namespace");
  ropts.fetch_timeout = std::chrono::milliseconds(int64_t(number("git-timeout") * 1000));
  ropts.render.max_file_bytes = size_t(number("max-file-bytes"));
  ropts.render.max_documents = size_t(number("max-documents"));
  ropts.render.max_objects = size_t(number("max-objects"));
  if (const std::string addr = flags.Get("metrics-addr"); addr != "0") {
    if (Status s = metrics.Serve(addr); !s.ok()) {
      err << "plumbline run: " << s.error().message() << "\n";
      return 1;
    }
  }
  reconcile::Reconciler reconciler(**client, fetcher, events, logger, metrics, ropts);
  reconcile::ControllerOptions copts;
  copts.on_queue_depth = [&metrics](size_t depth) {
    metrics.SetWorkqueueDepth(static_cast<int>(depth));
  };
  copts.workers = int(number("workers"));
  copts.watch_namespace = flags.Get("watch-namespace");
  reconcile::Controller controller(**client, reconciler, logger, copts);

  // Block the stop signals in every thread; this one waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (Status s = controller.Start(); !s.ok()) {
    logger.Error("cannot start", {{"error", s.error().message()}});
    return 1;
  }
  logger.Info("controller started", {{"server", (*client)->config().server},
                                     {"workers", flags.Get("workers")},
                                     {"metrics", flags.Get("metrics-addr")}});
  int sig = 0;
  sigwait(&stop_signals, &sig);
  logger.Info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  controller.Stop();
  return 0;
}

}  // namespace plumbline::cli
