#include "render/workspace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace plumbline::render {
namespace fs = std::filesystem;
namespace {

Status MakeDirs(const std::string& dir) {
  std::string walked;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    walked = dir.substr(0, pos);
    if (walked.empty()) continue;
    if (mkdir(walked.c_str(), 0700) != 0 && errno != EEXIST) {
      return Error(ErrorCode::kInternal, "mkdir " + walked + ": " + strerror(errno));
    }
  }
  return Status::Ok();
}

Status WriteFile(const std::string& path, const std::string& content) {
  // O_EXCL|O_NOFOLLOW: nothing in a fresh private directory may already be there.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kInternal, "writing " + path + ": " + strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return Error(ErrorCode::kInternal, "writing " + path + ": " + strerror(errno));
    }
    done += size_t(n);
  }
  close(fd);
  return Status::Ok();
}

}  // namespace

Workspace::Workspace(std::string root)
    : root_(std::move(root)), repo_(root_ + "/repo"), home_(root_ + "/home") {}

Workspace::~Workspace() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

Result<std::unique_ptr<Workspace>> Workspace::Create(const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  std::string name = base + "/plumbline-render-XXXXXX";
  if (mkdtemp(name.data()) == nullptr) {  // 0700
    return Error(ErrorCode::kInternal,
                 "cannot make a render directory under " + base + ": " + strerror(errno));
  }
  std::unique_ptr<Workspace> ws(new Workspace(name));
  for (const auto& dir : {ws->repo_, ws->home_}) {
    if (mkdir(dir.c_str(), 0700) != 0) {
      return Error(ErrorCode::kInternal, "mkdir " + dir + ": " + strerror(errno));
    }
  }
  return ws;
}

Status Workspace::Write(const std::vector<source::File>& files) {
  for (const auto& f : files) {
    // Paths come from a git tree or a checkout walk: clean, relative, no symlinks. Checked again
    // because they decide where we write.
    auto clean = source::CleanRepoPath(f.path);
    if (!clean.ok() || clean->empty()) {
      return Error(ErrorCode::kInvalidArgument, "bad file path \"" + f.path + "\"");
    }
    const std::string path = repo_ + "/" + *clean;
    if (auto s = MakeDirs(path.substr(0, path.rfind('/'))); !s.ok()) return s;
    if (auto s = WriteFile(path, f.content); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Workspace::WriteAt(const std::string& path, const std::string& content) {
  const std::string full = root_ + "/" + path;
  if (auto s = MakeDirs(full.substr(0, full.rfind('/'))); !s.ok()) return s;
  return WriteFile(full, content);
}

std::string Workspace::Relative(std::string text) const {
  for (const std::string& prefix : {repo_ + "/", repo_, root_ + "/", root_}) {
    for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
      text.replace(at, prefix.size(), prefix == repo_ ? "." : "");
    }
  }
  return text;
}

}  // namespace plumbline::render
