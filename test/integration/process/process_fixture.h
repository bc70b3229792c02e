// The fixture for tests of the real `plumbline run` binary as a process: a git daemon, replicas
// started with leader election on short timings, and the API server's audit log of their writes.
#pragma once

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/rfc3339.h"
#include "integration/process/audit_log.h"
#include "support/control_plane.h"
#include "support/controller_process.h"
#include "support/git_server.h"
#include "support/kube_test.h"
#include "support/process.h"

namespace plumbline::testing {

// A write the API server accepted, from the audit log.
struct AuditedWrite {
  std::string replica;  // the identity in the User-Agent
  std::string verb;
  std::string object;     // resource/namespace/name
  std::string received;   // requestReceivedTimestamp (RFC 3339, microseconds: sorts as text)
  std::string completed;  // stageTimestamp
};

class ProcessTest : public KubeTest {
 protected:
  void SetUp() override {
    KubeTest::SetUp();
    char tmpl[] = "/tmp/plumbline-process-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/repos");
    daemon_ = std::make_unique<testing::GitDaemon>(dir_ + "/repos");
    ASSERT_TRUE(daemon_->Start().ok());
    leases_ = *client_->Resource({"coordination.k8s.io", "v1", "Lease"});
    apps_ = *client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  }
  void TearDown() override {
    replicas_.clear();  // SIGKILL whatever still runs
    if (daemon_) daemon_->Stop();
    std::filesystem::remove_all(dir_);
    KubeTest::TearDown();
  }

  // Starts replica `id` (the "replica-" prefix makes its User-Agent easy to find), with leader
  // election on the product's default timings, plus `extra` flags. Shorter test timings lost the
  // lease to a slow renewal on a loaded CI machine (sanitizers, two tests at once), which is
  // right for the product and wrong for a test that needs one leader until it kills it.
  // `kubeconfig` replaces the control plane's (one that goes through a proxy).
  ControllerProcess& StartReplica(const std::string& id, std::vector<std::string> extra = {},
                                  std::string kubeconfig = "") {
    if (kubeconfig.empty()) kubeconfig = testing::ControlPlane::Get()->kubeconfig();
    std::vector<std::string> args{
        "--kubeconfig",
        kubeconfig,
        "--leader-elect",
        "--leader-election-identity",
        id,
        "--leader-election-namespace",
        namespace_,
        "--controller-namespace",
        namespace_,
        "--watch-namespace",
        namespace_,
        "--leader-lease-duration",
        "15s",
        "--leader-renew-deadline",
        "10s",
        "--leader-retry-period",
        "2s",
        "--metrics-addr",
        "127.0.0.1:" + std::to_string(metrics_port_[id] = testing::FreePort()),
        "--health-addr",
        "127.0.0.1:" + std::to_string(health_port_[id] = testing::FreePort()),
        "--cache-dir",
        dir_ + "/cache-" + id};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<ControllerProcess>(dir_ + "/" + id + ".log", args);
    EXPECT_TRUE(p->Start());
    replicas_[id] = std::move(p);
    return *replicas_[id];
  }

  std::string Holder() {
    auto lease = client_->Get(leases_, namespace_, "plumbline-leader");
    if (!lease.ok()) return "";
    return (*lease)["spec"].value("holderIdentity", "");
  }

  int Status(const std::string& url) {
    std::string code = testing::MustRun(
        {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url});
    return std::atoi(code.c_str());
  }

  // A repository with one ConfigMap whose data.v is `v`; returns the commit.
  std::string CommitConfig(testing::GitRepo& repo, const std::string& v) {
    WriteConfig(repo, v);
    return repo.Commit("v" + v);
  }
  // The same ConfigMap, written to the checkout and not committed.
  void WriteConfig(testing::GitRepo& repo, const std::string& v) {
    repo.Write("app/cm.yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
               "data: {v: \"" +
                   v + "\"}\n");
  }

