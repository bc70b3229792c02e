#include "support/cli_runner.h"

#include <sstream>

#include "cli/cli.h"

namespace plumbline::testing {

Ran RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Ran r;
  r.code = cli::Main(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace plumbline::testing
