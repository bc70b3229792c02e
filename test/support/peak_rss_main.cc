// peak_rss OUT PROGRAM [ARGS...]: runs PROGRAM and writes its own peak resident set in KiB to
// OUT, exiting with its code (128+signal when killed).
//
// Why a launcher: a child forked from the test inherits the test's resident set in the peak
// that wait4 reports (Linux folds the forked copy's high-water mark into ru_maxrss at exec), so
// a test that had grown to 60 MiB measured 60 MiB for every command it ran. Forked from this
// small process instead, the peak is the program's own.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: peak_rss OUT PROGRAM [ARGS...]\n");
    return 127;
  }
  const pid_t launcher = getpid();
  const pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    // The test kills the launcher on a hang; the program must not outlive it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != launcher) _exit(127);
    execv(argv[2], argv + 2);
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (wait4(pid, &status, 0, &usage) != pid) return 127;
  FILE* out = std::fopen(argv[1], "w");
  if (out == nullptr) return 127;
  std::fprintf(out, "%ld\n", usage.ru_maxrss);
  std::fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
