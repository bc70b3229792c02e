// Fuzz target: YAML text to JSON (yaml::ParseDocuments), the parser every manifest and
// kubeconfig goes through. Beyond "no crash, no leak, no hang": whatever parses must come back
// unchanged through ToYaml, the form `plumbline get -o yaml` and diffs print.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "yaml/yaml_json.h"

namespace {

// Unicode noncharacters (U+FDD0..U+FDEF and U+xFFFE, U+xFFFF): yaml-cpp's emitter writes U+FFFD
// for them, so `get -o yaml` shows a replacement character there. Known; not checked.
bool HasNoncharacter(const std::string& utf8) {
  for (size_t i = 0; i < utf8.size();) {
    unsigned char c = utf8[i];
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < n && i + k < utf8.size(); ++k) cp = (cp << 6) | (utf8[i + k] & 0x3F);
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return true;
    i += n;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = plumbline::yaml::ParseDocuments(text, "fuzz.yaml");
  if (!docs.ok()) return 0;
  for (const auto& doc : *docs) {
    // Bytes that are not UTF-8 pass through the YAML layer; they are refused where objects
    // become JSON text, so the round trip is checked for valid text only.
    std::string json;
    try {
      json = doc.dump();
    } catch (const plumbline::Json::type_error&) {
      continue;
    }
    if (HasNoncharacter(json)) continue;
    const std::string emitted = plumbline::yaml::ToYaml(doc);
    auto back = plumbline::yaml::ParseDocument(emitted, "emitted");
    if (!back.ok() || *back != doc) {
      const std::string read_back =
          back.ok() ? back->dump(-1, ' ', false, plumbline::Json::error_handler_t::replace)
                    : back.error().message();
      std::fprintf(stderr, "round trip changed the value\njson: %s\nyaml:\n%s\n%s\n",
                   doc.dump().c_str(), emitted.c_str(), read_back.c_str());
      std::abort();
    }
  }
  return 0;
}
