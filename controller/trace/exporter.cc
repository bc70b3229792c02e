#include "trace/exporter.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "common/mutex.h"
#include "common/redact.h"
#include "http/http_client.h"
#include "trace/otlp.h"

namespace plumbline::trace {
namespace {

using std::chrono::steady_clock;

// Waits before the retries of a post: short, since the queue fills behind it.
constexpr std::chrono::milliseconds kBackoff[] = {std::chrono::milliseconds(100),
                                                  std::chrono::milliseconds(400)};
constexpr size_t kMaxRetries = std::size(kBackoff);

enum class Outcome { kOk, kRetry, kFail };

// The queue and the thread's work. Shared by the exporter and its thread, so that it outlives
// the exporter when the destructor stops waiting for a post that hangs.
class Pipeline {
 public:
  Pipeline(OtlpHttpOptions options, std::string path, std::unique_ptr<http::Client> client,
           std::function<void(size_t, bool)> on_export, std::function<void(size_t)> on_drop)
      : options_(std::move(options)),
        path_(std::move(path)),
        client_(std::move(client)),
        on_export_(std::move(on_export)),
        on_drop_(std::move(on_drop)) {}

  void Enqueue(std::vector<SpanData> spans) EXCLUDES(mu_);
  // The thread's body: returns once stopped and the queue is empty, or abandoned.
  void Run() EXCLUDES(report_mu_, mu_);
  // Asks the thread to post what is queued and return. True when it did by `deadline`;
  // otherwise it is abandoned: it reports nothing more, and what it had not posted is dropped.
  bool Stop(steady_clock::time_point deadline) EXCLUDES(report_mu_, mu_);

 private:
  // The next batch, once there is one to post; empty when the thread should return.
  std::vector<SpanData> NextBatch() EXCLUDES(mu_);
  bool Deliver(const std::vector<SpanData>& batch) EXCLUDES(mu_);
  Outcome PostOnce(const std::string& body);

  const OtlpHttpOptions options_;
  const std::string path_;
  const std::unique_ptr<http::Client> client_;
  const std::function<void(size_t, bool)> on_export_;
  const std::function<void(size_t)> on_drop_;

  // Held while on_export_ runs, so that none runs after Stop gave up. Taken before mu_.
  Mutex report_mu_;
  Mutex mu_;
  CondVar work_cv_;  // spans queued, or stopping_ set
  CondVar done_cv_;  // done_ set
  struct Queued {
    SpanData span;
    steady_clock::time_point at;  // when Export queued it
  };
  std::deque<Queued> queue_ GUARDED_BY(mu_);
  size_t in_flight_ GUARDED_BY(mu_) = 0;  // spans of the batch being posted
  bool stopping_ GUARDED_BY(mu_) = false;
  bool abandoned_ GUARDED_BY(mu_) = false;
  bool done_ GUARDED_BY(mu_) = false;
};

void Pipeline::Enqueue(std::vector<SpanData> spans) {
  const size_t count = spans.size();
  if (count == 0) return;
  {
    MutexLock lock(mu_);
    if (!stopping_ && queue_.size() + count <= options_.max_queued_spans) {
      const bool was_empty = queue_.empty();
      const steady_clock::time_point now = steady_clock::now();
      for (SpanData& span : spans) queue_.push_back(Queued{std::move(span), now});
      // The thread sleeps until the queue has spans, then until a batch is due.
      if (was_empty || queue_.size() >= options_.max_batch_spans) work_cv_.notify_all();
      return;
    }
  }
  if (on_drop_) on_drop_(count);
}

std::vector<SpanData> Pipeline::NextBatch() {
  MutexLock lock(mu_);
  while (!abandoned_ && !stopping_ && queue_.size() < options_.max_batch_spans) {
    if (queue_.empty()) {
      work_cv_.wait(lock);
      continue;
    }
    const steady_clock::time_point due = queue_.front().at + options_.flush_interval;
    if (steady_clock::now() >= due) break;
    work_cv_.wait_until(lock, due);
  }
  std::vector<SpanData> batch;
  if (abandoned_ || queue_.empty()) {
    done_ = true;
    done_cv_.notify_all();
    return batch;
  }
  const size_t count = std::min(queue_.size(), options_.max_batch_spans);
  const auto last = queue_.begin() + static_cast<std::ptrdiff_t>(count);
  batch.reserve(count);
  for (auto it = queue_.begin(); it != last; ++it) batch.push_back(std::move(it->span));
  queue_.erase(queue_.begin(), last);
  in_flight_ = count;
  return batch;
}

void Pipeline::Run() {
  for (;;) {
    const std::vector<SpanData> batch = NextBatch();
    if (batch.empty()) return;
    const bool ok = Deliver(batch);
    MutexLock report(report_mu_);
    {
      MutexLock lock(mu_);
      if (abandoned_) {
        // Stop counted this batch as dropped and returned.
        done_ = true;
        return;
      }
      in_flight_ = 0;
    }
    if (on_export_) on_export_(batch.size(), ok);
  }
}

bool Pipeline::Deliver(const std::vector<SpanData>& batch) {
  const std::string body =
      EncodeOtlp(batch, options_.resource).dump(-1, ' ', false, Json::error_handler_t::replace);
  for (size_t attempt = 0;; ++attempt) {
    const Outcome outcome = PostOnce(body);
    if (outcome != Outcome::kRetry) return outcome == Outcome::kOk;
    if (attempt == kMaxRetries) return false;
    MutexLock lock(mu_);
    const steady_clock::time_point until = steady_clock::now() + kBackoff[attempt];
    while (!stopping_ && steady_clock::now() < until) work_cv_.wait_until(lock, until);
    // No retries while stopping: the destructor's wait is for the rest of the queue.
    if (stopping_) return false;
  }
}

Outcome Pipeline::PostOnce(const std::string& body) {
  http::Request request;
  request.method = "POST";
  request.path = path_;
  request.body = body;
  request.content_type = "application/json";
  auto response = client_->Send(request);
  if (!response.ok()) return Outcome::kRetry;  // no answer: the collector may be restarting
  const int status = response->status;
  if (status >= 200 && status < 300) return Outcome::kOk;
  // OTLP names 429, 502, 503 and 504 retryable; any 5xx is taken as passing trouble.
  if (status == 429 || status >= 500) return Outcome::kRetry;
  return Outcome::kFail;  // the collector refuses these spans: sending them again will not help
}

bool Pipeline::Stop(steady_clock::time_point deadline) {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    work_cv_.notify_all();
    while (!done_ && steady_clock::now() < deadline) done_cv_.wait_until(lock, deadline);
    if (done_) return true;
  }
  size_t dropped = 0;
  {
    MutexLock report(report_mu_);
    MutexLock lock(mu_);
    if (done_) return true;
    abandoned_ = true;
    dropped = queue_.size() + in_flight_;
    queue_.clear();
  }
  if (on_drop_ && dropped > 0) on_drop_(dropped);
  return false;
}

class OtlpHttpExporter : public Exporter {
 public:
  OtlpHttpExporter(std::shared_ptr<Pipeline> pipeline, std::chrono::milliseconds timeout)
      : pipeline_(std::move(pipeline)), timeout_(timeout), thread_([p = pipeline_] { p->Run(); }) {}

