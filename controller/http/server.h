// The HTTP server seam: small endpoints (/healthz, /readyz, webhooks) served without exposing
// cpprestsdk. Handlers run on the server's threads and must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"

namespace plumbline::http {

struct ServerRequest {
  std::string method;
  std::string path;  // without the query
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
  // Bodies larger than this are refused with 413 before they are read in full.
  size_t max_body_bytes = 1 << 20;
};

class Server {
 public:
  virtual ~Server() = default;
  virtual int port() const = 0;
};

// Listens on `address` ("host:port", or ":port" for every interface) and serves `routes`, keyed
// by exact path; other paths get 404. Stops when the returned Server is destroyed.
Result<std::unique_ptr<Server>> Serve(const std::string& address,
                                      std::map<std::string, Handler> routes,
                                      ServerOptions options = {});

}  // namespace plumbline::http
