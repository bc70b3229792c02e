#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/subprocess.h"

namespace plumbline::testing {

Status BackgroundProcess::Start(const std::vector<std::string>& argv, const std::string& log_file) {
  Stop();
  int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return Error(ErrorCode::kInternal, "cannot open " + log_file);
  std::vector<char*> c_argv;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return Error(ErrorCode::kInternal, "fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);  // so Stop() reaches the daemon's own children too
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvp(c_argv[0], c_argv.data());
    _exit(127);
  }
  close(log);
  pid_ = pid;
  return Status::Ok();
}

void BackgroundProcess::Stop() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGTERM);
  kill(pid_, SIGTERM);
  int status;
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      kill(-pid_, SIGKILL);  // the daemon's children, if any outlived it
      pid_ = -1;
      return;
    }
    usleep(50000);
  }
  kill(-pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

long ProcStatusKib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool open = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return open;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << content;
}

std::string MustRun(const std::vector<std::string>& argv, const std::string& dir) {
  SubprocessOptions options;
  options.working_dir = dir;
  auto run = RunSubprocess(argv, options);
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  EXPECT_TRUE(run.ok()) << cmd << ": " << (run.ok() ? "" : run.error().message());
  if (!run.ok()) return "";
  EXPECT_EQ(run->exit_code, 0) << cmd << "\n" << run->err;
  return run->out;
}

}  // namespace plumbline::testing
