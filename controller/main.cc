// The plumbline executable: everything lives in plumbline_lib; this only passes argv on.
#include <signal.h>

#include <iostream>

#include "cli/cli.h"

namespace {

void IgnorePipe(int) {}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes its end (a git server that resets, an API server, a webhook sender) must
  // fail the write with EPIPE, not kill the process. A handler that does nothing rather than
  // SIG_IGN: a handled signal is reset by exec, so programs we run (credential plugins) start
  // with the default, as they expect.
  struct sigaction pipe = {};
  pipe.sa_handler = IgnorePipe;
  pipe.sa_flags = SA_RESTART;
  sigemptyset(&pipe.sa_mask);
  sigaction(SIGPIPE, &pipe, nullptr);
  std::vector<std::string> args(argv + 1, argv + argc);
  return plumbline::cli::Main(args, std::cout, std::cerr);
}
