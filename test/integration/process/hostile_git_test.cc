// Hostile git content and servers against the real binary: a server that resets connections is
// a fetch failure, not a dead process (SIGPIPE), and large files in a commit cost no memory:
// files that are not manifests are never read, and a manifest over --max-file-bytes is refused
// from its size before it is read.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/base64.h"
#include "common/subprocess.h"
#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::ControllerProcess;
using testing::Eventually;
using testing::MustRun;

// A TLS server that completes each handshake and then resets the connection (SO_LINGER 0), as a
// crashing server or a middlebox does: the client's next write meets a closed socket. Serves on
// its own thread until destroyed.
class ResettingTlsServer {
 public:
  ResettingTlsServer(const std::string& cert_file, const std::string& key_file) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    EXPECT_EQ(SSL_CTX_use_certificate_file(ctx_, cert_file.c_str(), SSL_FILETYPE_PEM), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM), 1);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ResettingTlsServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(fd_);
    SSL_CTX_free(ctx_);
  }

  int port() const { return port_; }
  int handshakes() const { return handshakes_; }

 private:
  void Serve() {
    // A client that leaves mid-handshake must not take the test process down with SIGPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{5, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) ++handshakes_;
      linger reset{1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      SSL_free(ssl);
      close(c);
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

class HostileGitTest : public testing::ProcessTest {
 protected:
  void TearDown() override {
    // The Applications go while the controller runs, so that their finalizers are done.
    if (auto list = client_->List(apps_, namespace_); list.ok()) {
      for (const auto& app : list->items) {
        (void)client_->Delete(apps_, namespace_, app["metadata"]["name"]);
      }
    }
    if (controller_ && !controller_->Wait(std::chrono::milliseconds(0))) {
      EXPECT_TRUE(Eventually([&] {
        auto left = client_->List(apps_, namespace_);
        return left.ok() && left->items.empty();
      })) << controller_->Log();
    }
    controller_.reset();
    ProcessTest::TearDown();
  }

  // `plumbline run` for this test's namespace, without metrics (as the defect was reported).
  void StartController() {
    std::vector<std::string> args{"--kubeconfig",
                                  testing::ControlPlane::Get()->kubeconfig(),
                                  "--controller-namespace",
                                  namespace_,
                                  "--watch-namespace",
                                  namespace_,
                                  "--metrics-addr",
                                  "0",
                                  "--health-addr",
                                  "0",
                                  "--cache-dir",
                                  dir_ + "/cache"};
    controller_ = std::make_unique<ControllerProcess>(dir_ + "/controller.log", args);
    ASSERT_TRUE(controller_->Start());
  }

  void ApplyAppAt(const std::string& name, const std::string& url, const std::string& path,
                  const std::string& secret = "") {
    Json source = {{"repoURL", url}, {"path", path}};
    if (!secret.empty()) source["secretRef"] = {{"name", secret}};
    Json app = {
        {"apiVersion", "plumbline.dev/v1alpha1"},
        {"kind", "Application"},
        {"metadata", {{"name", name}, {"namespace", namespace_}}},
        {"spec",
         {{"source", source}, {"destination", {{"namespace", namespace_}}}, {"interval", "1h"}}}};
    auto applied = client_->Apply(app);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }

  // The Ready condition once it settles (True, or False with a failure reason), or the
  // controller exits; {} otherwise.
  Json SettledReady(const std::string& name) {
    Json ready = Json::object();
    Eventually(
        [&] {
          if (controller_->Wait(std::chrono::milliseconds(0))) return true;
          auto app = client_->Get(apps_, namespace_, name);
          if (!app.ok() || !app->contains("status")) return false;
          for (const auto& c : (*app)["status"].value("conditions", Json::array())) {
            if (c.value("type", "") != "Ready" || c.value("reason", "") == "Progressing") continue;
            ready = c;
            return true;
          }
          return false;
        },
        std::chrono::seconds(90));
    return ready;
  }

  std::unique_ptr<ControllerProcess> controller_;
};

TEST_F(HostileGitTest, AServerThatResetsConnectionsIsAFetchFailureNotACrash) {
  const std::string d = dir_ + "/tls";
  std::filesystem::create_directories(d);
  MustRun({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key.pem",
           "-out", d + "/cert.pem", "-days", "2", "-subj", "/CN=localhost", "-addext",
           "subjectAltName=IP:127.0.0.1"});
  ResettingTlsServer server(d + "/cert.pem", d + "/key.pem");
  // The Application trusts the server, so the fetch gets past the handshake.
  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "ca"}, {"namespace", namespace_}}},
                 {"data", {{"ca.crt", Base64Encode(testing::ReadFile(d + "/cert.pem"))}}}};
  ASSERT_TRUE(client_->Apply(secret).ok());
  ApplyAppAt("web", "https://127.0.0.1:" + std::to_string(server.port()) + "/deploy.git", "app",
             "ca");

  // A CLI verb that fetches fails with its error exit code, not a signal (-1 here).
  auto diff = RunSubprocess({testing::PlumblineBinary(), "diff", "web", "-n", namespace_,
                             "--kubeconfig", testing::ControlPlane::Get()->kubeconfig(),
                             "--cache-dir", dir_ + "/cli-cache", "--git-timeout", "20"},
                            SubprocessOptions{{}, "", std::chrono::seconds(60)});
  ASSERT_TRUE(diff.ok()) << diff.error().message();
  EXPECT_EQ(diff->exit_code, 2) << diff->err;
  EXPECT_NE(diff->err.find("fetch"), std::string::npos) << diff->err;

  // The controller reports the failure and keeps running.
  StartController();

  Json ready = SettledReady("web");
  ASSERT_EQ(controller_->Wait(std::chrono::milliseconds(0)), std::nullopt)
      << "the controller died\n"
      << controller_->Log();
  EXPECT_EQ(ready.value("reason", ""), "FetchFailed") << ready.dump();
  EXPECT_GT(server.handshakes(), 0);
  // It keeps running through the retries.
  const int seen = server.handshakes();
  ASSERT_TRUE(Eventually([&] { return server.handshakes() > seen; }, std::chrono::seconds(60)));
  EXPECT_EQ(controller_->Wait(std::chrono::milliseconds(0)), std::nullopt) << controller_->Log();
}

