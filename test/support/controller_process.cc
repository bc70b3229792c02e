#include "support/controller_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "support/process.h"

namespace plumbline::testing {

const char* PlumblineBinary() { return PLUMBLINE_BINARY; }
const char* PeakRssLauncher() { return PEAK_RSS_BINARY; }

ControllerProcess::ControllerProcess(std::string log_file, std::vector<std::string> args,
                                     std::map<std::string, std::string> env,
                                     std::vector<std::string> wrapper)
    : log_file_(std::move(log_file)),
      args_(std::move(args)),
      env_(std::move(env)),
      wrapper_(std::move(wrapper)) {}

ControllerProcess::~ControllerProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool ControllerProcess::Start() {
  std::vector<std::string> argv = wrapper_;
  argv.push_back(PlumblineBinary());
  argv.push_back("run");
  argv.insert(argv.end(), args_.begin(), args_.end());
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    // The test may block signals in its threads; the controller must start with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!std::freopen(log_file_.c_str(), "a", stderr)) _exit(126);
    dup2(fileno(stderr), STDOUT_FILENO);
    for (const auto& [name, value] : env_) {
      if (value.empty()) {
        unsetenv(name.c_str());
      } else {
        setenv(name.c_str(), value.c_str(), 1);
      }
    }
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    execvp(raw[0], raw.data());
    _exit(127);
  }
  return true;
}

void ControllerProcess::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

std::optional<int> ControllerProcess::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string ControllerProcess::Log() const { return ReadFile(log_file_); }

}  // namespace plumbline::testing
