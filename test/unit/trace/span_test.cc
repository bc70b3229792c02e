// Recording a trace: the root and its children, how a trace continues a caller's, errors, and
// that the spans leave once, when the trace ends.
#include "trace/span.h"

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "trace/exporter.h"

namespace plumbline::trace {
namespace {

class RecordingExporter : public Exporter {
 public:
  void Export(std::vector<SpanData> spans) override { exports.push_back(std::move(spans)); }
  std::vector<std::vector<SpanData>> exports;
};

SpanContext Context(const std::string& trace_id, const std::string& span_id) {
  SpanContext context;
  context.trace_id = trace_id;
  context.span_id = span_id;
  return context;
}

const AttributeValue* Find(const SpanData& span, const std::string& key) {
  for (const auto& attribute : span.attributes) {
    if (attribute.first == key) return &attribute.second;
  }
  return nullptr;
}

TEST(TraceTest, ARootWithoutParentStartsANewTraceAndIsExportedOnceOnEnd) {
  RecordingExporter exporter;
  std::string first_id;
  {
    Trace trace("reconcile", &exporter);
    first_id = trace.trace_id();
    EXPECT_TRUE(trace.root().valid());
    EXPECT_EQ(trace.root().trace_id, trace.trace_id());
    EXPECT_TRUE(exporter.exports.empty()) << "nothing leaves before the trace ends";
    trace.End();
    ASSERT_EQ(exporter.exports.size(), 1u);
    trace.End();
    EXPECT_EQ(trace.trace_id(), first_id) << "the ids stay readable after End";
  }  // the destructor ends it again: nothing more
  ASSERT_EQ(exporter.exports.size(), 1u);
  ASSERT_EQ(exporter.exports[0].size(), 1u);
  const SpanData& root = exporter.exports[0][0];
  EXPECT_EQ(root.name, "reconcile");
  EXPECT_EQ(root.context.trace_id, first_id);
  EXPECT_EQ(root.parent_span_id, "");
  EXPECT_EQ(root.kind, SpanData::Kind::kInternal);
  EXPECT_FALSE(root.error);
  EXPECT_TRUE(root.links.empty());
  EXPECT_LE(root.start, root.end);
  EXPECT_GT(root.start.time_since_epoch().count(), 0);

  Trace other("reconcile", &exporter);
  EXPECT_NE(other.trace_id(), first_id);
}

TEST(TraceTest, TheDestructorEndsAndExports) {
  RecordingExporter exporter;
  { Trace trace("reconcile", &exporter); }
  EXPECT_EQ(exporter.exports.size(), 1u);
}

TEST(TraceTest, AParentContinuesItsTrace) {
  RecordingExporter exporter;
  const SpanContext parent = Context("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
  {
    Trace trace("webhook", &exporter, parent, {}, SpanData::Kind::kServer);
    EXPECT_EQ(trace.trace_id(), parent.trace_id);
    EXPECT_EQ(trace.root().trace_id, parent.trace_id);
    EXPECT_NE(trace.root().span_id, parent.span_id);
    EXPECT_TRUE(trace.root().valid());
  }
  ASSERT_EQ(exporter.exports.size(), 1u);
  const SpanData& root = exporter.exports[0][0];
  EXPECT_EQ(root.context.trace_id, parent.trace_id);
  EXPECT_EQ(root.parent_span_id, parent.span_id);
  EXPECT_EQ(root.kind, SpanData::Kind::kServer);
}

TEST(TraceTest, AnInvalidParentStartsANewTrace) {
  RecordingExporter exporter;
  { Trace trace("reconcile", &exporter, Context(std::string(32, '0'), "00f067aa0ba902b7")); }
  ASSERT_EQ(exporter.exports.size(), 1u);
  const SpanData& root = exporter.exports[0][0];
  EXPECT_TRUE(root.context.valid());
  EXPECT_EQ(root.parent_span_id, "");
}

TEST(TraceTest, LinksAreKeptOnTheRootAndInvalidOnesLeftOut) {
  RecordingExporter exporter;
  const SpanContext a = Context("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
  const SpanContext b = Context("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
  { Trace trace("reconcile", &exporter, std::nullopt, {a, Context("zz", "yy"), b}); }
  ASSERT_EQ(exporter.exports.size(), 1u);
  const SpanData& root = exporter.exports[0][0];
  ASSERT_EQ(root.links.size(), 2u);
  EXPECT_EQ(root.links[0].trace_id, a.trace_id);
  EXPECT_EQ(root.links[0].span_id, a.span_id);
  EXPECT_EQ(root.links[1].trace_id, b.trace_id);
  EXPECT_EQ(root.links[1].span_id, b.span_id);
  EXPECT_EQ(root.parent_span_id, "") << "a link is not a parent";
  EXPECT_NE(root.context.trace_id, a.trace_id);
}

TEST(TraceTest, ChildSpansHangOffTheRootWithTheirOwnAttributesAndErrors) {
  RecordingExporter exporter;
  std::string root_span_id;
  {
    Trace trace("reconcile", &exporter);
    root_span_id = trace.root().span_id;
    trace.SetAttribute("app", std::string("team-a/web"));
    trace.SetAttribute("objects", int64_t{3});
    trace.SetAttribute("objects", int64_t{4});  // replaces
    const size_t fetch = trace.StartSpan("fetch");
    const size_t render = trace.StartSpan("render");
    trace.SetAttribute(fetch, "commit", std::string("abc123"));
    trace.SetAttribute(render, "cached", true);
    trace.EndSpan(fetch);
    trace.EndSpan(render, "kustomize failed");
    trace.EndSpan(render, "");     // a span ends once: the error stays
    trace.EndSpan(fetch, "late");  // ... and no error comes after
    trace.EndSpan(99, "no such span");
    trace.SetAttribute(99, "ignored", true);
    trace.StartSpan("apply");  // left open: End ends it
    trace.SetError("render failed");
  }
  ASSERT_EQ(exporter.exports.size(), 1u);
  const std::vector<SpanData>& spans = exporter.exports[0];
  ASSERT_EQ(spans.size(), 4u);
  const SpanData& root = spans[0];
  EXPECT_EQ(root.name, "reconcile");
  EXPECT_TRUE(root.error);
  EXPECT_EQ(root.status_message, "render failed");
  ASSERT_EQ(root.attributes.size(), 2u);
  EXPECT_EQ(root.attributes[0].first, "app");
  EXPECT_EQ(std::get<std::string>(root.attributes[0].second), "team-a/web");
  EXPECT_EQ(root.attributes[1].first, "objects");
  EXPECT_EQ(std::get<int64_t>(root.attributes[1].second), 4);

  std::set<std::string> span_ids = {root.context.span_id};
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i].context.trace_id, root.context.trace_id) << spans[i].name;
    EXPECT_EQ(spans[i].parent_span_id, root_span_id) << spans[i].name;
    EXPECT_EQ(spans[i].kind, SpanData::Kind::kInternal) << spans[i].name;
    EXPECT_TRUE(spans[i].context.valid()) << spans[i].name;
    EXPECT_LE(root.start, spans[i].start) << spans[i].name;
    EXPECT_LE(spans[i].start, spans[i].end) << spans[i].name;
    EXPECT_LE(spans[i].end, root.end) << spans[i].name;
    span_ids.insert(spans[i].context.span_id);
  }
  EXPECT_EQ(span_ids.size(), 4u) << "every span has its own id";

  const SpanData& fetch = spans[1];
  EXPECT_EQ(fetch.name, "fetch");
  EXPECT_FALSE(fetch.error);
  EXPECT_EQ(fetch.status_message, "");
  ASSERT_NE(Find(fetch, "commit"), nullptr);
  EXPECT_EQ(std::get<std::string>(*Find(fetch, "commit")), "abc123");
  EXPECT_EQ(Find(fetch, "cached"), nullptr);

  const SpanData& render = spans[2];
  EXPECT_EQ(render.name, "render");
  EXPECT_TRUE(render.error);
  EXPECT_EQ(render.status_message, "kustomize failed");
  ASSERT_NE(Find(render, "cached"), nullptr);
  EXPECT_TRUE(std::get<bool>(*Find(render, "cached")));

  const SpanData& apply = spans[3];
  EXPECT_EQ(apply.name, "apply");
  EXPECT_FALSE(apply.error);
  EXPECT_EQ(apply.end, root.end) << "a span left open ends with the trace";
}

TEST(TraceTest, SpansAfterTheEndAreNotRecorded) {
  RecordingExporter exporter;
  Trace trace("reconcile", &exporter);
  trace.End();
  const size_t late = trace.StartSpan("late");
  EXPECT_EQ(late, Trace::kNoSpan);
  trace.SetAttribute(late, "k", true);
  trace.EndSpan(late, "x");
  trace.End();
  ASSERT_EQ(exporter.exports.size(), 1u);
  EXPECT_EQ(exporter.exports[0].size(), 1u);
}

TEST(TraceTest, WithoutAnExporterItStillHasIds) {
  Trace trace("reconcile", nullptr);
  EXPECT_TRUE(trace.root().valid());
  trace.EndSpan(trace.StartSpan("phase"), "failed");
  trace.End();
}

TEST(ScopedSpanTest, EndsWithItsScopeAndFailMarksItAnError) {
  RecordingExporter exporter;
  {
    Trace trace("reconcile", &exporter);
    {
      ScopedSpan ok(trace, "fetch");
      ok.SetAttribute("commit", std::string("abc"));
    }
    {
      ScopedSpan failed(trace, "apply");
      failed.Fail("first");
      failed.Fail("conflict");
    }
    ScopedSpan open(trace, "prune");
    // So that a span ended by its scope ends strictly before the root.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    trace.End();
  }
  ASSERT_EQ(exporter.exports.size(), 1u);
  const std::vector<SpanData>& spans = exporter.exports[0];
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[1].name, "fetch");
  EXPECT_FALSE(spans[1].error);
  ASSERT_NE(Find(spans[1], "commit"), nullptr);
  EXPECT_LT(spans[1].end, spans[0].end) << "ended by its scope, not by the trace";
  EXPECT_EQ(spans[2].name, "apply");
  EXPECT_TRUE(spans[2].error);
  EXPECT_EQ(spans[2].status_message, "conflict");
  EXPECT_LT(spans[2].end, spans[0].end);
  EXPECT_EQ(spans[3].name, "prune");
  EXPECT_EQ(spans[3].end, spans[0].end);
}

}  // namespace
}  // namespace plumbline::trace