// Writes `size` bytes of `line` repeated (a sparse file of zeros when `line` is empty).
void WriteLarge(const std::string& path, size_t size, const std::string& line = "") {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  if (line.empty()) {
    { std::ofstream create(path, std::ios::binary); }
    std::filesystem::resize_file(path, size);
    return;
  }
  std::string chunk;
  while (chunk.size() < (1 << 20)) chunk += line;
  std::ofstream out(path, std::ios::binary);
  for (size_t written = 0; written < size; written += chunk.size()) {
    out.write(chunk.data(), std::streamsize(std::min(chunk.size(), size - written)));
  }
}

TEST_F(HostileGitTest, LargeFilesAreNeverReadIntoMemory) {
  constexpr size_t kLarge = size_t(100) << 20;
  testing::GitRepo repo(dir_ + "/repos/large");
  // The server sends each large blob whole, not as a delta of the other: resolving a delta needs
  // its base in memory, a cost of the fetch that this test is not about.
  MustRun({"git", "-C", repo.dir(), "config", "core.bigFileThreshold", "1m"});
  repo.Write("ok/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: beside-a-blob}\n");
  WriteLarge(repo.dir() + "/ok/firmware.bin", kLarge);
  repo.Write("over/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: never}\n");
  WriteLarge(repo.dir() + "/over/generated.yaml", kLarge, "# generated, and far too long\n");
  const std::string sha = repo.Commit("a firmware image and a huge manifest");
  ApplyAppAt("ok", daemon_->Url("large"), "ok");
  ApplyAppAt("over", daemon_->Url("large"), "over");
  StartController();

  Json ok = SettledReady("ok");
  ASSERT_EQ(ok.value("status", ""), "True") << ok.dump() << controller_->Log();
  EXPECT_EQ((*client_->Get(apps_, namespace_, "ok"))["status"].value("lastAppliedRevision", ""),
            sha);
  Json over = SettledReady("over");
  EXPECT_EQ(over.value("reason", ""), "RenderFailed") << over.dump();
  const std::string message = over.value("message", "");
  EXPECT_NE(message.find("over/generated.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("over the limit"), std::string::npos) << message;
  EXPECT_FALSE(client_->Get(ConfigMaps(), namespace_, "never").ok());

  const long peak_kib = testing::ProcStatusKib(controller_->pid(), "VmHWM");
  std::cout << "controller peak RSS (VmHWM) after two 100 MiB files: " << peak_kib / 1024
            << " MiB\n";
  RecordProperty("peak_rss_kib", std::to_string(peak_kib));
  EXPECT_GT(peak_kib, 0);
  if (testing::kRssBoundsApply) {
    EXPECT_LT(peak_kib, 100 * 1024);
  }
}

}  // namespace
}  // namespace plumbline
