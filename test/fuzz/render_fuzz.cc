// Fuzz target: render::Render over a generated tree. The input is cut into files, each with a
// path from a short list (manifests, JSON, a kustomization, a file that is not a manifest) and
// random content, and rendered with small limits so that the limit paths run too.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include "render/render.h"

namespace {
const char* const kPaths[] = {
    "app/a.yaml",    "app/b.yml",        "app/c.json", "app/sub/d.yaml", "app/kustomization.yaml",
    "app/readme.md", "app/.hidden.yaml", "app/e.YAML"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  plumbline::render::RenderOptions options;
  options.max_file_bytes = in.ConsumeIntegralInRange<size_t>(16, 64 << 10);
  options.max_documents = in.ConsumeIntegralInRange<size_t>(1, 64);
  options.max_objects = in.ConsumeIntegralInRange<size_t>(1, 64);
  std::vector<plumbline::source::File> files;
  const size_t count = in.ConsumeIntegralInRange<size_t>(0, 6);
  for (size_t i = 0; i < count && in.remaining_bytes() > 0; ++i) {
    plumbline::source::File file;
    file.path = in.PickValueInArray(kPaths);
    file.content = i + 1 == count ? in.ConsumeRemainingBytesAsString()
                                  : in.ConsumeRandomLengthString(in.remaining_bytes());
    files.push_back(std::move(file));
  }
  auto objects = plumbline::render::Render(files, options);
  if (objects.ok()) {
    // What Render returns is what the applier relies on.
    for (const auto& o : *objects) {
      if (!o.object.is_object() || !o.object["apiVersion"].is_string() ||
          !o.object["kind"].is_string() || !o.object["metadata"]["name"].is_string()) {
        __builtin_trap();
      }
    }
    if (objects->size() > options.max_objects) __builtin_trap();
  }
  return 0;
}
