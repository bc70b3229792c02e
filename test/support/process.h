// A long-running child process for tests (git daemon, sshd): output goes to a log file, Stop()
// (or destruction) kills it. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace plumbline::testing {

class BackgroundProcess {
 public:
  BackgroundProcess() = default;
  ~BackgroundProcess() { Stop(); }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  Status Start(const std::vector<std::string>& argv, const std::string& log_file);
  void Stop();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Whether resident-set bounds mean anything in this build. Under AddressSanitizer freed memory
// waits in a quarantine (up to 256 MiB) and every allocation carries redzones, so tests print
// what they measured but assert memory bounds only in the uninstrumented build (CI runs both).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssBoundsApply = false;
#else
inline constexpr bool kRssBoundsApply = true;
#endif

// A port on 127.0.0.1 that nothing listened on a moment ago.
int FreePort();

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM" for the peak), or -1.
long ProcStatusKib(pid_t pid, const std::string& field);
// Whether something accepts TCP connections on 127.0.0.1:port.
bool PortOpen(int port);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
// Runs a command and fails the current test when it fails; returns its stdout.
std::string MustRun(const std::vector<std::string>& argv, const std::string& dir = "");

}  // namespace plumbline::testing
