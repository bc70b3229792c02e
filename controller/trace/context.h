// Which trace and span a piece of work belongs to, and the W3C traceparent header that carries
// it between processes (https://www.w3.org/TR/trace-context/). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>

namespace plumbline::trace {

struct SpanContext {
  std::string trace_id;  // 32 lowercase hex digits
  std::string span_id;   // 16 lowercase hex digits
  // Both ids of the right form and neither all zero (the spec's "invalid" ids).
  bool valid() const;
};

// Random ids from OpenSSL's generator; never all zero.
std::string NewTraceId();
std::string NewSpanId();

// The context a traceparent header names, or nullopt when the header is not one (the caller then
// starts a new trace, as the spec asks). Version 00 must be exactly
// "00-<32 hex>-<16 hex>-<2 hex>"; a later version may carry more fields after a '-'; version ff
// is invalid. Lowercase hex only; all-zero ids are refused.
std::optional<SpanContext> ParseTraceparent(const std::string& header);

// "00-<trace id>-<span id>-01": version 00, sampled (what is recorded is exported).
std::string FormatTraceparent(const SpanContext& context);

}  // namespace plumbline::trace
