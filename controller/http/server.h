// The HTTP server seam: small endpoints (/healthz, /readyz, webhooks) that face untrusted
// clients, served without exposing the implementation (Boost.Beast, in beast_server.cc).
//
// Each Server owns its threads: one I/O thread that reads every connection asynchronously, and a
// few handler threads. Nothing is shared with the Kubernetes client or leader election, so a
// flood of slow clients on one port costs sockets and timers, never another component's threads.
// Every read has a deadline, bodies are counted as they arrive and refused past the limit, and
// connections past the cap are closed at once. Handlers run on the handler threads and must be
// thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"

namespace plumbline::http {

struct ServerRequest {
  std::string method;
  std::string path;                            // without the query
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
};

struct ServerResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};

using Handler = std::function<ServerResponse(const ServerRequest&)>;

struct ServerOptions {
  // A body past this many bytes is answered 413 as soon as the byte past the limit arrives
  // (or at once when Content-Length says so) and the connection is closed.
  size_t max_body_bytes = 1 << 20;
  // The request line and headers; past this, 431 and close.
  size_t max_header_bytes = 16 << 10;
  // Deadlines for the whole of each phase, not per read: a client that trickles one byte a
  // second is cut at the deadline all the same.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds body_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  // Connections open at once; more are closed as soon as they are accepted.
  int max_connections = 128;
  // Threads that run handlers, and requests that may wait for one (more get 503).
  int handler_threads = 2;
  int max_queued_requests = 64;
};

class Server {
 public:
  virtual ~Server() = default;   // stops accepting, waits for running handlers, closes all
  virtual int port() const = 0;  // the bound port (useful with ":0")
};

// Listens on `address` ("host:port", or ":port" for every interface) and serves `routes`, keyed
// by exact path, or by a prefix when the key ends in '*' ("/hooks/*"; the longest one wins);
// other paths get 404. Stops when the returned Server is destroyed. Every
// response closes its connection (no keep-alive).
Result<std::unique_ptr<Server>> Serve(const std::string& address,
                                      std::map<std::string, Handler> routes,
                                      ServerOptions options = {});

}  // namespace plumbline::http
