// Trace ids and the W3C traceparent header: what is accepted, and every way a header is refused.
#include "trace/context.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace plumbline::trace {
namespace {

const std::string kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kSpanId = "00f067aa0ba902b7";

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST(TraceparentTest, ReadsTheIdsOfAVersion00Header) {
  for (const char* flags : {"01", "00", "ff"}) {
    auto context = ParseTraceparent("00-" + kTraceId + "-" + kSpanId + "-" + flags);
    ASSERT_TRUE(context.has_value()) << flags;
    EXPECT_EQ(context->trace_id, kTraceId);
    EXPECT_EQ(context->span_id, kSpanId);
    EXPECT_TRUE(context->valid());
  }
}

TEST(TraceparentTest, RefusesMalformedHeaders) {
  const std::string good = "00-" + kTraceId + "-" + kSpanId + "-01";
  ASSERT_TRUE(ParseTraceparent(good).has_value());
  const std::string bad[] = {
      "",
      good.substr(0, 54),                                        // one character short
      good + "-",                                                // version 00 has nothing more
      good + "-extra",                                           // ... not even fields
      good + " ",                                                // nor spaces
      " " + good,                                                //
      "00_" + kTraceId + "-" + kSpanId + "-01",                  // separators
      "00-" + kTraceId + "_" + kSpanId + "-01",                  //
      "00-" + kTraceId + "-" + kSpanId + "_01",                  //
      "00-" + kTraceId.substr(1) + "-0" + kSpanId + "-01",       // ids of the wrong lengths
      "00-" + kTraceId + "0-" + kSpanId.substr(1) + "-01",       //
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + kSpanId + "-01",  // uppercase trace id
      "00-4bf92f3577b34da6a3ce929d0e0e473A-" + kSpanId + "-01",  // one uppercase digit
      "00-" + kTraceId + "-00F067AA0BA902B7-01",                 // uppercase span id
      "00-" + kTraceId + "-" + kSpanId + "-0A",                  // uppercase flags
      "0A-" + kTraceId + "-" + kSpanId + "-01",                  // uppercase version
      "00-" + kTraceId + "-" + kSpanId + "-0g",                  // not hex
      "00-" + kTraceId + "-" + kSpanId + "-1",                   //
      "0x-" + kTraceId + "-" + kSpanId + "-01",                  //
      "00-4bf92f3577b34da6a3ce929d0e0e473g-" + kSpanId + "-01",  //
      "00-" + kTraceId + "-00f067aa0ba902bz-01",                 //
      "00-00000000000000000000000000000000-" + kSpanId + "-01",  // all-zero trace id
      "00-" + kTraceId + "-0000000000000000-01",                 // all-zero parent id
      "ff-" + kTraceId + "-" + kSpanId + "-01",                  // version ff is invalid
      "ff-" + kTraceId + "-" + kSpanId + "-01-more",             //
  };
  for (const std::string& header : bad) EXPECT_FALSE(ParseTraceparent(header)) << header;
}

TEST(TraceparentTest, ALaterVersionMayCarryMoreFields) {
  for (const std::string& header : {"01-" + kTraceId + "-" + kSpanId + "-01",
                                    "cc-" + kTraceId + "-" + kSpanId + "-01-what-ever",
                                    "fe-" + kTraceId + "-" + kSpanId + "-00-"}) {
    auto context = ParseTraceparent(header);
    ASSERT_TRUE(context.has_value()) << header;
    EXPECT_EQ(context->trace_id, kTraceId);
    EXPECT_EQ(context->span_id, kSpanId);
  }
  // What a later version appends must come after a '-'; its own fields still follow the rules.
  for (const std::string& header :
       {"cc-" + kTraceId + "-" + kSpanId + "-01x", "cc-" + kTraceId + "-" + kSpanId + "-0",
        "cc-" + kTraceId + "-0000000000000000-01-x"}) {
    EXPECT_FALSE(ParseTraceparent(header)) << header;
  }
}

TEST(TraceparentTest, FormatsVersion00SampledAndReadsBack) {
  SpanContext context;
  context.trace_id = kTraceId;
  context.span_id = kSpanId;
  const std::string header = FormatTraceparent(context);
  EXPECT_EQ(header, "00-" + kTraceId + "-" + kSpanId + "-01");
  auto back = ParseTraceparent(header);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->trace_id, kTraceId);
  EXPECT_EQ(back->span_id, kSpanId);
}

TEST(IdsTest, NewIdsAreLowercaseHexOfTheRightLengthAndDiffer) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 200; ++i) {
    const std::string trace_id = NewTraceId();
    const std::string span_id = NewSpanId();
    EXPECT_EQ(trace_id.size(), 32u);
    EXPECT_EQ(span_id.size(), 16u);
    EXPECT_TRUE(IsLowerHex(trace_id)) << trace_id;
    EXPECT_TRUE(IsLowerHex(span_id)) << span_id;
    SpanContext context;
    context.trace_id = trace_id;
    context.span_id = span_id;
    EXPECT_TRUE(context.valid());
    EXPECT_TRUE(ParseTraceparent(FormatTraceparent(context)).has_value());
    traces.insert(trace_id);
    spans.insert(span_id);
  }
  EXPECT_EQ(traces.size(), 200u);
  EXPECT_EQ(spans.size(), 200u);
}

TEST(IdsTest, ValidNeedsBothIdsWellFormedAndNotZero) {
  auto make = [](std::string trace_id, std::string span_id) {
    SpanContext context;
    context.trace_id = std::move(trace_id);
    context.span_id = std::move(span_id);
    return context;
  };
  EXPECT_TRUE(make(kTraceId, kSpanId).valid());
  EXPECT_FALSE(make("", "").valid());
  EXPECT_FALSE(make(kTraceId, "").valid());
  EXPECT_FALSE(make("", kSpanId).valid());
  EXPECT_FALSE(make(kTraceId.substr(1), kSpanId).valid());
  EXPECT_FALSE(make(kTraceId, kSpanId + "0").valid());
  EXPECT_FALSE(make("4BF92F3577B34DA6A3CE929D0E0E4736", kSpanId).valid());
  EXPECT_FALSE(make(kTraceId, "00f067aa0ba902bz").valid());
  EXPECT_FALSE(make(std::string(32, '0'), kSpanId).valid());
  EXPECT_FALSE(make(kTraceId, std::string(16, '0')).valid());
}

}  // namespace
}  // namespace plumbline::trace
