// Real git servers for end-to-end tests: `git daemon` (git://) on loopback, serving repositories
// that tests build with the git CLI. Not thread-safe.
#pragma once

#include <string>

#include "support/process.h"

namespace plumbline::testing {

// A working repository with the git CLI: write files, commit, revert.
class GitRepo {
 public:
  // Creates `dir` as a new repository on branch main.
  explicit GitRepo(std::string dir);
  const std::string& dir() const { return dir_; }
  void Write(const std::string& path, const std::string& content);
  void Remove(const std::string& path);
  // Commits everything and returns the new commit's SHA.
  std::string Commit(const std::string& message);
  std::string Revert(const std::string& sha);
  std::string Head();

 private:
  std::string dir_;
};

class GitDaemon {
 public:
  // Serves every repository under `base_dir` as git://127.0.0.1:PORT/<name>.
  explicit GitDaemon(std::string base_dir) : base_dir_(std::move(base_dir)) {}
  ~GitDaemon() { Stop(); }

  // Starts on a free port, or on the previous port when restarting.
  Status Start();
  void Stop();
  std::string Url(const std::string& repo) const;
  // upload-pack requests served so far for `repo`: one per fetch connection.
  int UploadPacks(const std::string& repo) const;

 private:
  std::string base_dir_;
  int port_ = 0;
  BackgroundProcess process_;
};

}  // namespace plumbline::testing
