// Git servers that fail mid-way, against the real binary: one that accepts and then never
// answers costs its own Application a FetchFailed after --git-timeout, and nobody else anything.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
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
                {"spec", {{"source", {{"repoURL", url}, {"path", "app"}}},
                          {"destination", {{"namespace", namespace_}}},
                          {"interval", "1s"}}}};
    ASSERT_TRUE(client_->Apply(app).ok());
  }

  std::string Ready(const std::string& name) {
    auto app = client_->Get(apps_, namespace_, name);
    if (!app.ok() || !app->contains("status")) return "";
    for (const auto& c : (*app)["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") return c.value("reason", "") + ": " + c.value("message", "");
    }
    return "";
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
  std::printf("stalled server: FetchFailed after its timeout; the other app converged twice in "
              "%.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace
}  // namespace plumbline
