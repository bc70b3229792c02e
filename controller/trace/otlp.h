// Spans as OTLP/HTTP's JSON encoding of an ExportTraceServiceRequest
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids as hex strings, enums
// as integers, 64-bit numbers as decimal strings. Pure function, thread-safe.
#pragma once

#include <vector>

#include "common/json.h"
#include "trace/span.h"

namespace plumbline::trace {

// One resourceSpans entry with `resource`'s attributes (service.name, ...) and one scope,
// "plumbline", holding every span. Text goes through SafeText: credentials in URLs are removed
// and bytes that are not UTF-8 replaced, so the result always dumps without throwing.
Json EncodeOtlp(const std::vector<SpanData>& spans, const Attributes& resource);

}  // namespace plumbline::trace
