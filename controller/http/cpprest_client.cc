// The one place that uses cpprestsdk. Its exceptions end here, turned into Errors.
#include <cpprest/http_client.h>

#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "http/http_client.h"

namespace plumbline::http {
namespace {

namespace cr = web::http;
namespace crc = web::http::client;

Error ErrorFromException(const std::string& base_url, const std::exception& e) {
  if (const auto* he = dynamic_cast<const cr::http_exception*>(&e)) {
    if (he->error_code() == std::errc::timed_out) {
      return Error(ErrorCode::kTimeout, base_url + ": request timed out: " + he->what());
    }
    if (he->error_code() == std::errc::operation_canceled) {
      return Error(ErrorCode::kCancelled, base_url + ": request cancelled");
    }
  }
  if (dynamic_cast<const pplx::task_canceled*>(&e)) {
    return Error(ErrorCode::kCancelled, base_url + ": request cancelled");
  }
  std::string what = e.what();
  if (what.find("Operation canceled") != std::string::npos) {
    return Error(ErrorCode::kCancelled, base_url + ": request cancelled");
  }
  return Error(ErrorCode::kUnavailable, "cannot reach " + base_url + ": " + what);
}

void ConfigureTls(const TlsOptions& tls, boost::asio::ssl::context& ctx) {
  if (tls.insecure_skip_verify) {
    ctx.set_verify_mode(boost::asio::ssl::verify_none);
  } else if (!tls.ca_pem.empty()) {
    ctx.add_certificate_authority(boost::asio::buffer(tls.ca_pem));
  }
  if (!tls.client_cert_pem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(tls.client_cert_pem));
    ctx.use_private_key(boost::asio::buffer(tls.client_key_pem), boost::asio::ssl::context::pem);
  }
}

cr::http_request ToCppRest(const Request& request) {
  cr::http_request req(request.method);
  req.set_request_uri(request.path);
  for (const auto& [name, value] : request.headers) req.headers().add(name, value);
  if (!request.body.empty() || !request.content_type.empty()) {
    req.set_body(std::string(request.body), request.content_type);
  }
  return req;
}

std::map<std::string, std::string> HeadersOf(const cr::http_response& response) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : response.headers()) headers[name] = value;
  return headers;
}

class CppRestStream : public Stream {
 public:
  CppRestStream(std::string base_url, cr::http_response response,
                pplx::cancellation_token_source cancel)
      : base_url_(std::move(base_url)),
        response_(std::move(response)),
        buffer_(response_.body().streambuf()),
        cancel_(std::move(cancel)) {}

  ~CppRestStream() override { Cancel(); }

  int status() const override { return response_.status_code(); }

  Result<std::string> ReadSome() override {
    try {
      // Wait for one byte, then take whatever else has already arrived. Reading a fixed
      // count would wait for that many bytes, stalling a quiet watch.
      auto c = buffer_.bumpc().get();
      if (c == decltype(buffer_)::traits::eof()) return std::string();
      std::string out(1, static_cast<char>(c));
      size_t avail = buffer_.in_avail();
      if (avail > 0) {
        std::string more(avail, '\0');
        size_t got = buffer_.getn(reinterpret_cast<uint8_t*>(more.data()), avail).get();
        out.append(more.data(), got);
      }
      return out;
    } catch (const std::exception& e) {
      if (cancel_.get_token().is_canceled()) {
        return Error(ErrorCode::kCancelled, base_url_ + ": stream cancelled");
      }
      return ErrorFromException(base_url_, e);
    }
  }

  void Cancel() override { cancel_.cancel(); }

 private:
  std::string base_url_;
  cr::http_response response_;
  concurrency::streams::streambuf<uint8_t> buffer_;
  pplx::cancellation_token_source cancel_;
};

// What a bounded Send's request thread hands back; shared, since Send may stop waiting first.
struct BoundedSend {
  std::mutex mu;
  std::condition_variable done;
  std::optional<Result<Response>> result;  // guarded by mu
};

