// The plumbline executable: everything lives in plumbline_lib; this only passes argv on.
#include <malloc.h>
#include <signal.h>

#include <cstdlib>
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
  // glibc gives each thread that allocates its own arena, up to 8 per core; with the HTTP
  // client's, the apply pool's and the watches' threads, memory freed in one arena is not
  // reused by another and resident memory grows with the thread count. Two arenas suit a
  // controller that spends its time waiting on the network (MALLOC_ARENA_MAX still overrides).
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  std::vector<std::string> args(argv + 1, argv + argc);
  return plumbline::cli::Main(args, std::cout, std::cerr);
}
