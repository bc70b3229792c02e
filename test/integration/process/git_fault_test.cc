// Git servers that fail mid-way, against the real binary: one that accepts and then never
// answers costs its own Application a FetchFailed after --git-timeout, and nobody else anything;
// a transfer cut in the middle of the pack (a server killed mid-fetch) is retried and leaves the
// cache whole.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

// Accepts connections and never writes a byte (a hung server, or a black-holing middlebox that
// completed the handshake). Closes them all when destroyed.
class StallingServer {
 public:
  StallingServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        int c = accept(fd_, nullptr, nullptr);
        if (c >= 0) held_.push_back(c), ++accepted_;
      }
    });
  }
  ~StallingServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (int c : held_) close(c);
    close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;
  std::thread thread_;
};

class GitFaultTest : public testing::ProcessTest {
 protected:
  void ApplyNamedApp(const std::string& name, const std::string& url) {
    Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata", {{"name", name}, {"namespace", namespace_}}},
                {"spec",
                 {{"source", {{"repoURL", url}, {"path", "app"}}},
                  {"destination", {{"namespace", namespace_}}},
                  {"interval", "1s"}}}};
    ASSERT_TRUE(client_->Apply(app).ok());
  }
};

TEST_F(GitFaultTest, AServerThatNeverAnswersCostsOnlyItsOwnApplication) {
  StallingServer stalling;
  const std::string url = daemon_->Url(namespace_ + "-web");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string first = CommitConfig(repo, "1");
  ApplyNamedApp("stuck", "git://127.0.0.1:" + std::to_string(stalling.port()) + "/stuck");
  ApplyApp(url, "1s");
  StartReplica("replica-git", {"--git-timeout", "3"});

  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); })) << replicas_["replica-git"]->Log();
  ASSERT_TRUE(Eventually([&] { return Ready("stuck").rfind("FetchFailed", 0) == 0; }))
      << Ready("stuck");
  EXPECT_NE(Ready("stuck").find("timed out"), std::string::npos) << Ready("stuck");
  EXPECT_GE(stalling.accepted(), 1);

  // While the stalled server keeps being retried, the other Application's commits still land.
  const std::string second = CommitConfig(repo, "2");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(second); }));
  EXPECT_EQ(LiveValue(), "2");
  std::printf(
      "stalled server: FetchFailed after its timeout; the other app converged twice in "
      "%.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// 2 MiB that do not compress, outside the app's path: the pack is mostly this.
void WriteNoise(testing::GitRepo& repo, const std::string& path, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(2 << 20, '\0');
  for (auto& b : bytes) b = static_cast<char>(random());
  repo.Write(path, bytes);
}

TEST_F(GitFaultTest, AFetchCutMidPackIsRetriedAndLeavesTheCacheWhole) {
  const std::string name = namespace_ + "-web";
  testing::GitRepo repo(dir_ + "/repos/" + name);
  WriteNoise(repo, "blobs/one.bin", 1);
  const std::string first = CommitConfig(repo, "1");
  const std::string daemon_url = daemon_->Url(name);
  const std::string daemon_port =
      daemon_url.substr(16, daemon_url.find('/', 16) - 16);  // git://127.0.0.1:PORT/...
  const int port = testing::FreePort();
  const std::string log = dir_ + "/proxy.log";
  // Cuts the first `cut` connections after 256 KiB of the server's answer.
  auto start_proxy = [&](testing::BackgroundProcess& proxy, int cut) {
    ASSERT_TRUE(
        proxy
            .Start({"python3",
                    std::string(PLUMBLINE_SOURCE_DIR) + "/test/support/scripts/cutting_proxy.py",
                    std::to_string(port), daemon_port, std::to_string(256 << 10),
                    std::to_string(cut), log},
                   dir_ + "/proxy.out")
            .ok());
    ASSERT_TRUE(Eventually([&] { return testing::PortOpen(port); }));
  };
  auto cuts = [&] {
    std::ifstream in(log);
    int n = 0;
    for (std::string what, bytes; in >> what >> bytes;) n += what == "cut";
    return n;
  };

  // The first two clones die mid-pack; the third is whole.
  testing::BackgroundProcess proxy;
  start_proxy(proxy, 2);
  ApplyApp("git://127.0.0.1:" + std::to_string(port) + "/" + name, "1s");
  StartReplica("replica-cut");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); }, std::chrono::seconds(60)))
      << Ready("web") << "\n"
      << replicas_["replica-cut"]->Log();
  EXPECT_EQ(cuts(), 2);

  // A fetch into the cache that now holds the first commit dies mid-pack too, then succeeds.
  proxy.Stop();
  testing::BackgroundProcess again;
  start_proxy(again, 1);
  WriteNoise(repo, "blobs/two.bin", 2);
  const std::string second = CommitConfig(repo, "2");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(second); }, std::chrono::seconds(60)))
      << Ready("web") << "\n"
      << replicas_["replica-cut"]->Log();
  EXPECT_EQ(cuts(), 3);
  EXPECT_EQ(LiveValue(), "2");
}

}  // namespace
}  // namespace plumbline
