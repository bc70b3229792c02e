// Runs `plumbline ARGS` in-process (cli::Main), as a user or a pipeline would, with its streams
// captured.
#pragma once

#include <string>
#include <vector>

namespace plumbline::testing {

struct Ran {
  int code = -1;
  std::string out, err;
};

Ran RunCli(const std::vector<std::string>& args);

}  // namespace plumbline::testing
