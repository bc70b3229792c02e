// The fault matrix's fixture: an Application of many ConfigMaps (so a fault can land in the
// middle of its apply or prune), the exact final state to assert, and a TCP proxy between a
// replica and the API server that cuts or partitions its connections on a signal.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "integration/process/process_fixture.h"
#include "yaml/yaml_json.h"

namespace plumbline::testing {

class FaultTest : public ProcessTest {
 protected:
  void TearDown() override {
    replicas_.clear();  // before the proxy they talk through
    proxy_.Stop();
    ProcessTest::TearDown();
  }

  // Writes `n` ConfigMaps cm0..cm{n-1} under app/ and commits them.
  std::string CommitConfigMaps(GitRepo& repo, int n, const std::string& message) {
    for (int i = 0; i < n; ++i) {
      repo.Write("app/cm" + std::to_string(i) + ".yaml",
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm" + std::to_string(i) +
                     "}\ndata: {i: \"" + std::to_string(i) + "\"}\n");
    }
    return repo.Commit(message);
  }

  // Application "web" over app/, pruning, polling every `interval`.
  void ApplyPruningApp(const std::string& url, const std::string& interval) {
    Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata", {{"name", "web"}, {"namespace", namespace_}}},
                {"spec",
                 {{"source", {{"repoURL", url}, {"path", "app"}}},
                  {"destination", {{"namespace", namespace_}}},
                  {"interval", interval},
                  {"prune", true}}}};
    auto applied = client_->Apply(app);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }

  // Names of the live ConfigMaps the Application manages; empty when the API cannot answer.
  std::set<std::string> Managed() {
    kube::ListOptions selected;
    selected.label_selector = "plumbline.dev/name=web";
    auto list = client_->List(ConfigMaps(), namespace_, selected);
    std::set<std::string> names;
    if (list.ok()) {
      for (const auto& item : list->items) names.insert(item["metadata"].value("name", ""));
    }
    return names;
  }

  // Names in the Application's status.inventory.
  std::set<std::string> Inventory() {
    std::set<std::string> names;
    auto app = client_->Get(apps_, namespace_, "web");
    if (!app.ok()) return names;
    for (const auto& entry :
         app->value("status", Json::object()).value("inventory", Json::array())) {
      if (entry.is_object()) names.insert(entry.value("name", ""));
    }
    return names;
  }

  static std::set<std::string> ConfigMapNames(int from, int to) {
    std::set<std::string> names;
    for (int i = from; i < to; ++i) names.insert("cm" + std::to_string(i));
    return names;
  }

  // Applied at `sha` with exactly `expected` live and in the inventory.
  bool ConvergedTo(const std::string& sha, const std::set<std::string>& expected) {
    return AppliedAt(sha) && Managed() == expected && Inventory() == expected;
  }

  // Lease timings roomy enough that hundreds of applies on a loaded machine keep the lease.
  ControllerProcess& StartRoomyReplica(const std::string& id, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--leader-lease-duration", "40s",
                                  "--leader-renew-deadline", "30s",
                                  "--leader-retry-period",   "2s"};
    args.insert(args.end(), extra.begin(), extra.end());
    return StartReplica(id, args);
  }

  static double SecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // Starts test/support/scripts/cutting_proxy.py in front of the API server (cutting nothing
  // by itself) and returns a kubeconfig like the control plane's that goes through it.
  // SIGUSR1 to proxy_.pid() resets every open connection; SIGUSR2 turns a partition on or off.
  std::string ProxiedKubeconfig() {
    const std::string original = ReadFile(ControlPlane::Get()->kubeconfig());
    auto doc = yaml::ParseDocument(original, "kubeconfig");
    EXPECT_TRUE(doc.ok());
    const std::string server = (*doc)["clusters"][0]["cluster"]["server"];
    const std::string api_port = server.substr(server.rfind(':') + 1);
    const int port = FreePort();
    EXPECT_TRUE(
        proxy_
            .Start({"python3",
                    std::string(PLUMBLINE_SOURCE_DIR) + "/test/support/scripts/cutting_proxy.py",
                    std::to_string(port), api_port, "0", "0", ProxyLog()},
                   dir_ + "/proxy.out")
            .ok());
    EXPECT_TRUE(Eventually([&] { return PortOpen(port); }));
    (*doc)["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:" + std::to_string(port);
    const std::string path = dir_ + "/proxied-kubeconfig";
    WriteFile(path, yaml::ToYaml(*doc));
    return path;
  }

  std::string ProxyLog() const { return dir_ + "/proxy.log"; }

  // The count of the proxy's last log line starting with `what` ("reset N", "partition N"), or
  // -1 before there is one.
  int LastProxyCount(const std::string& what) {
    std::ifstream in(ProxyLog());
    int last = -1;
    for (std::string word, n; in >> word >> n;) {
      if (word == what) last = std::atoi(n.c_str());
    }
    return last;
  }

  BackgroundProcess proxy_;
};

}  // namespace plumbline::testing
