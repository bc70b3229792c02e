#include "support/opa.h"

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "common/subprocess.h"

namespace plumbline::testing {

const std::string& OpaBinary() {
  static std::once_flag once;
  static std::string* path = new std::string();
  std::call_once(once, [] {
    SubprocessOptions run;
    run.timeout = std::chrono::minutes(20);  // a cold cache builds it from source
    auto built =
        RunSubprocess({"bash", std::string(PLUMBLINE_SOURCE_DIR) + "/hack/build-opa.sh"}, run);
    if (!built.ok() || built->exit_code != 0) {
      std::cerr << "hack/build-opa.sh failed: "
                << (built.ok() ? built->err : built.error().message()) << "\n";
      std::abort();
    }
    *path = built->out.substr(0, built->out.find('\n'));
  });
  return *path;
}

std::string ShippedPoliciesDir() { return std::string(PLUMBLINE_SOURCE_DIR) + "/deploy/policies"; }

bool OpaServer::Start() {
  if (port_ == 0) port_ = FreePort();
  Status started =
      process_.Start({OpaBinary(), "run", "--server", "--addr",
                      "127.0.0.1:" + std::to_string(port_), "--log-level", "error", policy_dir_},
                     log_file_);
  if (!started.ok()) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PortOpen(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string OpaServer::RuleUrl(const std::string& rule) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1/data/" + rule;
}

}  // namespace plumbline::testing
