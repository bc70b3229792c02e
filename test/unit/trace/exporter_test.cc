// The OTLP/HTTP exporter against a real local HTTP server playing the collector: batching,
// retries, and that neither a hanging collector nor a full queue ever holds up Export.
#include "trace/exporter.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/json.h"
#include "http/server.h"

namespace plumbline::trace {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Polls `done` until it holds or 10 s pass.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// What the exporter reported. Shared with the callbacks, so that a callback that came too late
// is seen by the test instead of touching a dead object.
struct Reports {
  std::mutex mu;
  std::vector<std::pair<size_t, bool>> exports;
  size_t dropped = 0;

  size_t Exported(bool ok) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& [spans, result] : exports) n += result == ok ? spans : 0;
    return n;
  }
  size_t Batches() {
    std::lock_guard<std::mutex> lock(mu);
    return exports.size();
  }
  size_t Dropped() {
    std::lock_guard<std::mutex> lock(mu);
    return dropped;
  }
};

SpanData Span(const std::string& name) {
  SpanData span;
  span.name = name;
  span.context.trace_id = NewTraceId();
  span.context.span_id = NewSpanId();
  span.start = std::chrono::system_clock::now();
  span.end = span.start;
  return span;
}

std::vector<SpanData> Spans(const std::vector<std::string>& names) {
  std::vector<SpanData> spans;
  for (const std::string& name : names) spans.push_back(Span(name));
  return spans;
}

// The names of the spans in an OTLP request body.
std::vector<std::string> Names(const std::string& body) {
  std::vector<std::string> names;
  const Json request = Json::parse(body, nullptr, false);
  if (request.is_discarded()) return {"<not JSON>"};
  for (const Json& resource : request.value("resourceSpans", Json::array())) {
    for (const Json& scope : resource.value("scopeSpans", Json::array())) {
      for (const Json& span : scope.value("spans", Json::array())) {
        names.push_back(span.value("name", ""));
      }
    }
  }
  return names;
}

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto handler = [this](const http::ServerRequest& request) {
      std::unique_lock<std::mutex> lock(mu_);
      requests_.push_back(request);
      cv_.notify_all();
      cv_.wait(lock, [this] { return !hang_; });
      int status = 200;
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.erase(statuses_.begin());
      }
      return http::ServerResponse{status, "{}", "application/json"};
    };
    auto server =
        http::Serve("127.0.0.1:0", {{"/v1/traces", handler}, {"/otel/v1/traces", handler}});
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
  }
  void TearDown() override {
    Release();
    server_.reset();
  }

  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  OtlpHttpOptions Options() const {
    OtlpHttpOptions options;
    options.endpoint = Endpoint();
    options.flush_interval = milliseconds(20);
    options.timeout = std::chrono::seconds(5);
    options.resource = {{"service.name", std::string("plumbline")}};
    return options;
  }

  std::unique_ptr<Exporter> NewExporter(const OtlpHttpOptions& options) {
    auto exporter = NewOtlpHttpExporter(
        options,
        [reports = reports_](size_t spans, bool ok) {
          std::lock_guard<std::mutex> lock(reports->mu);
          reports->exports.emplace_back(spans, ok);
        },
        [reports = reports_](size_t spans) {
          std::lock_guard<std::mutex> lock(reports->mu);
          reports->dropped += spans;
        });
    EXPECT_TRUE(exporter.ok()) << exporter.error().message();
    return exporter.ok() ? std::move(*exporter) : nullptr;
  }

  // Answers the next requests with these statuses, then 200.
  void AnswerWith(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_ = std::move(statuses);
  }
  // Requests from now on wait in the handler until Release.
  void Hang() {
    std::lock_guard<std::mutex> lock(mu_);
    hang_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hang_ = false;
    cv_.notify_all();
  }
  std::vector<http::ServerRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t RequestCount() { return Requests().size(); }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<http::ServerRequest> requests_;
  std::vector<int> statuses_;
  bool hang_ = false;
  std::unique_ptr<http::Server> server_;
  std::shared_ptr<Reports> reports_ = std::make_shared<Reports>();
};

