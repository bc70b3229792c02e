// Spans recorded while the controller works: one Trace per unit of work (a reconcile), its root
// span, and child spans for the phases inside it. When the Trace ends, its spans go to an
// Exporter in one call.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "trace/context.h"

namespace plumbline::trace {

// A size_t is not one of these (it would narrow): convert counts with int64_t(n).
using AttributeValue = std::variant<std::string, int64_t, bool>;
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

struct SpanData {
  enum class Kind { kInternal, kServer, kClient };

  std::string name;
  SpanContext context;
  std::string parent_span_id;  // "" for a root
  Kind kind = Kind::kInternal;
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
  Attributes attributes;
  bool error = false;
  std::string status_message;  // why it failed; "" when it did not
  std::vector<SpanContext> links;
};

class Exporter;

// One trace being recorded by one thread: not thread-safe.
class Trace {
 public:
  // A handle StartSpan returns once the trace has ended; the other calls ignore it.
  static constexpr size_t kNoSpan = static_cast<size_t>(-1);

  // Starts the root span now. With a valid `parent` (a traceparent that came in) the root
  // continues that trace as its child; otherwise it starts a new trace. `links` name related
  // traces (the webhook deliveries that asked for this reconcile); invalid ones are left out.
  // `exporter` must outlive the Trace; with null, nothing leaves.
  Trace(std::string root_name, Exporter* exporter, std::optional<SpanContext> parent = {},
        std::vector<SpanContext> links = {}, SpanData::Kind kind = SpanData::Kind::kInternal);
  ~Trace();  // End()
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  const std::string& trace_id() const { return root_.context.trace_id; }
  // The root's context: what a traceparent sent onwards names.
  SpanContext root() const { return root_.context; }

  // On the root span. Setting a key again replaces its value (as OpenTelemetry does). Text may
  // be anything: the encoder makes it safe to send.
  void SetAttribute(std::string key, AttributeValue value);
  void SetError(std::string message);

  // Starts a child of the root now and returns its handle.
  size_t StartSpan(std::string name);
  void SetAttribute(size_t span, std::string key, AttributeValue value);
  // Ends the span now; a non-empty `error` marks it failed with that message. A span ends once:
  // later calls are ignored.
  void EndSpan(size_t span, const std::string& error = "");

  // Ends every span still open, then the root, and hands all of them to the exporter. Only the
  // first call does anything.
  void End();

 private:
  struct Child {
    SpanData data;
    bool open = true;
  };

  Exporter* const exporter_;
  SpanData root_;
  std::vector<Child> children_;
  bool ended_ = false;
};

// A child span for a scope: started by the constructor, ended by the destructor.
class ScopedSpan {
 public:
  ScopedSpan(Trace& trace, std::string name);
  ~ScopedSpan();
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

  void SetAttribute(std::string key, AttributeValue value);
  // Marks the span failed with `error` when it ends; the last call wins.
  void Fail(std::string error);

 private:
  Trace& trace_;
  const size_t span_;
  std::string error_;
};

}  // namespace plumbline::trace
