#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace plumbline {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

Result<SubprocessResult> RunSubprocess(const std::vector<std::string>& argv,
                                       const SubprocessOptions& options) {
  if (argv.empty()) return Error(ErrorCode::kInvalidArgument, "no program to run");

  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Error(ErrorCode::kInternal, strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Error(ErrorCode::kInternal, strerror(errno));
  }
  // Closed on a successful exec; carries errno back when exec fails.
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Error(ErrorCode::kInternal, strerror(errno));
  }

  // Build argv and envp before fork: only async-signal-safe calls are allowed after it.
  std::vector<char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; options.inherit_env && *e; ++e) {
    std::string entry(*e);
    bool replaced = false;
    for (const auto& [k, v] : options.extra_env) {
      if (entry.compare(0, k.size() + 1, k + "=") == 0) replaced = true;
    }
    if (!replaced) env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : options.extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> c_env;
  for (auto& s : env_strings) c_env.push_back(s.data());
  c_env.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return Error(ErrorCode::kInternal, std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // Its own process group: a timeout stops whatever it started too (git under kustomize).
    setpgid(0, 0);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
      int e = errno;
      (void)!write(exec_pipe[1], &e, sizeof e);
      _exit(127);
    }
    execvpe(c_argv[0], c_argv.data(), c_env.data());
    int e = errno;
    (void)!write(exec_pipe[1], &e, sizeof e);
    _exit(127);
  }

  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  int exec_errno = 0;
  bool exec_failed = read(exec_pipe[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno;
  close(exec_pipe[0]);
  if (exec_failed) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    waitpid(pid, nullptr, 0);
    return Error(ErrorCode::kInvalidArgument,
                 "cannot run " + argv[0] + ": " + strerror(exec_errno));
  }

  SubprocessResult result;
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool timed_out = false;
  bool overflowed = false;
  char buf[65536];
  while ((fds[0] >= 0 || fds[1] >= 0) && !overflowed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfds[2];
    int n = 0;
    int which[2];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] >= 0) {
        pfds[n] = {fds[i], POLLIN, 0};
        which[n++] = i;
      }
    }
    int rc = poll(pfds, n, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    for (int j = 0; j < n; ++j) {
      if (!(pfds[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int i = which[j];
      ssize_t got = read(fds[i], buf, sizeof buf);
      if (got <= 0) {
        CloseFd(fds[i]);
      } else if (sinks[i]->size() + size_t(got) > options.max_output_bytes) {
        // Cut output must never pass for the whole of it (a render missing objects prunes).
        overflowed = true;
        break;
      } else {
        sinks[i]->append(buf, size_t(got));
      }
    }
  }
  CloseFd(fds[0]);
  CloseFd(fds[1]);
  // A program may close its output and go on running: the deadline holds for the exit too.
  int wstatus = 0;
  bool exited = false;
  while (!timed_out && !overflowed) {
    pid_t got = waitpid(pid, &wstatus, WNOHANG);
    if (got == pid || (got < 0 && errno != EINTR)) {
      exited = got == pid;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    usleep(2000);
  }
  // Stopped: the whole group, so that what it started does not outlive it (git under kustomize).
  // Only then: a program that exits by itself may leave daemons it meant to start (a script
  // that starts a control plane), and they may not have left its group yet.
  if (timed_out || overflowed) kill(-pid, SIGKILL);
  if (!exited) {
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }
  if (timed_out) {
    return Error(ErrorCode::kTimeout, argv[0] + " did not finish within " +
                                          std::to_string(options.timeout.count()) + "ms");
  }
  if (overflowed) {
    return Error(
        ErrorCode::kInvalidArgument,
        argv[0] + " printed more than " + std::to_string(options.max_output_bytes) + " bytes");
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return result;
}

}  // namespace plumbline