TEST_F(ExporterTest, PostsFullBatchesAsJsonToV1Traces) {
  OtlpHttpOptions options = Options();
  options.flush_interval = std::chrono::minutes(10);  // only a full batch goes before the end
  options.max_batch_spans = 4;
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a1", "a2"}));
  exporter->Export(Spans({"b1", "b2"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Batches() == 1; }));
  exporter->Export(Spans({"c1"}));
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_EQ(RequestCount(), 1u) << "a batch that is not full waits for the flush interval";

  const http::ServerRequest request = Requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/traces");
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  EXPECT_EQ(Names(request.body), (std::vector<std::string>{"a1", "a2", "b1", "b2"}));
  const Json body = Json::parse(request.body);
  EXPECT_EQ(body.at(Json::json_pointer("/resourceSpans/0/resource/attributes")),
            Json::parse(R"([{"key": "service.name", "value": {"stringValue": "plumbline"}}])"));

  exporter.reset();  // posts what is queued
  ASSERT_EQ(RequestCount(), 2u);
  EXPECT_EQ(Names(Requests()[1].body), (std::vector<std::string>{"c1"}));
  std::lock_guard<std::mutex> lock(reports_->mu);
  EXPECT_EQ(reports_->exports, (std::vector<std::pair<size_t, bool>>{{4, true}, {1, true}}));
  EXPECT_EQ(reports_->dropped, 0u);
}

TEST_F(ExporterTest, ABatchThatIsNotFullGoesAfterTheFlushInterval) {
  OtlpHttpOptions options = Options();
  options.flush_interval = milliseconds(300);
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  const auto start = steady_clock::now();
  exporter->Export(Spans({"a"}));
  exporter->Export(Spans({"b"}));
  ASSERT_TRUE(WaitFor([&] { return RequestCount() == 1; }));
  EXPECT_GE(steady_clock::now() - start, milliseconds(290));
  EXPECT_EQ(Names(Requests()[0].body), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Exported(true) == 2; }));
}

TEST_F(ExporterTest, ABatchLargerThanTheLimitGoesInSeveralPosts) {
  OtlpHttpOptions options = Options();
  options.max_batch_spans = 2;
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a", "b", "c", "d", "e"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Exported(true) == 5; }));
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Names(requests[0].body), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Names(requests[1].body), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(Names(requests[2].body), (std::vector<std::string>{"e"}));
}

TEST_F(ExporterTest, AServerErrorIsRetriedWithTheSameBody) {
  AnswerWith({500, 503});
  auto exporter = NewExporter(Options());
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Batches() == 1; }));
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].body, requests[0].body);
  EXPECT_EQ(requests[2].body, requests[0].body);
  EXPECT_EQ(reports_->Exported(true), 1u);
  EXPECT_EQ(reports_->Exported(false), 0u);
}

TEST_F(ExporterTest, RetriesAreBoundedThenTheBatchIsGivenUp) {
  AnswerWith({500, 500, 500, 500, 500, 500});
  auto exporter = NewExporter(Options());
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a", "b"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Batches() == 1; }));
  EXPECT_EQ(reports_->Exported(false), 2u);
  std::this_thread::sleep_for(milliseconds(600));  // longer than any backoff
  EXPECT_EQ(RequestCount(), 3u) << "one post and two retries";
  // The exporter goes on with the next batch.
  AnswerWith({});
  exporter->Export(Spans({"c"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Exported(true) == 1; }));
}

TEST_F(ExporterTest, ARefusalIsNotRetried) {
  AnswerWith({400});
  auto exporter = NewExporter(Options());
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Batches() == 1; }));
  EXPECT_EQ(reports_->Exported(false), 1u);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(RequestCount(), 1u);
}

TEST_F(ExporterTest, APostThatGetsNoAnswerIsRetried) {
  Hang();
  OtlpHttpOptions options = Options();
  options.timeout = milliseconds(300);
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a"}));
  ASSERT_TRUE(WaitFor([&] { return RequestCount() == 2; })) << "the post that timed out, again";
  Release();
  ASSERT_TRUE(WaitFor([&] { return reports_->Batches() == 1; }));
  EXPECT_EQ(reports_->Exported(true), 1u);
  EXPECT_EQ(Requests()[1].body, Requests()[0].body);
}

TEST_F(ExporterTest, ACollectorThatIsNotThereFailsTheBatch) {
  OtlpHttpOptions options = Options();
  options.endpoint = "http://127.0.0.1:1";
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Batches() == 1; }));
  EXPECT_EQ(reports_->Exported(false), 1u);
}

TEST_F(ExporterTest, AHangingCollectorDoesNotHoldUpExport) {
  Hang();
  auto exporter = NewExporter(Options());
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"first"}));
  ASSERT_TRUE(WaitFor([&] { return RequestCount() == 1; }));  // the post now hangs
  const auto start = steady_clock::now();
  for (int i = 0; i < 200; ++i) exporter->Export(Spans({"more"}));
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(reports_->Batches(), 0u);
  Release();
  ASSERT_TRUE(WaitFor([&] { return reports_->Exported(true) == 201; }));
  EXPECT_EQ(reports_->Dropped(), 0u);
}

