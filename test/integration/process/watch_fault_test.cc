// The controller's connections to the API server cut while it runs (a TCP proxy in the test
// between it and the real API server, resetting every open connection, TLS and all, as a load
// balancer that drops its connections does). The watches come back by themselves: a live edit
// made after each cut is still seen and corrected, with the interval an hour away.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "integration/process/process_fixture.h"
#include "yaml/yaml_json.h"

namespace plumbline {
namespace {

using testing::Eventually;

class WatchFaultTest : public testing::ProcessTest {
 protected:
  void TearDown() override {
    controller_.reset();
    proxy_.Stop();
    ProcessTest::TearDown();
  }

  // A kubeconfig like the control plane's, with the server behind the proxy.
  std::string ProxiedKubeconfig() {
    const std::string original = testing::ReadFile(testing::ControlPlane::Get()->kubeconfig());
    auto doc = yaml::ParseDocument(original, "kubeconfig");
    EXPECT_TRUE(doc.ok());
    const std::string server = (*doc)["clusters"][0]["cluster"]["server"];
    const std::string api_port = server.substr(server.rfind(':') + 1);
    proxy_port_ = testing::FreePort();
    EXPECT_TRUE(proxy_
                    .Start({"python3",
                            std::string(PLUMBLINE_SOURCE_DIR) +
                                "/test/support/scripts/cutting_proxy.py",
                            std::to_string(proxy_port_), api_port, "0", "0", ProxyLog()},
                           dir_ + "/proxy.out")
                    .ok());
    EXPECT_TRUE(Eventually([&] { return testing::PortOpen(proxy_port_); }));
    (*doc)["clusters"][0]["cluster"]["server"] =
        "https://127.0.0.1:" + std::to_string(proxy_port_);
    const std::string path = dir_ + "/proxied-kubeconfig";
    testing::WriteFile(path, yaml::ToYaml(*doc));
    return path;
  }

  std::string ProxyLog() const { return dir_ + "/proxy.log"; }

  // Connections the proxy reset at the last SIGUSR1 ("reset N"), or -1 before any.
  int LastReset() {
    std::ifstream in(ProxyLog());
    int last = -1;
    for (std::string what, n; in >> what >> n;) {
      if (what == "reset") last = std::atoi(n.c_str());
    }
    return last;
  }

  void Edit(const std::string& v) {
    Json cm = ConfigMap("settings", {{"v", v}});
    kube::ApplyOptions as_someone;
    as_someone.field_manager = "kubectl-edit";
    as_someone.force = true;
    ASSERT_TRUE(client_->Apply(cm, as_someone).ok());
  }

  std::unique_ptr<testing::ControllerProcess> controller_;
  testing::BackgroundProcess proxy_;
  int proxy_port_ = 0;
};

// DISABLED: fails about one run in four today, a defect this test found (issue 11). After a cut
// the next edit is usually corrected within 0.2-1.8 s, sometimes only after 30 s (the watch
// backoff's ceiling), and sometimes not within the test's 90 s: then, after the second cut, the
// ConfigMap watch logs no error and delivers nothing. A 10 s deadline on the watch's response
// headers did not remove the failure (1 of 6 runs), so the stall is elsewhere (a stream read
// that never learns of the reset, or the backoff). Enable once the watch recovers every time.
TEST_F(WatchFaultTest, DISABLED_EditsAfterTheConnectionsAreCutAreStillCorrected) {
  const std::string url = daemon_->Url(namespace_ + "-web");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string sha = CommitConfig(repo, "1");
  controller_ = std::make_unique<testing::ControllerProcess>(
      dir_ + "/controller.log",
      std::vector<std::string>{"--kubeconfig", ProxiedKubeconfig(), "--controller-namespace",
                               namespace_, "--watch-namespace", namespace_, "--metrics-addr",
                               "0", "--health-addr", "0", "--cache-dir", dir_ + "/cache",
                               "--log-level", "debug"});
  ASSERT_TRUE(controller_->Start());
  ApplyApp(url, "1h");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(sha); })) << controller_->Log();
  // The watch is up once an edit is corrected.
  Edit("before");
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "1"; })) << controller_->Log();

  for (int cut = 1; cut <= 2; ++cut) {
    ASSERT_EQ(kill(proxy_.pid(), SIGUSR1), 0);
    ASSERT_TRUE(Eventually([&] { return LastReset() >= 0; }));
    EXPECT_GE(LastReset(), 1) << "no connection was open to cut";
    const auto edited = std::chrono::steady_clock::now();
    Edit("after-cut-" + std::to_string(cut));
    ASSERT_TRUE(Eventually([&] { return LiveValue() == "1"; }, std::chrono::seconds(90)))
        << LiveValue() << "\n" << controller_->Log();
    std::printf("connections cut (%d reset): the next edit corrected in %.1f s\n", LastReset(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - edited).count());
    // Truncate the log so the next cut's count is its own.
    testing::WriteFile(ProxyLog(), "");
  }
}

}  // namespace
}  // namespace plumbline
