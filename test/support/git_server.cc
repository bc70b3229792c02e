#include "support/git_server.h"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace plumbline::testing {

GitRepo::GitRepo(std::string dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  MustRun({"git", "init", "-q", "-b", "main", dir_});
  MustRun({"git", "-C", dir_, "config", "user.name", "Dev Eloper"});
  MustRun({"git", "-C", dir_, "config", "user.email", "dev@example.com"});
}

void GitRepo::Write(const std::string& path, const std::string& content) {
  WriteFile(dir_ + "/" + path, content);
}

void GitRepo::Remove(const std::string& path) {
  MustRun({"git", "-C", dir_, "rm", "-q", "-r", path});
}

std::string GitRepo::Commit(const std::string& message) {
  MustRun({"git", "-C", dir_, "add", "-A"});
  MustRun({"git", "-C", dir_, "commit", "-q", "--allow-empty", "-m", message});
  return Head();
}

std::string GitRepo::Revert(const std::string& sha) {
  MustRun({"git", "-C", dir_, "revert", "--no-edit", sha});
  return Head();
}

std::string GitRepo::Head() {
  std::string sha = MustRun({"git", "-C", dir_, "rev-parse", "HEAD"});
  while (!sha.empty() && std::isspace(static_cast<unsigned char>(sha.back()))) sha.pop_back();
  return sha;
}

Status GitDaemon::Start() {
  if (port_ == 0) port_ = FreePort();
  auto status =
      process_.Start({"git", "daemon", "--reuseaddr", "--verbose", "--export-all",
                      "--enable=receive-pack", "--listen=127.0.0.1",
                      "--port=" + std::to_string(port_), "--base-path=" + base_dir_, base_dir_},
                     base_dir_ + "/daemon.log");
  if (!status.ok()) return status;
  for (int i = 0; i < 300 && !PortOpen(port_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!PortOpen(port_)) return Error(ErrorCode::kUnavailable, "git daemon did not start");
  return Status::Ok();
}

void GitDaemon::Stop() { process_.Stop(); }

std::string GitDaemon::Url(const std::string& repo) const {
  return "git://127.0.0.1:" + std::to_string(port_) + "/" + repo;
}

int GitDaemon::UploadPacks(const std::string& repo) const {
  std::string log = ReadFile(base_dir_ + "/daemon.log");
  std::string needle = "Request upload-pack for '/" + repo + "'";
  int n = 0;
  for (size_t pos = 0; (pos = log.find(needle, pos)) != std::string::npos; ++pos) ++n;
  return n;
}

}  // namespace plumbline::testing
