#include "support/render_tools.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "common/subprocess.h"

namespace plumbline::testing {

const RenderToolPaths& RenderTools() {
  static std::once_flag once;
  static RenderToolPaths* paths = new RenderToolPaths();
  std::call_once(once, [] {
    SubprocessOptions run;
    run.timeout = std::chrono::minutes(40);  // a cold cache builds all four from source
    auto built = RunSubprocess(
        {"bash", std::string(PLUMBLINE_SOURCE_DIR) + "/hack/build-render-tools.sh", "--print-env"},
        run);
    if (!built.ok() || built->exit_code != 0) {
      std::cerr << "hack/build-render-tools.sh failed: "
                << (built.ok() ? built->err : built.error().message()) << "\n";
      std::abort();
    }
    std::istringstream lines(built->out);
    for (std::string line; std::getline(lines, line);) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "PLUMBLINE_KUSTOMIZE") paths->kustomize = value;
      if (key == "PLUMBLINE_HELM") paths->helm = value;
      if (key == "PLUMBLINE_SOPS") paths->sops = value;
      if (key == "PLUMBLINE_AGE_KEYGEN") paths->age_keygen = value;
    }
  });
  return *paths;
}

void UseRenderTools(render::RenderOptions* options) {
  const RenderToolPaths& tools = RenderTools();
  options->kustomize = tools.kustomize;
  options->helm = tools.helm;
  options->sops = tools.sops;
}

AgeKey NewAgeKey() {
  auto made = RunSubprocess({RenderTools().age_keygen});
  EXPECT_TRUE(made.ok() && made->exit_code == 0);
  AgeKey key;
  if (!made.ok()) return key;
  std::istringstream lines(made->out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("AGE-SECRET-KEY-", 0) == 0) key.identity = line;
    if (line.rfind("# public key: ", 0) == 0) key.recipient = line.substr(14);
  }
  return key;
}

std::string SopsEncrypt(const std::string& plaintext, const std::string& format,
                        const std::string& recipient, const std::string& encrypted_regex) {
  char dir[] = "/tmp/plumbline-sops-test-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/plain";
  std::ofstream(file) << plaintext;
  std::vector<std::string> argv = {RenderTools().sops, "--encrypt", "--age",         recipient,
                                   "--input-type",     format,      "--output-type", format};
  if (!encrypted_regex.empty()) {
    argv.push_back("--encrypted-regex");
    argv.push_back(encrypted_regex);
  }
  argv.push_back(file);
  SubprocessOptions run;
  run.working_dir = dir;  // no .sops.yaml of ours on the way up
  auto encrypted = RunSubprocess(argv, run);
  std::remove(file.c_str());
  rmdir(dir);
  EXPECT_TRUE(encrypted.ok() && encrypted->exit_code == 0)
      << (encrypted.ok() ? encrypted->err : encrypted.error().message());
  return encrypted.ok() ? encrypted->out : "";
}

}  // namespace plumbline::testing
