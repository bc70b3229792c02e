// A real OpenTelemetry Collector (pinned in hack/versions.env and built or found in the cache by
// hack/build-otelcol.sh) as the trace backend of the tests: it takes OTLP/HTTP and its file
// exporter writes every span it receives to a file the test reads back. Not thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "support/process.h"

namespace plumbline::testing {

// Runs hack/build-otelcol.sh once per process; fails the test (fatally) when it cannot.
const std::string& OtelcolBinary();

class OtelCollector {
 public:
  // Keeps its config and the spans it receives (traces.json) in `work_dir`. Listens for OTLP/HTTP
  // on a free port of 127.0.0.1 (the same port when started again); no gRPC.
  OtelCollector(std::string work_dir, std::string log_file)
      : work_dir_(std::move(work_dir)), log_file_(std::move(log_file)) {}
  // Starts and waits (bounded) until it accepts an OTLP export.
  bool Start();
  // Graceful: the collector writes out what it buffered before it exits.
  void Stop() { process_.Stop(); }
  int port() const { return port_; }
  // The OTLP/HTTP base URL, "http://127.0.0.1:PORT" (traces go to Endpoint() + "/v1/traces").
  std::string Endpoint() const;
  // Every span written so far, across restarts, in the order received. Each is an object:
  //   {"traceId", "spanId", "parentSpanId": lowercase hex ("" for a root span),
  //    "name", "kind": 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer,
  //    "attributes": {key: value as text: ints in decimal, bools "true"/"false"},
  //    "status": {"code": 0 unset, 1 ok, 2 error, "message"},
  //    "links": [{"traceId", "spanId"}], "serviceName": the resource's service.name}
  // The exporter flushes every 100ms: poll for what a test expects rather than reading once.
  std::vector<Json> Spans() const;

 private:
  std::string work_dir_, log_file_;
  int port_ = 0;
  BackgroundProcess process_;
};

}  // namespace plumbline::testing
