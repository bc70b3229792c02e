// The HTTP seam: the rest of the controller talks HTTP through these interfaces and never sees
// cpprestsdk. One HttpClient talks to one server (scheme://host:port) with one TLS setup.
//
// Thread safety: Send and OpenStream may be called from many threads at once. An HttpStream is
// read by one thread; Cancel may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/error.h"

namespace plumbline::http {

struct Request {
  std::string method = "GET";
  std::string path;  // path and query, already escaped: "/api/v1/namespaces?limit=500"
  std::map<std::string, std::string> headers;
  std::string body;
  std::string content_type;  // sent verbatim when body is set
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

// A response body read as it arrives (a Kubernetes watch).
class Stream {
 public:
  virtual ~Stream() = default;
  virtual int status() const = 0;
  // Blocks until some bytes arrive; returns them. An empty string means the body ended.
  // Fails when the connection breaks, the idle timeout passes, or Cancel was called.
  virtual Result<std::string> ReadSome() = 0;
  virtual void Cancel() = 0;
};

struct TlsOptions {
  std::string ca_pem;           // trust only these CAs; empty: the system's
  std::string client_cert_pem;  // client certificate chain for mutual TLS
  std::string client_key_pem;
  bool insecure_skip_verify = false;
};

struct ClientOptions {
  std::string base_url;  // "https://127.0.0.1:6443"
  TlsOptions tls;
  // Bound on connecting and on each read: a request or a stream that is silent this long fails.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  // For servers someone else chooses (a tenant's notification receiver, Slack's response_url):
  // a bound on the whole of Send, request to last byte, however slowly the server trickles
  // (0: none, only `timeout` per read), and on the response body's size (0: none).
  std::chrono::milliseconds total_timeout{0};
  size_t max_response_bytes = 0;
};

class Client {
 public:
  virtual ~Client() = default;
  // Returns any response the server sent, including 4xx and 5xx; fails only when no response
  // came (kUnavailable, kTimeout).
  virtual Result<Response> Send(const Request& request) = 0;
  // Returns once the response headers have arrived.
  virtual Result<std::unique_ptr<Stream>> OpenStream(const Request& request) = 0;
};

Result<std::unique_ptr<Client>> NewClient(const ClientOptions& options);

// Escapes a string for use as one URL query value or path segment.
std::string EscapeQueryValue(const std::string& value);

}  // namespace plumbline::http
