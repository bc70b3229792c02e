// Runs an external program to completion and captures its output, with a time bound.
// Used for kubeconfig exec credential plugins and the renderers (kustomize, helm, sops).
// Thread-safe: each call owns its own pipes and child.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace plumbline {

struct SubprocessOptions {
  // Variables added to (or replacing those in) the parent's environment.
  std::vector<std::pair<std::string, std::string>> extra_env;
  std::string working_dir;  // empty: the parent's
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  size_t max_output_bytes = 16 << 20;  // each of stdout and stderr; more is an error
  // False: the child sees only extra_env, nothing of the parent's environment (the controller's
  // own credentials stay out of programs that a tenant's files drive).
  bool inherit_env = true;
};

struct SubprocessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// argv[0] is looked up on PATH. Fails (not a SubprocessResult) only when the program could not
// start, ran past the timeout or printed more than max_output_bytes, in which case it is killed.
Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const SubprocessOptions& options = {});

}  // namespace plumbline
