// The test bed for end-to-end GitOps tests: the Application CRD installed on the binary's real
// control plane, a real git daemon, and the controller running in-process against both.
// Register after the ControlPlane environment (environments start in order).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "events/recorder.h"
#include "kube/client.h"
#include "log/logger.h"
#include "metrics/metrics.h"
#include "reconcile/controller.h"
#include "reconcile/reconciler.h"
#include "source/git_source.h"
#include "source/shared_fetcher.h"
#include "support/git_server.h"
#include "support/kube_test.h"

namespace plumbline::testing {

inline constexpr char kControllerNamespace[] = "plumbline-system";

// Counts the controller's API requests by verb.
class RequestCounts {
 public:
  // The client reports a request once it has its answer, `latency` after it was sent.
  void Add(const std::string& verb, std::chrono::duration<double> latency) {
    const auto sent = std::chrono::steady_clock::now() -
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(latency);
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[verb];
    sent_.emplace_back(sent, verb);
  }
  std::map<std::string, int> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
  }
  // Requests sent at or after `since`, by verb. Unlike a difference of two Snapshots, a request
  // sent before `since` but reported after it (its thread was slow to run the hook) is not in it.
  std::map<std::string, int> SentSince(std::chrono::steady_clock::time_point since) {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, int> out;
    for (const auto& [sent, verb] : sent_) {
      if (sent >= since) ++out[verb];
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> sent_;
};

struct GitOpsOptions {
  // How often the controller looks again while a rollout is in progress. Tests that must show
  // that only watches woke the controller set it far beyond their run time.
  std::chrono::milliseconds health_recheck{std::chrono::seconds(1)};
  // When set, the controller makes every request as this user (Impersonate-User), e.g. its
  // ServiceAccount under deploy/'s RBAC; `install` runs first, with the admin client.
  std::string controller_user;
  std::function<void(kube::Client& admin)> install;
};

class GitOpsEnvironment : public ::testing::Environment {
 public:
  explicit GitOpsEnvironment(GitOpsOptions options) : options_(std::move(options)) {}
  void SetUp() override;
  void TearDown() override;
  static GitOpsEnvironment* Get();

  GitDaemon& daemon() { return *daemon_; }
  const std::string& repos_dir() const { return repos_dir_; }
  source::SharedFetcher& fetcher() { return *fetcher_; }
  RequestCounts& request_counts() { return counts_; }
  metrics::Metrics& metrics() { return *metrics_; }
  reconcile::Reconciler& reconciler() { return *reconciler_; }
  // Another reconciler as a restarted controller has one: nothing learnt yet, no watches; the
  // same (counted) client, fetcher and Event recorder.
  std::unique_ptr<reconcile::Reconciler> NewReconciler();
  kube::Client& client() { return *client_; }
  // What the in-process controller logged during the current test so far.
  static std::string ControllerLog();

 private:
  const GitOpsOptions options_;
  std::string dir_;
  std::string repos_dir_;
  RequestCounts counts_;
  std::unique_ptr<metrics::Metrics> metrics_;  // outlives the client that reports into it
  std::unique_ptr<GitDaemon> daemon_;
  std::unique_ptr<kube::Client> client_;
  std::unique_ptr<kube::Client> admin_;  // only with controller_user: the installer's client
  std::unique_ptr<log::Logger> logger_;
  std::unique_ptr<source::GitSource> git_;
  std::unique_ptr<source::SharedFetcher> fetcher_;
  std::unique_ptr<events::Recorder> events_;
  std::unique_ptr<reconcile::Reconciler> reconciler_;
  std::unique_ptr<reconcile::Controller> controller_;
};

GitOpsEnvironment* AddGitOpsEnvironment(GitOpsOptions options);
GitOpsEnvironment* AddGitOpsEnvironment(
    std::chrono::milliseconds health_recheck = std::chrono::seconds(1));

// Applies the ServiceAccount and RBAC objects of deploy/ (the files its kustomization lists),
// in the kustomization's namespace: exactly the rights an installed controller has.
void ApplyDeployRbac(kube::Client& admin);
// The user name of deploy/'s ServiceAccount.
inline constexpr char kControllerUser[] = "system:serviceaccount:plumbline-system:plumbline";

// Installs the Application CRD once for a test binary that runs no in-process controller.
// Register after the ControlPlane environment.
void AddApplicationCrdEnvironment();

// Applies every document of a YAML file in the repository (e.g. crds/application.yaml).
void ApplyRepoFile(kube::Client& client, const std::string& relative_path);

// A test with its own namespace and its own git repositories.
class GitOpsTest : public KubeTest {
 protected:
  // Deletes this test's Applications so they stop reconciling, then the namespace.
  void TearDown() override;
  // A new repository served by the git daemon; returns it with its URL in `url`.
  GitRepo NewRepo(const std::string& name, std::string* url);
  // Creates or updates a Secret in this test's namespace (values are plain text).
  void ApplySecret(const std::string& name, const std::map<std::string, std::string>& data);
  // Creates or updates an Application in this test's namespace.
  void ApplyApp(const std::string& name, const Json& spec);
  Json GetApp(const std::string& name);
  // Asks for a reconcile now, as `plumbline sync` does: the requested-at annotation set to `token`.
  void RequestSync(const std::string& name, const std::string& token);
  // Waits (bounded) until `pred` holds for the Application; fails the test otherwise.
  bool WaitApp(const std::string& name, const std::function<bool(const Json&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The Application's status, {} when it has none yet.
  static Json StatusOf(const Json& app) {
    return app.is_object() && app.contains("status") ? app["status"] : Json::object();
  }
  // A condition's status/reason/message, "" when absent.
  static std::string Cond(const Json& app, const std::string& type, const char* field = "status");
  // Reads a live object; null when it does not exist.
  Json Live(const std::string& api_version, const std::string& kind, const std::string& ns,
            const std::string& name);
  // Ready=True at `sha`.
  bool ReadyAt(const std::string& name, const std::string& sha);
  // Waits (bounded) until the controller's watches have delivered these objects of this test's
  // namespace (apiVersion, kind, name): our own creates reach the cache a moment after the apply.
  bool WaitCached(const std::string& api_version, const std::string& kind,
                  const std::vector<std::string>& names);
};

}  // namespace plumbline::testing
