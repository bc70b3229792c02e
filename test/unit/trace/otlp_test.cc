// The OTLP/HTTP JSON encoding, field by field, as a collector reads it.
#include "trace/otlp.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace plumbline::trace {
namespace {

using std::chrono::nanoseconds;
using std::chrono::system_clock;

system_clock::time_point At(int64_t unix_nanos) {
  return system_clock::time_point(
      std::chrono::duration_cast<system_clock::duration>(nanoseconds(unix_nanos)));
}

SpanContext Context(const std::string& trace_id, const std::string& span_id) {
  SpanContext context;
  context.trace_id = trace_id;
  context.span_id = span_id;
  return context;
}

const std::string kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

SpanData Root() {
  SpanData span;
  span.name = "reconcile";
  span.context = Context(kTraceId, "00f067aa0ba902b7");
  span.parent_span_id = "";
  span.kind = SpanData::Kind::kServer;
  span.start = At(1700000000123456789);
  span.end = At(1700000001987654321);
  span.attributes = {{"app", std::string("team-a/web")},
                     {"objects", int64_t{42}},
                     {"dry_run", false},
                     {"big", int64_t{-9223372036854775807 - 1}}};
  span.links = {Context("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")};
  return span;
}

SpanData Child() {
  SpanData span;
  span.name = "apply";
  span.context = Context(kTraceId, "53995c3f42cd8ad8");
  span.parent_span_id = "00f067aa0ba902b7";
  span.kind = SpanData::Kind::kClient;
  span.start = At(1700000000200000000);
  span.end = At(1700000000300000000);
  span.error = true;
  span.status_message = "Deployment team-a/web: conflict";
  return span;
}

TEST(OtlpTest, EncodesAnExportTraceServiceRequest) {
  SpanData internal = Child();
  internal.kind = SpanData::Kind::kInternal;
  const Json request = EncodeOtlp(
      {Root(), Child(), internal},
      {{"service.name", std::string("plumbline")}, {"service.instance.count", int64_t{2}}});
  // Through text and back, as the collector gets it.
  const Json sent = Json::parse(request.dump());
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent["resourceSpans"].size(), 1u);
  const Json& resource_spans = sent["resourceSpans"][0];
  EXPECT_EQ(resource_spans["resource"], Json::parse(R"({"attributes": [
              {"key": "service.name", "value": {"stringValue": "plumbline"}},
              {"key": "service.instance.count", "value": {"intValue": "2"}}]})"));
  ASSERT_EQ(resource_spans["scopeSpans"].size(), 1u);
  const Json& scope_spans = resource_spans["scopeSpans"][0];
  EXPECT_EQ(scope_spans["scope"], Json::parse(R"({"name": "plumbline"})"));
  ASSERT_EQ(scope_spans["spans"].size(), 3u);

  EXPECT_EQ(scope_spans["spans"][0], Json::parse(R"({
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
    "spanId": "00f067aa0ba902b7",
    "name": "reconcile",
    "kind": 2,
    "startTimeUnixNano": "1700000000123456789",
    "endTimeUnixNano": "1700000001987654321",
    "attributes": [
      {"key": "app", "value": {"stringValue": "team-a/web"}},
      {"key": "objects", "value": {"intValue": "42"}},
      {"key": "dry_run", "value": {"boolValue": false}},
      {"key": "big", "value": {"intValue": "-9223372036854775808"}}],
    "status": {"code": 0},
    "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331"}]
  })"))
      << scope_spans["spans"][0].dump(2);

  EXPECT_EQ(scope_spans["spans"][1], Json::parse(R"({
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
    "spanId": "53995c3f42cd8ad8",
    "parentSpanId": "00f067aa0ba902b7",
    "name": "apply",
    "kind": 3,
    "startTimeUnixNano": "1700000000200000000",
    "endTimeUnixNano": "1700000000300000000",
    "attributes": [],
    "status": {"code": 2, "message": "Deployment team-a/web: conflict"}
  })"))
      << scope_spans["spans"][1].dump(2);
  EXPECT_EQ(scope_spans["spans"][2]["kind"], 1);
}

TEST(OtlpTest, NoSpansIsAnEmptyList) {
  const Json request = EncodeOtlp({}, {});
  EXPECT_EQ(request, Json::parse(R"({"resourceSpans": [{"resource": {"attributes": []},
    "scopeSpans": [{"scope": {"name": "plumbline"}, "spans": []}]}]})"));
}

TEST(OtlpTest, TextThatIsNotUtf8IsReplacedNotThrownOn) {
  SpanData span = Child();
  span.name = "render caf\xe9";
  span.status_message = "bad \xff\xfe byte";
  span.attributes = {{"commit.author", std::string("Ren\xe9 <r@x>")},
                     {"k\xc3", std::string("caf\xc3\xa9")}};
  const Json request = EncodeOtlp({span}, {{"service.name", std::string("plumb\x80line")}});
  std::string text;
  ASSERT_NO_THROW(text = request.dump());
  const Json sent = Json::parse(text);
  // at(): a field that is missing fails the test instead of reading past an array.
  const Json& encoded = sent.at(Json::json_pointer("/resourceSpans/0/scopeSpans/0/spans/0"));
  EXPECT_EQ(encoded.at("name"), "render caf\xef\xbf\xbd");
  EXPECT_EQ(encoded.at("status").at("message"), "bad \xef\xbf\xbd\xef\xbf\xbd byte");
  EXPECT_EQ(encoded.at(Json::json_pointer("/attributes/0/value/stringValue")),
            "Ren\xef\xbf\xbd <r@x>");
  EXPECT_EQ(encoded.at(Json::json_pointer("/attributes/1/key")), "k\xef\xbf\xbd");
  EXPECT_EQ(encoded.at(Json::json_pointer("/attributes/1/value/stringValue")), "caf\xc3\xa9")
      << "valid UTF-8 is kept";
  EXPECT_EQ(sent.at(Json::json_pointer("/resourceSpans/0/resource/attributes/0/value/stringValue")),
            "plumb\xef\xbf\xbdline");
}

TEST(OtlpTest, CredentialsInUrlsDoNotLeave) {
  SpanData span = Child();
  span.attributes = {{"repo", std::string("https://user:s3cret@git.example.com/team/app.git")}};
  span.status_message = "fetch https://x-token:s3cret@git.example.com/a.git: 401";
  const std::string text = EncodeOtlp({span}, {}).dump();
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_NE(text.find("https://***@git.example.com/team/app.git"), std::string::npos) << text;
}

}  // namespace
}  // namespace plumbline::trace
