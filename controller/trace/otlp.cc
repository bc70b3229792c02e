#include "trace/otlp.h"

#include "common/redact.h"

namespace plumbline::trace {
namespace {

// OTLP's Span.SpanKind and Status.StatusCode.
constexpr int kKindInternal = 1;
constexpr int kKindServer = 2;
constexpr int kKindClient = 3;
constexpr int kStatusUnset = 0;
constexpr int kStatusError = 2;

int KindCode(SpanData::Kind kind) {
  switch (kind) {
    case SpanData::Kind::kServer:
      return kKindServer;
    case SpanData::Kind::kClient:
      return kKindClient;
    case SpanData::Kind::kInternal:
      break;
  }
  return kKindInternal;
}

std::string UnixNanos(std::chrono::system_clock::time_point t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

Json Value(const AttributeValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return {{"stringValue", SafeText(*s)}};
  // int64 is a string in protobuf's JSON mapping: JavaScript numbers cannot hold every one.
  if (const auto* i = std::get_if<int64_t>(&value)) return {{"intValue", std::to_string(*i)}};
  return {{"boolValue", std::get<bool>(value)}};
}

Json EncodeAttributes(const Attributes& attributes) {
  Json out = Json::array();
  for (const auto& attribute : attributes) {
    out.push_back({{"key", SafeText(attribute.first)}, {"value", Value(attribute.second)}});
  }
  return out;
}

Json EncodeSpan(const SpanData& span) {
  // Ids too: a SpanData may be built by hand, and nothing here may throw.
  Json out = {{"traceId", SafeText(span.context.trace_id)},
              {"spanId", SafeText(span.context.span_id)},
              {"name", SafeText(span.name)},
              {"kind", KindCode(span.kind)},
              {"startTimeUnixNano", UnixNanos(span.start)},
              {"endTimeUnixNano", UnixNanos(span.end)},
              {"attributes", EncodeAttributes(span.attributes)}};
  if (!span.parent_span_id.empty()) out["parentSpanId"] = SafeText(span.parent_span_id);
  // Unset, not Ok, for spans that did not fail: Ok is for an application to override an error.
  out["status"] = span.error
                      ? Json{{"code", kStatusError}, {"message", SafeText(span.status_message)}}
                      : Json{{"code", kStatusUnset}};
  if (!span.links.empty()) {
    Json links = Json::array();
    for (const SpanContext& link : span.links) {
      links.push_back({{"traceId", SafeText(link.trace_id)}, {"spanId", SafeText(link.span_id)}});
    }
    out["links"] = std::move(links);
  }
  return out;
}

}  // namespace

Json EncodeOtlp(const std::vector<SpanData>& spans, const Attributes& resource) {
  Json encoded = Json::array();
  for (const SpanData& span : spans) encoded.push_back(EncodeSpan(span));
  Json scope = {{"scope", {{"name", "plumbline"}}}, {"spans", std::move(encoded)}};
  Json resource_spans = {{"resource", {{"attributes", EncodeAttributes(resource)}}},
                         {"scopeSpans", Json::array({std::move(scope)})}};
  return {{"resourceSpans", Json::array({std::move(resource_spans)})}};
}

}  // namespace plumbline::trace
