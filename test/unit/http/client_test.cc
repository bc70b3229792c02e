// The HTTP client against servers that misbehave on purpose (a raw socket in the test): one that
// trickles its answer, one that answers too much. Clients of servers a tenant chooses bound both.
#include "http/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace plumbline::http {
namespace {

using namespace std::chrono_literals;

// Listens on a free port of 127.0.0.1 and answers each connection with `answer`: the header,
// then the body in pieces of `piece` bytes, `pause` apart.
class RawServer {
 public:
  RawServer(std::string head, std::string body, size_t piece, std::chrono::milliseconds pause)
      : head_(std::move(head)), body_(std::move(body)), piece_(piece), pause_(pause) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    int conn = accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    char buf[4096];
    (void)recv(conn, buf, sizeof buf, 0);  // the request; its content does not matter
    bool ok = send(conn, head_.data(), head_.size(), MSG_NOSIGNAL) > 0;
    for (size_t at = 0; ok && !stop_ && at < body_.size(); at += piece_) {
      const std::string part = body_.substr(at, piece_);
      ok = send(conn, part.data(), part.size(), MSG_NOSIGNAL) > 0;
      std::this_thread::sleep_for(pause_);
    }
    // Done writing; read what is left of the request before closing, or the close resets the
    // connection under the client's feet.
    shutdown(conn, SHUT_WR);
    timeval tv{2, 0};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (recv(conn, buf, sizeof buf, 0) > 0) {
    }
    close(conn);
  }

  std::string head_, body_;
  size_t piece_;
  std::chrono::milliseconds pause_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Request Post() {
  Request r;
  r.method = "POST";
  r.path = "/hook";
  r.body = "{}";
  r.content_type = "application/json";
  return r;
}

TEST(BoundedClient, AServerThatTricklesIsCutAtTheTotalTimeout) {
  // One byte every 200 ms: each read is well within the 2 s per-read timeout, the whole is not.
  RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", std::string(100, 'x'), 1,
                   200ms);
  ClientOptions options;
  options.base_url = server.Url();
  options.timeout = 2s;
  options.total_timeout = 600ms;
  auto client = NewClient(options);
  ASSERT_TRUE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  auto sent = (*client)->Send(Post());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().code(), ErrorCode::kTimeout) << sent.error().message();
  EXPECT_LT(took, 5s);  // 20 s without the bound
}

TEST(BoundedClient, AnAnswerOverTheLimitIsAnError) {
  RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n", std::string(1 << 20, 'x'),
                   64 << 10, 0ms);
  ClientOptions options;
  options.base_url = server.Url();
  options.max_response_bytes = 64 << 10;
  auto client = NewClient(options);
  ASSERT_TRUE(client.ok());
  auto sent = (*client)->Send(Post());
  ASSERT_FALSE(sent.ok());
  EXPECT_NE(sent.error().message().find("larger than 65536 bytes"), std::string::npos)
      << sent.error().message();
}

TEST(BoundedClient, AnAnswerWithinTheBoundsArrivesWhole) {
  RawServer server("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\n", "hello", 1, 10ms);
  ClientOptions options;
  options.base_url = server.Url();
  options.total_timeout = 5s;
  options.max_response_bytes = 64 << 10;
  auto client = NewClient(options);
  ASSERT_TRUE(client.ok());
  auto sent = (*client)->Send(Post());
  ASSERT_TRUE(sent.ok()) << sent.error().message();
  EXPECT_EQ(sent->status, 201);
  EXPECT_EQ(sent->body, "hello");
  EXPECT_EQ(sent->headers.at("X-A"), "b");
}

}  // namespace
}  // namespace plumbline::http
