// Fuzz target: kubeconfig loading (kube/config.h). The input is written as a kubeconfig file in
// a private directory (LoadKubeconfig reads files, as kubectl does) and loaded with and without
// a context override.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kube/config.h"

namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/kubeconfig-fuzz-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    return std::string(tmpl);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = Dir() + "/config";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  plumbline::kube::LoadKubeconfig({path}, "");
  plumbline::kube::LoadKubeconfig({path, Dir() + "/absent"}, "other");
  return 0;
}
