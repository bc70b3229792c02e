// The controller's connections to the API server cut while it runs (a TCP proxy in the test
// between it and the real API server, resetting every open connection, TLS and all, as a load
// balancer that drops its connections does). The watches come back by themselves: a live edit
// made after each cut is still seen and corrected, with the interval an hour away.
#include "integration/process/fault_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

class WatchFaultTest : public testing::FaultTest {
 protected:
  void TearDown() override {
    controller_.reset();  // before the proxy it talks through
    FaultTest::TearDown();
  }

  void Edit(const std::string& v) {
    Json cm = ConfigMap("settings", {{"v", v}});
    kube::ApplyOptions as_someone;
    as_someone.field_manager = "kubectl-edit";
    as_someone.force = true;
    ASSERT_TRUE(client_->Apply(cm, as_someone).ok());
  }

  std::unique_ptr<testing::ControllerProcess> controller_;
};

TEST_F(WatchFaultTest, EditsAfterTheConnectionsAreCutAreStillCorrected) {
  const std::string url = daemon_->Url(namespace_ + "-web");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string sha = CommitConfig(repo, "1");
  controller_ = std::make_unique<testing::ControllerProcess>(
      dir_ + "/controller.log",
      std::vector<std::string>{"--kubeconfig", ProxiedKubeconfig(), "--controller-namespace",
                               namespace_, "--watch-namespace", namespace_, "--metrics-addr", "0",
                               "--health-addr", "0", "--cache-dir", dir_ + "/cache", "--log-level",
                               "debug"});
  ASSERT_TRUE(controller_->Start());
  ApplyApp(url, "1h");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(sha); })) << controller_->Log();
  // The watch is up once an edit is corrected.
  Edit("before");
  ASSERT_TRUE(Eventually([&] { return LiveValue() == "1"; })) << controller_->Log();

  for (int cut = 1; cut <= 2; ++cut) {
    ASSERT_EQ(kill(proxy_.pid(), SIGUSR1), 0);
    ASSERT_TRUE(Eventually([&] { return LastProxyCount("reset") >= 0; }));
    EXPECT_GE(LastProxyCount("reset"), 1) << "no connection was open to cut";
    const auto edited = std::chrono::steady_clock::now();
    Edit("after-cut-" + std::to_string(cut));
    ASSERT_TRUE(Eventually([&] { return LiveValue() == "1"; }, std::chrono::seconds(90)))
        << LiveValue() << "\n"
        << controller_->Log();
    std::printf("connections cut (%d reset): the next edit corrected in %.1f s\n",
                LastProxyCount("reset"),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - edited).count());
    // Truncate the log so the next cut's count is its own.
    testing::WriteFile(ProxyLog(), "");
  }
}

}  // namespace
}  // namespace plumbline
