// Traces end to end: the real `plumbline run` binary exporting to a real OpenTelemetry
// Collector (pinned, hack/build-otelcol.sh) whose file exporter the test reads back. One trace
// per reconcile, a span per phase; the trace id is the one in the status, the Event and the log;
// a failed render marks its span; a webhook's traceparent links the push to the reconcile.
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "http/http_client.h"
#include "integration/process/process_fixture.h"
#include "support/otelcol.h"
#include "webhook/signature.h"

namespace plumbline {
namespace {

using testing::Eventually;

class TraceTest : public testing::ProcessTest {
 protected:
  void SetUp() override {
    ProcessTest::SetUp();
    collector_ = std::make_unique<testing::OtelCollector>(dir_ + "/otelcol", dir_ + "/otelcol.log");
    ASSERT_TRUE(collector_->Start()) << testing::ReadFile(dir_ + "/otelcol.log");
  }
  void TearDown() override {
    collector_.reset();
    ProcessTest::TearDown();
  }

  std::vector<Json> SpansOf(const std::string& trace_id) {
    std::vector<Json> out;
    for (const Json& s : collector_->Spans()) {
      if (s.value("traceId", "") == trace_id) out.push_back(s);
    }
    return out;
  }
  std::string TraceIdInStatus() {
    auto app = client_->Get(apps_, namespace_, "web");
    if (!app.ok()) return "";
    return (*app).value("status", Json::object()).value("lastReconcileTraceID", "");
  }
  // The span named `name` of a trace, null when none.
  static Json Named(const std::vector<Json>& spans, const std::string& name) {
    for (const Json& s : spans) {
      if (s.value("name", "") == name) return s;
    }
    return nullptr;
  }

  std::unique_ptr<testing::OtelCollector> collector_;
};

TEST_F(TraceTest, EachReconcileIsATraceWithASpanPerPhaseAndItsIdIsInStatusEventsAndLogs) {
  testing::GitRepo repo(dir_ + "/repos/traced");
  const std::string v1 = CommitConfig(repo, "1");
  StartReplica("a", {"--otlp-endpoint", collector_->Endpoint()});
  ApplyApp(daemon_->Url("traced"), "1s");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v1); }, std::chrono::seconds(60))) << Ready();

  // The status names the trace of the reconcile that applied v1 (the last that changed it).
  const std::string id = TraceIdInStatus();
  ASSERT_EQ(id.size(), 32u) << id;
  std::vector<Json> spans;
  ASSERT_TRUE(Eventually([&] {
    spans = SpansOf(id);
    return !Named(spans, "status").is_null();
  })) << testing::ReadFile(dir_ + "/otelcol.log");
  const Json root = Named(spans, "reconcile");
  ASSERT_FALSE(root.is_null());
  EXPECT_EQ(root.value("parentSpanId", "x"), "");
  EXPECT_EQ(root.value("serviceName", ""), "plumbline");
  EXPECT_EQ(root["attributes"].value("plumbline.application", ""), namespace_ + "/web");
  EXPECT_EQ(root["attributes"].value("plumbline.revision", ""), v1);
  for (const char* phase : {"fetch", "render", "plan", "apply", "prune", "health", "status"}) {
    const Json span = Named(spans, phase);
    ASSERT_FALSE(span.is_null()) << phase;
    EXPECT_EQ(span.value("parentSpanId", ""), root.value("spanId", "")) << phase;
    EXPECT_NE(span["status"].value("code", -1), 2) << phase;
  }
  EXPECT_EQ(Named(spans, "apply")["attributes"].value("plumbline.created", ""), "1");
  EXPECT_EQ(Named(spans, "fetch")["attributes"].value("plumbline.revision", ""), v1);
  // One trace per reconcile: each root span is its own trace.
  std::set<std::string> roots;
  for (const Json& s : collector_->Spans()) {
    if (s.value("name", "") != "reconcile") continue;
    EXPECT_TRUE(roots.insert(s.value("traceId", "")).second) << "two roots in one trace";
  }

  // The same id in the log line and on the Event of that reconcile.
  EXPECT_NE(replicas_["a"]->Log().find(id), std::string::npos);
  auto events = client_->List(*client_->Resource({"", "v1", "Event"}), namespace_);
  ASSERT_TRUE(events.ok());
  bool annotated = false;
  for (const Json& e : events->items) {
    if (e.value("reason", "") != "ReconciliationSucceeded") continue;
    annotated |=
        e["metadata"].value("annotations", Json::object()).value("plumbline.dev/trace-id", "") ==
        id;
  }
  EXPECT_TRUE(annotated);

  // A render that fails: its span is an error with the reason, and so is the trace's root.
  repo.Write("app/broken.yaml", "kind: [unclosed\n");
  const std::string bad = repo.Commit("broken");
  ASSERT_TRUE(
      Eventually([&] { return Ready().rfind("RenderFailed", 0) == 0; }, std::chrono::seconds(60)))
      << Ready();
  const std::string failed_id = TraceIdInStatus();
  ASSERT_NE(failed_id, id);
  ASSERT_TRUE(Eventually([&] { return !Named(SpansOf(failed_id), "reconcile").is_null(); }));
  spans = SpansOf(failed_id);
  const Json render = Named(spans, "render");
  ASSERT_FALSE(render.is_null());
  EXPECT_EQ(render["status"].value("code", 0), 2);
  EXPECT_NE(render["status"].value("message", "").find("RenderFailed"), std::string::npos);
  EXPECT_EQ(Named(spans, "reconcile")["status"].value("code", 0), 2);
  EXPECT_TRUE(Named(spans, "apply").is_null());  // nothing past the failed phase
  EXPECT_NE(replicas_["a"]->Log().find(failed_id), std::string::npos);
}

