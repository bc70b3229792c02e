// The real `plumbline run` binary as a child process, for tests of what only a process shows:
// leader election between replicas, signals, in-cluster credentials. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace plumbline::testing {

class ControllerProcess {
 public:
  // `args` follow `plumbline run`; `env` is added to (or overrides) the test's environment.
  // `wrapper` (optional) is a command that execs its last argument list, such as a shell that
  // prepares a mount namespace first.
  ControllerProcess(std::string log_file, std::vector<std::string> args,
                    std::map<std::string, std::string> env = {},
                    std::vector<std::string> wrapper = {});
  ~ControllerProcess();  // SIGKILL if still running
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;

  bool Start();
  void Signal(int sig);
  // Waits (bounded) for the process to exit; its exit code, or 128+signal, or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  std::string log_file_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> wrapper_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// The plumbline binary this build made.
const char* PlumblineBinary();

// The launcher that reports a command's own peak resident set (support/peak_rss_main.cc).
const char* PeakRssLauncher();

}  // namespace plumbline::testing
