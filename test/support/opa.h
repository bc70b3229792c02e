// A real OPA server (github.com/open-policy-agent/opa, pinned in hack/versions.env and built or
// found in the cache by hack/build-opa.sh), serving the policies of a directory, for the tests of
// the policy gate. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "support/process.h"

namespace plumbline::testing {

// Runs hack/build-opa.sh once per process; fails the test (fatally) when it cannot.
const std::string& OpaBinary();

class OpaServer {
 public:
  // Serves `policy_dir` on a free port of 127.0.0.1 (the same port when started again).
  explicit OpaServer(std::string policy_dir, std::string log_file)
      : policy_dir_(std::move(policy_dir)), log_file_(std::move(log_file)) {}
  // Starts and waits (bounded) until it answers.
  bool Start();
  void Stop() { process_.Stop(); }
  int port() const { return port_; }
  // The data API URL of a rule: "http://127.0.0.1:PORT/v1/data/plumbline/deny".
  std::string RuleUrl(const std::string& rule = "plumbline/deny") const;

 private:
  std::string policy_dir_, log_file_;
  int port_ = 0;
  BackgroundProcess process_;
};

// The repository's example policies (deploy/policies).
std::string ShippedPoliciesDir();

}  // namespace plumbline::testing