  void ApplyApp(const std::string& url, const std::string& interval) {
    Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata", {{"name", "web"}, {"namespace", namespace_}}},
                {"spec",
                 {{"source", {{"repoURL", url}, {"path", "app"}}},
                  {"destination", {{"namespace", namespace_}}},
                  {"interval", interval}}}};
    ASSERT_TRUE(client_->Apply(app).ok());
  }

  // "Reason: message" of Application `name`'s Ready condition, "" before it has one.
  std::string Ready(const std::string& name = "web") {
    auto app = client_->Get(apps_, namespace_, name);
    if (!app.ok() || !app->contains("status")) return "";
    for (const auto& c : (*app)["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready")
        return c.value("reason", "") + ": " + c.value("message", "");
    }
    return "";
  }
  bool AppliedAt(const std::string& sha) {
    auto app = client_->Get(apps_, namespace_, "web");
    return app.ok() && app->contains("status") &&
           (*app)["status"].value("lastAppliedRevision", "") == sha;
  }

  std::string LiveValue() {
    auto cm = client_->Get(ConfigMaps(), namespace_, "settings");
    return cm.ok() ? (*cm)["data"].value("v", "") : "";
  }

  // Writes by the replicas of this test that the API server accepted, in the order received.
  std::vector<AuditedWrite> Writes() {
    std::vector<AuditedWrite> out;
    std::ifstream in(testing::AuditLogPath());
    std::string line;
    while (std::getline(in, line)) {
      Json e = Json::parse(line, nullptr, false);
      if (!e.is_object() || e.value("stage", "") != "ResponseComplete") continue;
      const std::string agent = e.value("userAgent", "");
      std::string replica;
      for (const auto& [id, _] : replicas_) {
        if (agent.find("(" + id + ")") != std::string::npos) replica = id;
      }
      if (replica.empty()) continue;
      int code = e.contains("responseStatus") ? e["responseStatus"].value("code", 0) : 0;
      if (code < 200 || code >= 300) continue;
      const Json ref = e.value("objectRef", Json::object());
      if (ref.value("namespace", "") != namespace_ && ref.value("namespace", "") != "") continue;
      out.push_back({replica, e.value("verb", ""),
                     ref.value("resource", "") + "/" + ref.value("namespace", "") + "/" +
                         ref.value("name", ""),
                     e.value("requestReceivedTimestamp", ""), e.value("stageTimestamp", "")});
    }
    std::sort(out.begin(), out.end(),
              [](const AuditedWrite& a, const AuditedWrite& b) { return a.received < b.received; });
    return out;
  }

  // Fails unless every write of `first` precedes (and completed before) every write of `second`.
  void ExpectOneWriterAtATime(const std::string& first, const std::string& second) {
    auto writes = Writes();
    std::string last_of_first, first_of_second;
    std::ostringstream trace;
    for (const auto& w : writes) {
      trace << w.received << " " << w.replica << " " << w.verb << " " << w.object << "\n";
      if (w.replica == first) last_of_first = std::max(last_of_first, w.completed);
      if (w.replica == second && first_of_second.empty()) first_of_second = w.received;
    }
    ASSERT_FALSE(last_of_first.empty()) << "no write from " << first << "\n" << trace.str();
    ASSERT_FALSE(first_of_second.empty()) << "no write from " << second << "\n" << trace.str();
    bool seen_second = false;
    for (const auto& w : writes) {
      seen_second |= w.replica == second;
      EXPECT_FALSE(seen_second && w.replica == first)
          << first << " wrote after " << second << " had started\n"
          << trace.str();
    }
    // Compare instants, not text: both are UTC with microseconds, but be exact anyway.
    auto done = ParseRfc3339(last_of_first);
    auto began = ParseRfc3339(first_of_second);
    ASSERT_TRUE(done.ok() && began.ok());
    EXPECT_LT(*done, *began) << trace.str();
  }

  std::string dir_;
  std::unique_ptr<testing::GitDaemon> daemon_;
  kube::ResourceInfo leases_, apps_;
  std::map<std::string, std::unique_ptr<ControllerProcess>> replicas_;
  std::map<std::string, int> metrics_port_, health_port_;
};

}  // namespace plumbline::testing
