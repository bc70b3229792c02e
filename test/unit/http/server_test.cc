// http::Serve against raw sockets on loopback: what a hostile or broken client can and cannot
// make the server do.
#include "http/server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace plumbline::http {
namespace {

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{30, 0};  // bounds every read and write of the test
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Everything the server sends until it closes (or 30 s pass).
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Whether the server closed the connection (EOF or reset) before `timeout`.
bool ClosedWithin(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

std::string Exchange(int port, const std::string& request) {
  int fd = Connect(port);
  if (fd < 0) return "connect failed";
  SendAll(fd, request);
  std::string out = ReadAll(fd);
  close(fd);
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    std::map<std::string, Handler> routes;
    routes["/echo"] = [this](const ServerRequest& r) {
      ++handled_;
      return ServerResponse{200,
                            r.method + " " + r.path + " " + r.headers.at("x-tag") + " " + r.body};
    };
    routes["/prefix/*"] = [](const ServerRequest& r) {
      return ServerResponse{200, "short " + r.path};
    };
    routes["/prefix/long/*"] = [](const ServerRequest& r) {
      return ServerResponse{200, "long " + r.path};
    };
    routes["/throw"] = [](const ServerRequest&) -> ServerResponse {
      throw std::runtime_error("boom");
    };
    routes["/block"] = [this](const ServerRequest&) {
      std::unique_lock<std::mutex> lock(mu_);
      ++blocked_;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
      return ServerResponse{200, "released"};
    };
    auto server = Serve("127.0.0.1:0", std::move(routes), options);
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    Release();
    server_.reset();
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool WaitBlocked(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return blocked_ >= n; });
  }

  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::atomic<int> handled_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int blocked_ = 0;        // guarded by mu_
  bool released_ = false;  // guarded by mu_
};

TEST_F(ServerTest, ServesRoutesWithHeadersAndBodyAndClosesEachConnection) {
  Start();
  std::string out = Exchange(port_,
                             "POST /echo?x=1 HTTP/1.1\r\nHost: h\r\nX-Tag: t1\r\n"
                             "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("POST /echo t1 hello"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  out = Exchange(port_, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 404", 0), 0u) << out;
  out = Exchange(port_, "GET /throw HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 500", 0), 0u) << out;
  EXPECT_NE(out.find("boom"), std::string::npos) << out;
  // A chunked body is read as a whole.
  out = Exchange(port_,
                 "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: t2\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_NE(out.find("POST /echo t2 abcde"), std::string::npos) << out;
}

