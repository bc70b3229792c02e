// A real HTTP receiver for tests of what the controller sends (notifications, commit statuses,
// Slack response_url posts, OTLP): the product's own server seam on a free port of 127.0.0.1,
// recording every request. It can answer errors for a while, or hang, to test retries and that
// nothing waits on it. Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/server.h"

namespace plumbline::testing {

class HttpRecorder {
 public:
  HttpRecorder() = default;
  ~HttpRecorder();
  // Listens on a free port; false when it cannot.
  bool Start();
  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path.
  std::string Url(const std::string& path = "") const;
  // Every request so far whose path starts with `prefix`, in arrival order.
  std::vector<http::ServerRequest> Requests(const std::string& prefix = "") const;
  // The next `count` requests under `prefix` are answered `status` (and recorded).
  void Fail(const std::string& prefix, int count, int status = 500);
  // While on, requests under `prefix` are held (recorded once released) until Release().
  void Hang(const std::string& prefix);
  void Release();
  // Requests that are being held now.
  int Held() const;

 private:
  http::ServerResponse Handle(const http::ServerRequest& request);

  int port_ = 0;
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  std::condition_variable released_;
  std::vector<http::ServerRequest> requests_;
  std::string fail_prefix_;
  int fail_count_ = 0;
  int fail_status_ = 500;
  std::string hang_prefix_;
  bool hanging_ = false;
  int held_ = 0;
};

}  // namespace plumbline::testing
