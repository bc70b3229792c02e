// http::Serve over cpprestsdk's http_listener. The only file that sees the listener.
#include <cpprest/containerstream.h>
#include <cpprest/http_listener.h>

#include <algorithm>
#include <cctype>

#include "http/server.h"

namespace plumbline::http {
namespace {

using web::http::experimental::listener::http_listener;
using web::http::experimental::listener::http_listener_config;

Result<std::string> ListenUri(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Error(ErrorCode::kInvalidArgument,
                 "address \"" + address + "\" is not host:port or :port");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return Error(ErrorCode::kInvalidArgument, "address \"" + address + "\" has a bad port");
  }
  if (host.empty()) host = "0.0.0.0";
  return "http://" + host + ":" + port + "/";
}

class CpprestServer : public Server {
 public:
  CpprestServer(int port, std::map<std::string, Handler> routes, ServerOptions options)
      : port_(port), routes_(std::move(routes)), options_(options) {}
  ~CpprestServer() override {
    if (listener_) {
      try {
        listener_->close().wait();
      } catch (const std::exception&) {
      }
    }
  }

  Status Open(const std::string& uri) {
    try {
      http_listener_config config;
      config.set_timeout(utility::seconds(30));
      listener_ = std::make_unique<http_listener>(uri, config);
      listener_->support([this](web::http::http_request request) { Handle(std::move(request)); });
      listener_->open().wait();
      return Status::Ok();
    } catch (const std::exception& e) {
      listener_.reset();
      return Error(ErrorCode::kUnavailable, "cannot listen on " + uri + ": " + e.what());
    }
  }

  int port() const override { return port_; }

 private:
  static void Reply(web::http::http_request& request, const ServerResponse& r) {
    web::http::http_response response(static_cast<web::http::status_code>(r.status));
    response.set_body(r.body, r.content_type);
    request.reply(response).then([](pplx::task<void> t) {
      try {
        t.get();
      } catch (const std::exception&) {  // the client went away
      }
    });
  }

  void Handle(web::http::http_request request) {
    try {
      auto route = routes_.find(request.relative_uri().path());
      if (route == routes_.end()) {
        Reply(request, {404, "not found\n"});
        return;
      }
      ServerRequest in;
      in.method = request.method();
      in.path = route->first;
      in.remote_address = request.remote_address();
      for (const auto& [name, value] : request.headers()) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        in.headers[lower] = value;
      }
      if (request.headers().content_length() > options_.max_body_bytes) {
        Reply(request, {413, "body too large\n"});
        return;
      }
      // Read at most one byte past the limit: a chunked body has no length to check up front.
      concurrency::streams::container_buffer<std::string> buffer;
      auto body = request.body();
      size_t read = 0;
      while (read <= options_.max_body_bytes) {  // a read returns what has arrived so far
        size_t n = body.read(buffer, options_.max_body_bytes + 1 - read).get();
        if (n == 0) break;
        read += n;
      }
      if (read > options_.max_body_bytes) {
        Reply(request, {413, "body too large\n"});
        return;
      }
      in.body = std::move(buffer.collection());
      in.body.resize(read);  // the buffer grows ahead of what was written into it
      Reply(request, route->second(in));
    } catch (const std::exception& e) {
      try {
        Reply(request, {500, std::string("internal error: ") + e.what() + "\n"});
      } catch (const std::exception&) {
      }
    }
  }

  const int port_;
  const std::map<std::string, Handler> routes_;
  const ServerOptions options_;
  std::unique_ptr<http_listener> listener_;
};

}  // namespace

Result<std::unique_ptr<Server>> Serve(const std::string& address,
                                      std::map<std::string, Handler> routes,
                                      ServerOptions options) {
  auto uri = ListenUri(address);
  if (!uri.ok()) return uri.error();
  int port = std::stoi(address.substr(address.rfind(':') + 1));
  auto server = std::make_unique<CpprestServer>(port, std::move(routes), options);
  if (Status s = server->Open(*uri); !s.ok()) return s.error();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace plumbline::http