// One request, read to the end or to `max_bytes`, run to completion on its own thread.
Result<Response> SendAndRead(const std::string& base_url, crc::http_client client,
                             cr::http_request request, pplx::cancellation_token token,
                             size_t max_bytes) {
  try {
    cr::http_response resp = client.request(request, token).get();
    Response out;
    out.status = resp.status_code();
    out.headers = HeadersOf(resp);
    auto body = resp.body();
    // The buffer's string grows by whole reads; `total` is what arrived.
    concurrency::streams::container_buffer<std::string> buffer;
    size_t total = 0;
    for (;;) {
      const size_t n = body.read(buffer, 64 << 10).get();
      if (n == 0) break;
      total += n;
      if (max_bytes > 0 && total > max_bytes) {
        return Error(ErrorCode::kInvalidArgument,
                     base_url + ": response larger than " + std::to_string(max_bytes) + " bytes");
      }
    }
    out.body = std::move(buffer.collection());
    out.body.resize(total);
    return out;
  } catch (const std::exception& e) {
    return ErrorFromException(base_url, e);
  }
}

class CppRestClient : public Client {
 public:
  CppRestClient(std::string base_url, crc::http_client client, std::chrono::milliseconds total,
                size_t max_response_bytes)
      : base_url_(std::move(base_url)),
        client_(std::move(client)),
        total_timeout_(total),
        max_response_bytes_(max_response_bytes) {}

  Result<Response> Send(const Request& request) override {
    if (total_timeout_.count() > 0 || max_response_bytes_ > 0) return SendBounded(request);
    try {
      cr::http_response resp = client_.request(ToCppRest(request)).get();
      Response out;
      out.status = resp.status_code();
      out.headers = HeadersOf(resp);
      auto bytes = resp.extract_vector().get();
      out.body.assign(bytes.begin(), bytes.end());
      return out;
    } catch (const std::exception& e) {
      return ErrorFromException(base_url_, e);
    }
  }

  // The request runs on a thread of its own (these clients talk to servers that are rare and
  // slow, not the API server), so that Send returns at the deadline whatever the server does;
  // the deadline cancels the request, and the thread ends with it.
  Result<Response> SendBounded(const Request& request) {
    auto shared = std::make_shared<BoundedSend>();
    pplx::cancellation_token_source cancel;
    std::thread([shared, base_url = base_url_, client = client_, req = ToCppRest(request),
                 token = cancel.get_token(), max = max_response_bytes_]() mutable {
      Result<Response> result =
          SendAndRead(base_url, std::move(client), std::move(req), token, max);
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->result = std::move(result);
      shared->done.notify_all();
    }).detach();
    std::unique_lock<std::mutex> lock(shared->mu);
    const auto deadline = std::chrono::steady_clock::now() +
                          (total_timeout_.count() > 0 ? total_timeout_ : std::chrono::hours(24));
    while (!shared->result) {
      if (shared->done.wait_until(lock, deadline) == std::cv_status::timeout && !shared->result) {
        cancel.cancel();
        return Error(ErrorCode::kTimeout, base_url_ + ": no complete answer within " +
                                              std::to_string(total_timeout_.count()) + " ms");
      }
    }
    return std::move(*shared->result);
  }

  Result<std::unique_ptr<Stream>> OpenStream(const Request& request) override {
    pplx::cancellation_token_source cancel;
    try {
      cr::http_response resp = client_.request(ToCppRest(request), cancel.get_token()).get();
      return std::unique_ptr<Stream>(new CppRestStream(base_url_, std::move(resp), cancel));
    } catch (const std::exception& e) {
      return ErrorFromException(base_url_, e);
    }
  }

 private:
  std::string base_url_;
  crc::http_client client_;
  const std::chrono::milliseconds total_timeout_;
  const size_t max_response_bytes_;
};

}  // namespace

Result<std::unique_ptr<Client>> NewClient(const ClientOptions& options) {
  crc::http_client_config config;
  config.set_timeout(options.timeout);
  const TlsOptions tls = options.tls;
  if (tls.insecure_skip_verify) config.set_validate_certificates(false);
  // Check the PEM material now, so a bad certificate is an error at start, not per request.
  try {
    boost::asio::ssl::context probe(boost::asio::ssl::context::tls_client);
    ConfigureTls(tls, probe);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string("invalid TLS certificate or key: ") + e.what());
  }
  config.set_ssl_context_callback(
      [tls](boost::asio::ssl::context& ctx) { ConfigureTls(tls, ctx); });
  try {
    crc::http_client client(web::uri(options.base_url), config);
    return std::unique_ptr<Client>(new CppRestClient(
        options.base_url, std::move(client), options.total_timeout, options.max_response_bytes));
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument,
                 "invalid server URL \"" + options.base_url + "\": " + e.what());
  }
}

std::string EscapeQueryValue(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace plumbline::http
