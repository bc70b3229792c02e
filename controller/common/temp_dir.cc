#include "common/temp_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace plumbline {
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

}  // namespace

Result<std::unique_ptr<TempDir>> TempDir::Create(const std::string& parent,
                                                 const std::string& prefix) {
  std::string base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  std::string name = base + "/" + prefix + "XXXXXX";
  if (mkdtemp(name.data()) == nullptr) {  // 0700
    return Error(ErrorCode::kInternal,
                 "cannot make a temporary directory under " + base + ": " + strerror(errno));
  }
  return std::unique_ptr<TempDir>(new TempDir(name));
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Status TempDir::Write(const std::string& relative, const std::string& content) const {
  const std::string path = path_ + "/" + relative;
  if (auto s = MakeDirs(path.substr(0, path.rfind('/'))); !s.ok()) return s;
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

Result<std::string> TempDir::Read(const std::string& relative, size_t max_bytes) const {
  const std::string path = path_ + "/" + relative;
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kInternal, "reading " + path + ": " + strerror(errno));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Error(ErrorCode::kInternal, "reading " + path + ": " + strerror(errno));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      close(fd);
      return Error(ErrorCode::kInvalidArgument,
                   relative + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  close(fd);
  return out;
}

}  // namespace plumbline