TEST_F(ServerTest, ARouteEndingInAStarServesEveryPathItPrefixesTheLongestWinning) {
  Start();
  std::string out = Exchange(port_, "GET /prefix/a/b HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(out.find("short /prefix/a/b"), std::string::npos) << out;
  out = Exchange(port_, "GET /prefix/long/x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(out.find("long /prefix/long/x"), std::string::npos) << out;
  out = Exchange(port_, "GET /prefi HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 404", 0), 0u) << out;
  // A star is not a wildcard anywhere else, and the exact route still wins.
  out = Exchange(port_, "GET /prefix/* HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(out.find("short /prefix/*"), std::string::npos) << out;
}

TEST_F(ServerTest, ExpectContinueGetsAHundredBeforeTheBody) {
  Start();
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd,
                      "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: c\r\nContent-Length: 2\r\n"
                      "Expect: 100-continue\r\n\r\n"));
  char buf[64] = {};
  ASSERT_GT(recv(fd, buf, sizeof(buf) - 1, 0), 0);
  EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 100", 0), 0u) << buf;
  ASSERT_TRUE(SendAll(fd, "ok"));
  std::string out = ReadAll(fd);
  close(fd);
  EXPECT_NE(out.find("POST /echo c ok"), std::string::npos) << out;
}

TEST_F(ServerTest, ADeclaredLengthOverTheLimitIsRefusedBeforeTheBody) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  // Only the headers are sent: the answer comes without waiting for the body.
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd,
                      "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: t\r\n"
                      "Content-Length: 1000000000\r\n\r\n"));
  char buf[64] = {};
  ASSERT_GT(recv(fd, buf, sizeof(buf) - 1, 0), 0);
  EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 413", 0), 0u) << buf;
  close(fd);
  EXPECT_EQ(handled_, 0);
}

TEST_F(ServerTest, AChunkedBodyIsCountedAsItArrivesAndCutPastTheLimit) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  Start(options);
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  int sndbuf = 16 << 10;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  ASSERT_TRUE(SendAll(fd,
                      "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: t\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "1000\r\n" + std::string(0x1000, 'x') + "\r\n";  // 4 KiB
  size_t sent = 0;
  while (sent < (64u << 20)) {
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  close(fd);
  EXPECT_LT(sent, 4u << 20) << "the server kept reading past its 64 KiB limit";
  EXPECT_EQ(handled_, 0);
}

TEST_F(ServerTest, HeadersLargerThanTheLimitAreRefused) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  Start(options);
  std::string out = Exchange(
      port_, "GET /echo HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out;
}

TEST_F(ServerTest, ClientsThatStallAreCutAtTheDeadlineAndOthersAreServedMeanwhile) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(500);
  options.body_timeout = std::chrono::milliseconds(500);
  Start(options);
  std::vector<int> stalled;
  for (int i = 0; i < 20; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    // Half stop inside the headers, half after them, before the body.
    SendAll(fd, i % 2 ? "POST /echo HTTP/1.1\r\nHost: h\r\n"
                      : "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: t\r\nContent-Length: 9\r\n\r\n");
    stalled.push_back(fd);
  }
  std::string out = Exchange(port_,
                             "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: live\r\n"
                             "Content-Length: 2\r\n\r\nok");
  EXPECT_NE(out.find("POST /echo live ok"), std::string::npos) << out;
  for (int fd : stalled) {
    EXPECT_TRUE(ClosedWithin(fd, 20));
    close(fd);
  }
  // A client that trickles a byte at a time is cut by the same deadline: it covers the whole
  // header, not each read.
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const std::string head = "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: slow\r\n";
  bool cut = false;
  for (size_t i = 0; i < head.size() && !cut; ++i) {
    if (send(fd, &head[i], 1, MSG_NOSIGNAL) != 1) cut = true;
    timeval tv{0, 100 * 1000};  // 100 ms between bytes: every read makes progress
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) cut = true;
  }
  close(fd);
  EXPECT_TRUE(cut) << "a client sending 1 byte per 100 ms kept its connection past 500 ms";
  EXPECT_EQ(handled_, 1);
}

TEST_F(ServerTest, ConnectionsPastTheCapAreClosedAtOnce) {
  ServerOptions options;
  options.max_connections = 4;
  options.header_timeout = std::chrono::seconds(60);
  Start(options);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  // The server may accept the next one a moment after the first four; it closes it right away.
  int extra = Connect(port_);
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(ClosedWithin(extra, 20));
  close(extra);
  for (int fd : held) close(fd);
  // Once they are gone, new clients are served again.
  std::string out;
  for (int i = 0; i < 200 && out.find("200") == std::string::npos; ++i) {
    out =
        Exchange(port_, "POST /echo HTTP/1.1\r\nHost: h\r\nX-Tag: t\r\nContent-Length: 0\r\n\r\n");
  }
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
}

TEST_F(ServerTest, BusyHandlersQueueABoundedNumberAndRefuseTheRest) {
  ServerOptions options;
  options.handler_threads = 1;
  options.max_queued_requests = 1;
  Start(options);
  const std::string block = "GET /block HTTP/1.1\r\nHost: h\r\n\r\n";
  int first = Connect(port_);
  ASSERT_TRUE(SendAll(first, block));
  ASSERT_TRUE(WaitBlocked(1));
  // One more fits in the queue; the other two are refused while the handler is still busy.
  std::vector<pollfd> others;
  for (int i = 0; i < 3; ++i) {
    int fd = Connect(port_);
    ASSERT_TRUE(SendAll(fd, block));
    others.push_back({fd, POLLIN, 0});
  }
  std::vector<std::string> answers;
  for (int round = 0; round < 300 && answers.size() < 2; ++round) {
    if (poll(others.data(), others.size(), 100) <= 0) continue;
    for (auto& p : others) {
      if (p.fd >= 0 && (p.revents & (POLLIN | POLLHUP))) {
        answers.push_back(ReadAll(p.fd));
        close(p.fd);
        p.fd = -1;
      }
    }
  }
  ASSERT_EQ(answers.size(), 2u);
  for (const auto& a : answers) EXPECT_EQ(a.rfind("HTTP/1.1 503", 0), 0u) << a;
  Release();
  EXPECT_NE(ReadAll(first).find("released"), std::string::npos);
  close(first);
  for (auto& p : others) {
    if (p.fd < 0) continue;
    EXPECT_NE(ReadAll(p.fd).find("released"), std::string::npos);
    close(p.fd);
  }
}

TEST(Serve, RefusesBadAddressesAndAPortInUse) {
  EXPECT_FALSE(Serve("nonsense", {}).ok());
  EXPECT_FALSE(Serve("127.0.0.1:99999", {}).ok());
  EXPECT_FALSE(Serve("no-such-host.invalid:80", {}).ok());
  auto first = Serve("127.0.0.1:0", {});
  ASSERT_TRUE(first.ok());
  auto second = Serve("127.0.0.1:" + std::to_string((*first)->port()), {});
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace plumbline::http
