#include "trace/span.h"

#include "common/clock.h"
#include "trace/exporter.h"

namespace plumbline::trace {
namespace {

// As OpenTelemetry asks: setting a key again replaces its value.
void Set(Attributes& attributes, std::string key, AttributeValue value) {
  for (auto& [k, v] : attributes) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  attributes.emplace_back(std::move(key), std::move(value));
}

}  // namespace

Trace::Trace(std::string root_name, Exporter* exporter, std::optional<SpanContext> parent,
             std::vector<SpanContext> links, SpanData::Kind kind)
    : exporter_(exporter) {
  root_.name = std::move(root_name);
  if (parent && parent->valid()) {
    root_.context.trace_id = parent->trace_id;
    root_.parent_span_id = parent->span_id;
  } else {
    root_.context.trace_id = NewTraceId();
  }
  root_.context.span_id = NewSpanId();
  root_.kind = kind;
  // An invalid link (from a malformed header) would only make the collector refuse the span.
  for (SpanContext& link : links) {
    if (link.valid()) root_.links.push_back(std::move(link));
  }
  root_.start = Clock::Real().WallNow();
}

Trace::~Trace() { End(); }

void Trace::SetAttribute(std::string key, AttributeValue value) {
  Set(root_.attributes, std::move(key), std::move(value));
}

void Trace::SetError(std::string message) {
  root_.error = true;
  root_.status_message = std::move(message);
}

size_t Trace::StartSpan(std::string name) {
  if (ended_) return kNoSpan;
  Child child;
  child.data.name = std::move(name);
  child.data.context.trace_id = root_.context.trace_id;
  child.data.context.span_id = NewSpanId();
  child.data.parent_span_id = root_.context.span_id;
  child.data.start = Clock::Real().WallNow();
  children_.push_back(std::move(child));
  return children_.size() - 1;
}

void Trace::SetAttribute(size_t span, std::string key, AttributeValue value) {
  if (span >= children_.size()) return;
  Set(children_[span].data.attributes, std::move(key), std::move(value));
}

void Trace::EndSpan(size_t span, const std::string& error) {
  if (span >= children_.size() || !children_[span].open) return;
  Child& child = children_[span];
  child.open = false;
  child.data.end = Clock::Real().WallNow();
  if (!error.empty()) {
    child.data.error = true;
    child.data.status_message = error;
  }
}

void Trace::End() {
  if (ended_) return;
  ended_ = true;
  const auto now = Clock::Real().WallNow();
  root_.end = now;
  std::vector<SpanData> spans;
  spans.reserve(children_.size() + 1);
  spans.push_back(std::move(root_));
  for (Child& child : children_) {
    if (child.open) child.data.end = now;
    spans.push_back(std::move(child.data));
  }
  children_.clear();
  // What trace_id() and root() return stays readable after the spans are handed over.
  root_ = SpanData();
  root_.context = spans.front().context;
  if (exporter_ != nullptr) exporter_->Export(std::move(spans));
}

ScopedSpan::ScopedSpan(Trace& trace, std::string name)
    : trace_(trace), span_(trace.StartSpan(std::move(name))) {}

ScopedSpan::~ScopedSpan() { trace_.EndSpan(span_, error_); }

void ScopedSpan::SetAttribute(std::string key, AttributeValue value) {
  trace_.SetAttribute(span_, std::move(key), std::move(value));
}

void ScopedSpan::Fail(std::string error) { error_ = std::move(error); }

}  // namespace plumbline::trace