TEST_F(ExporterTest, TheDestructorWaitsAtMostTheTimeoutThenCountsTheRestDropped) {
  Hang();
  OtlpHttpOptions options = Options();
  options.timeout = milliseconds(500);
  options.max_batch_spans = 1;
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"first"}));
  ASSERT_TRUE(WaitFor([&] { return RequestCount() == 1; }));
  for (const char* name : {"second", "third", "fourth"}) exporter->Export(Spans({name}));
  // The first post times out (500 ms) halfway through the destructor's wait, and the second
  // hangs past its end. Posting every batch to its own timeout would take 1750 ms.
  std::this_thread::sleep_for(milliseconds(250));
  const auto start = steady_clock::now();
  exporter.reset();
  const auto took = steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(450));
  EXPECT_LT(took, milliseconds(1200));
  EXPECT_EQ(RequestCount(), 2u);
  EXPECT_EQ(reports_->Exported(false), 1u);
  EXPECT_EQ(reports_->Dropped(), 3u) << "the post left hanging and the two still queued";
  // The post left behind ends on its own; it reports nothing to an owner that is gone.
  Release();
  std::this_thread::sleep_for(milliseconds(800));
  EXPECT_EQ(RequestCount(), 2u);
  EXPECT_EQ(reports_->Batches(), 1u);
  EXPECT_EQ(reports_->Exported(true), 0u);
  EXPECT_EQ(reports_->Dropped(), 3u);
}

TEST_F(ExporterTest, AFullQueueDropsWholeExportsAndCountsThem) {
  Hang();
  OtlpHttpOptions options = Options();
  options.max_queued_spans = 5;
  options.max_batch_spans = 1;
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"in flight"}));
  ASSERT_TRUE(WaitFor([&] { return RequestCount() == 1; }));
  exporter->Export(Spans({"q1", "q2", "q3"}));
  exporter->Export(Spans({"x1", "x2", "x3"}));  // 6 > 5: dropped whole
  EXPECT_EQ(reports_->Dropped(), 3u);
  exporter->Export(Spans({"q4", "q5"}));
  exporter->Export(Spans({"x4"}));
  EXPECT_EQ(reports_->Dropped(), 4u);
  Release();
  ASSERT_TRUE(WaitFor([&] { return reports_->Exported(true) == 6; }));
  std::vector<std::string> received;
  for (const auto& request : Requests()) {
    for (const std::string& name : Names(request.body)) received.push_back(name);
  }
  EXPECT_EQ(received, (std::vector<std::string>{"in flight", "q1", "q2", "q3", "q4", "q5"}));
}

TEST_F(ExporterTest, AnEndpointWithAPathGetsV1TracesAppended) {
  OtlpHttpOptions options = Options();
  options.endpoint = Endpoint() + "/otel/";
  auto exporter = NewExporter(options);
  ASSERT_NE(exporter, nullptr);
  exporter->Export(Spans({"a"}));
  ASSERT_TRUE(WaitFor([&] { return reports_->Exported(true) == 1; }));
  EXPECT_EQ(Requests()[0].path, "/otel/v1/traces");
}

TEST(ExporterOptionsTest, RefusesWhatCannotWork) {
  auto with = [](const std::function<void(OtlpHttpOptions&)>& change) {
    OtlpHttpOptions options;
    options.endpoint = "http://otel-collector:4318";
    change(options);
    return NewOtlpHttpExporter(options).ok();
  };
  EXPECT_TRUE(with([](OtlpHttpOptions&) {}));
  EXPECT_TRUE(with([](OtlpHttpOptions& o) { o.endpoint = "https://otel.example.com/prefix"; }));
  for (const char* endpoint : {"", "otel-collector:4318", "ftp://otel:4318", "http://",
                               "http:///v1", "http://otel:4318/x?y=1", "http://otel:4318/#x"}) {
    EXPECT_FALSE(with([&](OtlpHttpOptions& o) { o.endpoint = endpoint; })) << endpoint;
  }
  EXPECT_FALSE(with([](OtlpHttpOptions& o) { o.max_batch_spans = 0; }));
  EXPECT_FALSE(with([](OtlpHttpOptions& o) { o.max_queued_spans = 0; }));
  EXPECT_FALSE(with([](OtlpHttpOptions& o) { o.flush_interval = milliseconds(0); }));
  EXPECT_FALSE(with([](OtlpHttpOptions& o) { o.timeout = milliseconds(0); }));
  EXPECT_FALSE(with([](OtlpHttpOptions& o) { o.ca_file = "/nonexistent/ca.crt"; }));
}

}  // namespace
}  // namespace plumbline::trace
