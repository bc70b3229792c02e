// Memory benchmark: the real `plumbline run` binary manages 0, 1,000, 5,000 and 10,000
// ConfigMaps (1,000 per Application); its resident set size is read from /proc after each step
// has synced. Run on demand with hack/bench/run.sh.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/control_plane.h"
#include "support/git_server.h"
#include "support/gitops_env.h"
#include "support/kube_test.h"
#include "support/process.h"

namespace plumbline {
namespace {

using testing::Eventually;

// VmRSS of `pid` in KiB.
long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class RssBench : public testing::KubeTest {};

TEST_F(RssBench, ResidentMemoryPerThousandManagedObjects) {
  char tmpl[] = "/tmp/plumbline-rss-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::filesystem::create_directories(dir + "/repos");
  testing::GitDaemon daemon(dir + "/repos");
  ASSERT_TRUE(daemon.Start().ok());
  testing::ApplyRepoFile(*client_, "crds/application.yaml");
  ASSERT_TRUE(Eventually([&] {
    return client_->Resource({"plumbline.dev", "v1alpha1", "Application"}).ok();
  }));

  constexpr int kPerApp = 1000;
  constexpr int kApps = 10;
  testing::GitRepo repo(dir + "/repos/objects");
  for (int a = 0; a < kApps; ++a) {
    for (int i = 0; i < kPerApp; ++i) {
      repo.Write("app" + std::to_string(a) + "/cm" + std::to_string(i) + ".yaml",
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a" + std::to_string(a) + "-" +
                     std::to_string(i) + ", labels: {tier: bench}}\ndata: {index: \"" +
                     std::to_string(i) + "\", owner: team-" + std::to_string(a) + "}\n");
    }
  }
  const std::string sha = repo.Commit("10,000 ConfigMaps");

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen((dir + "/controller.log").c_str(), "w", stderr);
    execl(PLUMBLINE_BINARY, "plumbline", "run", "--kubeconfig",
          testing::ControlPlane::Get()->kubeconfig().c_str(), "--metrics-addr", "0", "--cache-dir",
          (dir + "/cache").c_str(), "--kube-qps", "500", "--kube-burst", "1000", "--log-level",
          "warn", static_cast<char*>(nullptr));
    _exit(127);
  }
  auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  ASSERT_TRUE(apps.ok());
  auto ready = [&](const std::string& name) {
    auto app = client_->Get(*apps, namespace_, name);
    if (!app.ok()) return false;
    const Json status = app->value("status", Json::object());
    if (status.value("lastAppliedRevision", "") != sha) return false;
    for (const auto& c : status.value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
    }
    return false;
  };
  // Settled: the controller is up and idle.
  ASSERT_TRUE(Eventually([&] { return RssKib(pid) > 0; }));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a benchmark, not a test: let it idle
  const long base = RssKib(pid);
  std::printf("\n%-10s %-12s %-18s %-10s\n", "objects", "RSS (MiB)", "over idle (MiB)", "sync (s)");
  std::printf("%-10d %-12.1f %-18.1f %-10s\n", 0, base / 1024.0, 0.0, "-");
  int managed = 0;
  for (int step : {1, 4, 5}) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> names;
    for (int a = managed / kPerApp; a < managed / kPerApp + step; ++a) {
      std::string name = "app" + std::to_string(a);
      names.push_back(name);
      Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
                  {"kind", "Application"},
                  {"metadata", {{"name", name}, {"namespace", namespace_}}},
                  {"spec",
                   {{"source", {{"repoURL", daemon.Url("objects")}, {"path", name}}},
                    {"destination", {{"namespace", namespace_}}},
                    {"interval", "1m"}}}};
      ASSERT_TRUE(client_->Apply(app).ok());
    }
    for (const auto& name : names) {
      ASSERT_TRUE(Eventually([&] { return ready(name); }, std::chrono::minutes(10))) << name;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    managed += step * kPerApp;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    long rss = RssKib(pid);
    std::printf("%-10d %-12.1f %-18.1f %-10.1f\n", managed, rss / 1024.0, (rss - base) / 1024.0,
                seconds);
  }
  long rss = RssKib(pid);
  std::printf("per 1,000 managed objects: %.2f MiB\n", (rss - base) / 1024.0 / (managed / 1000.0));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  daemon.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace plumbline

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  plumbline::testing::AddControlPlaneEnvironment();
  return RUN_ALL_TESTS();
}
