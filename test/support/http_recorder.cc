#include "support/http_recorder.h"

#include "support/process.h"

namespace plumbline::testing {

HttpRecorder::~HttpRecorder() {
  Release();
  server_.reset();
}

bool HttpRecorder::Start() {
  port_ = FreePort();
  http::ServerOptions options;
  options.handler_threads = 8;  // a held request must not stop the others
  options.max_body_bytes = 8 << 20;
  auto served =
      http::Serve("127.0.0.1:" + std::to_string(port_),
                  {{"/*", [this](const http::ServerRequest& r) { return Handle(r); }}}, options);
  if (!served.ok()) return false;
  server_ = std::move(*served);
  return true;
}

std::string HttpRecorder::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<http::ServerRequest> HttpRecorder::Requests(const std::string& prefix) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<http::ServerRequest> out;
  for (const auto& r : requests_) {
    if (r.path.rfind(prefix, 0) == 0) out.push_back(r);
  }
  return out;
}

void HttpRecorder::Fail(const std::string& prefix, int count, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_prefix_ = prefix;
  fail_count_ = count;
  fail_status_ = status;
}

void HttpRecorder::Hang(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  hang_prefix_ = prefix;
  hanging_ = true;
}

void HttpRecorder::Release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hanging_ = false;
  }
  released_.notify_all();
}

int HttpRecorder::Held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

http::ServerResponse HttpRecorder::Handle(const http::ServerRequest& request) {
  std::unique_lock<std::mutex> lock(mu_);
  if (hanging_ && request.path.rfind(hang_prefix_, 0) == 0) {
    ++held_;
    while (hanging_) released_.wait(lock);
    --held_;
  }
  requests_.push_back(request);
  if (fail_count_ > 0 && request.path.rfind(fail_prefix_, 0) == 0) {
    --fail_count_;
    return {fail_status_, "failing on purpose\n", "text/plain"};
  }
  return {200, "ok", "text/plain"};
}

}  // namespace plumbline::testing