  ~OtlpHttpExporter() override {
    if (pipeline_->Stop(steady_clock::now() + timeout_)) {
      thread_.join();
    } else {
      // Its post still hangs; it holds the pipeline and returns when the post times out.
      thread_.detach();
    }
  }

  void Export(std::vector<SpanData> spans) override { pipeline_->Enqueue(std::move(spans)); }

 private:
  const std::shared_ptr<Pipeline> pipeline_;
  const std::chrono::milliseconds timeout_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Exporter>> NewOtlpHttpExporter(
    OtlpHttpOptions options, std::function<void(size_t spans, bool ok)> on_export,
    std::function<void(size_t spans)> on_drop) {
  const std::string& endpoint = options.endpoint;
  const size_t scheme_end = endpoint.find("://");
  const std::string scheme = endpoint.substr(0, scheme_end);
  const size_t path_start =
      scheme_end == std::string::npos ? std::string::npos : endpoint.find('/', scheme_end + 3);
  const std::string base = endpoint.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : endpoint.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if ((scheme != "http" && scheme != "https") || base.size() == scheme_end + 3 ||
      prefix.find_first_of("?#") != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument,
                 "OTLP endpoint \"" + SafeText(endpoint) +
                     "\" is not an http(s) base URL (like http://otel-collector:4318)");
  }
  if (options.max_batch_spans == 0 || options.max_queued_spans == 0 ||
      options.flush_interval.count() <= 0 || options.timeout.count() <= 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "OTLP exporter: batch and queue sizes, flush interval and timeout must be "
                 "positive");
  }
  http::ClientOptions client_options;
  client_options.base_url = base;
  client_options.timeout = options.timeout;
  // The export thread must come back: a collector that trickles is cut at the timeout.
  client_options.total_timeout = options.timeout;
  client_options.max_response_bytes = 1 << 20;
  if (!options.ca_file.empty()) {
    std::ifstream in(options.ca_file, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return Error(ErrorCode::kInvalidArgument, "OTLP CA file: cannot read " + options.ca_file);
    }
    client_options.tls.ca_pem = pem.str();
  }
  auto client = http::NewClient(client_options);
  if (!client.ok()) return client.error().Wrap("OTLP endpoint");
  const std::chrono::milliseconds timeout = options.timeout;
  auto pipeline =
      std::make_shared<Pipeline>(std::move(options), prefix + "/v1/traces", std::move(*client),
                                 std::move(on_export), std::move(on_drop));
  return std::unique_ptr<Exporter>(new OtlpHttpExporter(std::move(pipeline), timeout));
}

}  // namespace plumbline::trace