TEST_F(TraceTest, AWebhooksTraceparentLinksThePushToTheReconcile) {
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-linked");
  const std::string v1 = CommitConfig(repo, "1");
  const int port = testing::FreePort();
  testing::WriteFile(dir_ + "/secret", "push-secret\n");
  StartReplica("a",
               {"--otlp-endpoint", collector_->Endpoint(), "--webhook-addr",
                "127.0.0.1:" + std::to_string(port), "--webhook-secret-file", dir_ + "/secret"});
  ApplyApp(daemon_->Url(namespace_ + "-linked"), "1h");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v1); }, std::chrono::seconds(60))) << Ready();
  ASSERT_TRUE(Eventually([&] { return testing::PortOpen(port); }));

  const std::string v2 = CommitConfig(repo, "2");
  const std::string push_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string push_span = "00f067aa0ba902b7";
  const std::string body =
      Json{{"repoURL", daemon_->Url(namespace_ + "-linked")}, {"revision", "main"}}.dump();
  auto http =
      http::NewClient({"http://127.0.0.1:" + std::to_string(port), {}, std::chrono::seconds(60)});
  ASSERT_TRUE(http.ok());
  http::Request r;
  r.method = "POST";
  r.path = "/hooks/generic";
  r.headers = {{"X-Signature", "sha256=" + webhook::HmacSha256Hex("push-secret", body)},
               {"traceparent", "00-" + push_trace + "-" + push_span + "-01"}};
  r.body = body;
  r.content_type = "application/json";
  auto resp = (*http)->Send(r);
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(resp->status, 202) << resp->body;
  ASSERT_TRUE(Eventually([&] { return AppliedAt(v2); }, std::chrono::seconds(60))) << Ready();

  // The reconcile that applied v2 is its own trace, linked to the push's span.
  const std::string id = TraceIdInStatus();
  ASSERT_NE(id, push_trace);
  ASSERT_TRUE(Eventually([&] { return !Named(SpansOf(id), "reconcile").is_null(); }));
  const Json root = Named(SpansOf(id), "reconcile");
  ASSERT_EQ(root["links"].size(), 1u) << root.dump();
  EXPECT_EQ(root["links"][0].value("traceId", ""), push_trace);
  EXPECT_EQ(root["links"][0].value("spanId", ""), push_span);
}

}  // namespace
}  // namespace plumbline
