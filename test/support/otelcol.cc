#include "support/otelcol.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "http/http_client.h"

namespace plumbline::testing {

const std::string& OtelcolBinary() {
  static std::once_flag once;
  static std::string* path = new std::string();
  std::call_once(once, [] {
    SubprocessOptions run;
    run.timeout = std::chrono::minutes(20);  // a cold cache builds it from source
    auto built =
        RunSubprocess({"bash", std::string(PLUMBLINE_SOURCE_DIR) + "/hack/build-otelcol.sh"}, run);
    if (!built.ok() || built->exit_code != 0) {
      std::cerr << "hack/build-otelcol.sh failed: "
                << (built.ok() ? built->err : built.error().message()) << "\n";
      std::abort();
    }
    *path = built->out.substr(0, built->out.find('\n'));
  });
  return *path;
}

namespace {

// The collector reads YAML, of which JSON is a subset: nlohmann quotes the paths for us.
Json Config(int port, const std::string& traces_file) {
  return Json{
      {"receivers",
       {{"otlp",
         {{"protocols", {{"http", {{"endpoint", "127.0.0.1:" + std::to_string(port)}}}}}}}}},
      // Append: what came before a restart stays readable. The exporter buffers its writes, and
      // flushes on this interval (1s unless set) and on shutdown.
      {"exporters",
       {{"file", {{"path", traces_file}, {"append", true}, {"flush_interval", "100ms"}}}}},
      {"service",
       {// Its own metrics would listen on :8888, which parallel tests would fight over.
        {"telemetry", {{"metrics", {{"level", "none"}}}}},
        {"pipelines",
         {{"traces",
           {{"receivers", Json::array({"otlp"})}, {"exporters", Json::array({"file"})}}}}}}},
  };
}

// An OTLP JSON AnyValue as text. int64 is a string in protobuf's JSON, but take a number too.
std::string AttributeText(const Json& value) {
  if (const Json* s = MemberAt(&value, "stringValue"); s != nullptr && s->is_string()) {
    return s->get<std::string>();
  }
  if (const Json* i = MemberAt(&value, "intValue"); i != nullptr) {
    return i->is_string() ? i->get<std::string>() : i->dump();
  }
  if (const Json* b = MemberAt(&value, "boolValue"); b != nullptr && b->is_boolean()) {
    return b->get<bool>() ? "true" : "false";
  }
  if (const Json* d = MemberAt(&value, "doubleValue"); d != nullptr) {
    return d->is_string() ? d->get<std::string>() : d->dump();
  }
  return value.dump();  // arrays, maps, bytes: rare in our spans, compared as JSON
}

Json AttributesOf(const Json* attributes) {
  Json out = Json::object();
  if (attributes == nullptr || !attributes->is_array()) return out;
  for (const Json& kv : *attributes) {
    const Json* value = MemberAt(&kv, "value");
    out[StringAt(kv, "key")] = value != nullptr ? AttributeText(*value) : "";
  }
  return out;
}

// An enum is a number in the exporter's JSON; protobuf's JSON also allows its name.
int EnumValue(const Json* value, const std::vector<std::string>& names) {
  if (value == nullptr) return 0;
  if (value->is_number_integer()) return value->get<int>();
  if (!value->is_string()) return 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (*value == names[i]) return static_cast<int>(i);
  }
  return 0;
}

const Json* ArrayAt(const Json& j, const char* key) {
  static const Json empty = Json::array();
  const Json* member = MemberAt(&j, key);
  return member != nullptr && member->is_array() ? member : &empty;
}

}  // namespace

bool OtelCollector::Start() {
  if (port_ == 0) port_ = FreePort();
  std::filesystem::create_directories(work_dir_);
  const std::string config_file = work_dir_ + "/otelcol.yaml";
  WriteFile(config_file, Config(port_, work_dir_ + "/traces.json").dump(2) + "\n");
  Status started = process_.Start({OtelcolBinary(), "--config=" + config_file}, log_file_);
  if (!started.ok()) return false;
  auto client = http::NewClient({Endpoint(), {}, std::chrono::seconds(5)});
  if (!client.ok()) return false;
  // Ready when an (empty) export is accepted: the port alone opens before the pipeline runs.
  http::Request probe;
  probe.method = "POST";
  probe.path = "/v1/traces";
  probe.body = R"({"resourceSpans":[]})";
  probe.content_type = "application/json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PortOpen(port_)) {
      auto answered = (*client)->Send(probe);
      if (answered.ok() && answered->status == 200) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string OtelCollector::Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<Json> OtelCollector::Spans() const {
  static const std::vector<std::string> kStatusCodes = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                                        "STATUS_CODE_ERROR"};
  static const std::vector<std::string> kKinds = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                                  "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                                  "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
  std::vector<Json> spans;
  std::istringstream lines(ReadFile(work_dir_ + "/traces.json"));
  // One ExportTraceServiceRequest per line. A flush can end mid-line: that line does not parse
  // yet, and is read whole next time.
  for (std::string line; std::getline(lines, line);) {
    const Json request = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) continue;
    for (const Json& resource_spans : *ArrayAt(request, "resourceSpans")) {
      const Json* resource = MemberAt(&resource_spans, "resource");
      const Json resource_attributes = AttributesOf(MemberAt(resource, "attributes"));
      const std::string service = resource_attributes.value("service.name", "");
      for (const Json& scope_spans : *ArrayAt(resource_spans, "scopeSpans")) {
        for (const Json& span : *ArrayAt(scope_spans, "spans")) {
          Json links = Json::array();
          for (const Json& link : *ArrayAt(span, "links")) {
            links.push_back(
                {{"traceId", StringAt(link, "traceId")}, {"spanId", StringAt(link, "spanId")}});
          }
          const Json* status = MemberAt(&span, "status");
          spans.push_back({
              {"traceId", StringAt(span, "traceId")},
              {"spanId", StringAt(span, "spanId")},
              {"parentSpanId", StringAt(span, "parentSpanId")},
              {"name", StringAt(span, "name")},
              {"kind", EnumValue(MemberAt(&span, "kind"), kKinds)},
              {"attributes", AttributesOf(MemberAt(&span, "attributes"))},
              {"status",
               {{"code", EnumValue(MemberAt(status, "code"), kStatusCodes)},
                {"message", StringAt(status, "message")}}},
              {"links", std::move(links)},
              {"serviceName", service},
          });
        }
      }
    }
  }
  return spans;
}

}  // namespace plumbline::testing
