// The write fence (ClientOptions::may_write) against an API server that throttles: it is asked
// before every send, retries after 429 included, so a replica that lost its lease while it
// waited out Retry-After does not write. The throttling comes from a proxy in front of the real
// API server (test/support/scripts/throttling_proxy.py), which logs what reached it.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kube/errors.h"
#include "support/control_plane.h"
#include "support/kube_test.h"
#include "support/process.h"
#include "yaml/yaml_json.h"

namespace plumbline {
namespace {

using testing::ControlPlane;
using testing::Eventually;
using testing::KubeTest;
using testing::ReadFile;

namespace fs = std::filesystem;

class FenceTest : public KubeTest {
 protected:
  void SetUp() override {
    KubeTest::SetUp();
    if (ControlPlane::Get()->dir().empty()) GTEST_SKIP() << "needs the control plane's pki";
    dir_ = fs::temp_directory_path() / ("plumbline-fence-" + namespace_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    proxy_.Stop();
    fs::remove_all(dir_);
    KubeTest::TearDown();
  }

  // Starts the proxy, answering 429 (Retry-After: 1) to the first `throttled` writes, and
  // returns a client that talks to it with the admin token and `may_write` as its fence.
  std::unique_ptr<kube::Client> ThrottledClient(int throttled, std::function<Status()> may_write) {
    auto doc = yaml::ParseDocument(ReadFile(ControlPlane::Get()->kubeconfig()), "kubeconfig");
    EXPECT_TRUE(doc.ok());
    const std::string upstream = (*doc)["clusters"][0]["cluster"]["server"];
    const std::string pki = ControlPlane::Get()->dir() + "/pki";
    const int port = testing::FreePort();
    Status started = proxy_.Start(
        {"python3", std::string(PLUMBLINE_SOURCE_DIR) + "/test/support/scripts/throttling_proxy.py",
         std::to_string(port), upstream, pki + "/ca.crt", std::to_string(throttled), "1",
         log_path()},
        dir_ + "/proxy.out");
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message());
    EXPECT_TRUE(Eventually([&] { return testing::PortOpen(port); }));
    kube::Config config;
    config.server = "http://127.0.0.1:" + std::to_string(port);
    std::string token = ReadFile(pki + "/admin.token");
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.pop_back();
    }
    config.token = token;
    kube::ClientOptions options;
    options.may_write = std::move(may_write);
    auto client = kube::Client::Create(config, options);
    EXPECT_TRUE(client.ok()) << client.error().message();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // "METHOD STATUS" of every write that reached the proxy, in order.
  std::vector<std::string> Writes() {
    std::vector<std::string> out;
    std::ifstream in(log_path());
    for (std::string method, path, status; in >> method >> path >> status;) {
      if (method != "GET") out.push_back(method + " " + status);
    }
    return out;
  }

  std::string log_path() const { return dir_ + "/proxy.log"; }

  std::string dir_;
  testing::BackgroundProcess proxy_;
};

TEST_F(FenceTest, AFenceClosedDuringRetryAfterStopsTheRetry) {
  std::atomic<int> asked{0};
  // Open for the first send; closed from then on, as when the lease is lost during the wait.
  auto client = ThrottledClient(1, [&]() -> Status {
    if (asked++ == 0) return Status::Ok();
    return Error(ErrorCode::kUnavailable, "not the leader");
  });
  ASSERT_NE(client, nullptr);
  auto applied = client->Apply(ConfigMap("fenced", {{"k", "v"}}), {});
  ASSERT_FALSE(applied.ok()) << "written after the fence closed";
  EXPECT_NE(applied.error().message().find("not the leader"), std::string::npos)
      << applied.error().message();
  EXPECT_EQ(asked.load(), 2);
  EXPECT_EQ(Writes(), std::vector<std::string>{"PATCH 429"});
  auto live = client_->Get(ConfigMaps(), namespace_, "fenced");
  ASSERT_FALSE(live.ok());
  EXPECT_TRUE(kube::IsNotFound(live.error())) << live.error().message();
}

TEST_F(FenceTest, AnOpenFenceIsAskedBeforeEverySendAndTheWriteLands) {
  std::atomic<int> asked{0};
  auto client = ThrottledClient(2, [&]() -> Status {
    ++asked;
    return Status::Ok();
  });
  ASSERT_NE(client, nullptr);
  auto applied = client->Apply(ConfigMap("landed", {{"k", "v"}}), {});
  ASSERT_TRUE(applied.ok()) << applied.error().message();
  EXPECT_EQ(asked.load(), 3);
  EXPECT_EQ(Writes(), (std::vector<std::string>{"PATCH 429", "PATCH 429", "PATCH 201"}));
  // Dry runs and reads never ask.
  kube::ApplyOptions dry;
  dry.dry_run = true;
  ASSERT_TRUE(client->Apply(ConfigMap("landed", {{"k", "w"}}), dry).ok());
  ASSERT_TRUE(client->Get(ConfigMaps(), namespace_, "landed").ok());
  EXPECT_EQ(asked.load(), 3);
}

}  // namespace
}  // namespace plumbline
