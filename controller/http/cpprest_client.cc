// The one place that uses cpprestsdk. Its exceptions end here, turned into Errors.
#include <cpprest/http_client.h>

#include <boost/asio/ssl.hpp>

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

class CppRestClient : public Client {
 public:
  CppRestClient(std::string base_url, crc::http_client client)
      : base_url_(std::move(base_url)), client_(std::move(client)) {}

  Result<Response> Send(const Request& request) override {
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
    return std::unique_ptr<Client>(new CppRestClient(options.base_url, std::move(client)));
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
