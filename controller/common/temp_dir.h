// A private temporary directory: created 0700 under a fresh random name, removed with everything
// in it when the TempDir is destroyed. For files a program must read (a render's checkout, a
// keyring and a signature for gpgv, a commit for ssh-keygen to sign) that nothing else may see.
#pragma once

#include <memory>
#include <string>

#include "common/error.h"

namespace plumbline {

class TempDir {
 public:
  // A new empty directory "<prefix>XXXXXX" under `parent` ("" = $TMPDIR, else /tmp).
  static Result<std::unique_ptr<TempDir>> Create(const std::string& parent,
                                                 const std::string& prefix = "plumbline-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to `relative` (0600 file, 0700 directories on the way). The file must not
  // exist yet and may not be a symlink; the directory is private, so nothing else puts one there.
  Status Write(const std::string& relative, const std::string& content) const;
  // Reads `relative`, at most `max_bytes` (more is an error).
  Result<std::string> Read(const std::string& relative, size_t max_bytes) const;

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace plumbline
