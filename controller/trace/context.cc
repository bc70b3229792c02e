#include "trace/context.h"

#include <openssl/rand.h>

#include <algorithm>
#include <random>

namespace plumbline::trace {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// `size` lowercase hex digits at `pos` of `text`, not all zero.
bool IsId(const std::string& text, size_t pos, size_t size) {
  if (pos + size > text.size()) return false;
  bool nonzero = false;
  for (size_t i = pos; i < pos + size; ++i) {
    if (!IsLowerHex(text[i])) return false;
    nonzero = nonzero || text[i] != '0';
  }
  return nonzero;
}

std::string RandomHex(size_t bytes) {
  static const char kHex[] = "0123456789abcdef";
  unsigned char buf[16];
  for (;;) {
    if (RAND_bytes(buf, static_cast<int>(bytes)) != 1) {
      // Ids need to be unique, not secret: without OpenSSL's generator, the system's will do.
      std::random_device device;
      for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<unsigned char>(device());
    }
    if (std::any_of(buf, buf + bytes, [](unsigned char b) { return b != 0; })) break;
  }
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out += kHex[buf[i] >> 4];
    out += kHex[buf[i] & 15];
  }
  return out;
}

}  // namespace

bool SpanContext::valid() const {
  return trace_id.size() == 32 && span_id.size() == 16 && IsId(trace_id, 0, 32) &&
         IsId(span_id, 0, 16);
}

std::string NewTraceId() { return RandomHex(16); }
std::string NewSpanId() { return RandomHex(8); }

std::optional<SpanContext> ParseTraceparent(const std::string& header) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2.
  constexpr size_t kSize = 55;
  if (header.size() < kSize) return std::nullopt;
  if (!IsLowerHex(header[0]) || !IsLowerHex(header[1])) return std::nullopt;
  const std::string version = header.substr(0, 2);
  if (version == "ff") return std::nullopt;
  // A later version may append fields; this version's part must still be intact.
  if (version == "00" ? header.size() != kSize : header.size() > kSize && header[kSize] != '-') {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  if (!IsId(header, 3, 32) || !IsId(header, 36, 16)) return std::nullopt;
  if (!IsLowerHex(header[53]) || !IsLowerHex(header[54])) return std::nullopt;
  SpanContext context;
  context.trace_id = header.substr(3, 32);
  context.span_id = header.substr(36, 16);
  return context;
}

std::string FormatTraceparent(const SpanContext& context) {
  return "00-" + context.trace_id + "-" + context.span_id + "-01";
}

}  // namespace plumbline::trace
