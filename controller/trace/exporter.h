// Where ended traces go. The OTLP/HTTP exporter sends them to an OpenTelemetry collector (or any
// OTLP receiver: Jaeger, Tempo) from a thread of its own, so that a reconcile never waits on a
// slow or hanging collector: spans are queued, batched and posted in the background, and when
// the queue is full new spans are dropped (and counted) instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "trace/span.h"

namespace plumbline::trace {

// Thread-safe.
class Exporter {
 public:
  virtual ~Exporter() = default;
  // Takes the spans of one trace (Trace::End). Must not block: reconciles call it.
  virtual void Export(std::vector<SpanData> spans) = 0;
};

struct OtlpHttpOptions {
  // The collector's OTLP/HTTP base URL, "http://otel-collector:4318"; spans are posted to its
  // path + "/v1/traces", as OTEL_EXPORTER_OTLP_ENDPOINT does.
  std::string endpoint;
  // A batch is posted when it is full, or this long after its oldest span was queued.
  std::chrono::milliseconds flush_interval{1000};
  size_t max_batch_spans = 512;
  // Spans waiting to be posted (besides the batch being posted). An Export that does not fit is
  // dropped whole, so that the traces that do arrive are complete.
  size_t max_queued_spans = 8192;
  // Bounds connecting and each read of a post, and how long the destructor waits for the rest
  // of the queue to go out.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::string ca_file;  // CA certificates (PEM) for an https collector with a private CA
  Attributes resource;  // who sends: service.name, service.version, k8s.pod.name...
};

// The exporter, with its thread started. A post that gets no answer, a 429 or a 5xx is tried
// twice more (after 100 ms, then 400 ms), then given up; other answers are final. Each batch is
// reported to `on_export` (spans, whether the collector took them) from the exporter's thread,
// and spans dropped because the queue was full or the destructor gave up on them to `on_drop`
// (from the thread that called Export, or the destructor). Both are optional and must be quick.
//
// The destructor posts what is queued, waiting at most `timeout`; when the collector has not
// answered by then, the rest is dropped (and counted) and the thread is left to finish alone:
// no callback runs once the destructor has returned.
Result<std::unique_ptr<Exporter>> NewOtlpHttpExporter(
    OtlpHttpOptions options, std::function<void(size_t spans, bool ok)> on_export = {},
    std::function<void(size_t spans)> on_drop = {});

}  // namespace plumbline::trace
