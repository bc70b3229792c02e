#include "source/local_tree.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace plumbline::source {
namespace fs = std::filesystem;

Result<std::vector<File>> ReadLocalDir(const std::string& root, const std::string& dir,
                                       const ReadOptions& options) {
  auto clean = CleanRepoPath(dir);
  if (!clean.ok()) return clean.error();
  std::vector<File> files;
  const fs::path base = clean->empty() ? fs::path(root) : fs::path(root) / *clean;
  std::error_code ec;
  // Each component below the checkout, as a git tree is walked: a symlinked directory on the
  // way would read outside it.
  fs::path walked = root;
  for (const auto& part : fs::path(*clean)) {
    walked /= part;
    if (fs::is_symlink(fs::symlink_status(walked, ec))) {
      return Error(ErrorCode::kInvalidArgument,
                   "path \"" + walked.lexically_relative(root).generic_string() +
                       "\" is a symbolic link; they are not followed");
    }
  }
  if (!fs::exists(base, ec)) {
    return Error(ErrorCode::kNotFound, "\"" + base.string() + "\" does not exist");
  }
  if (!fs::is_directory(base, ec)) {
    return Error(ErrorCode::kInvalidArgument, "\"" + base.string() + "\" is not a directory");
  }
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    const std::string rel = it->path().lexically_relative(root).generic_string();
    if (it->is_symlink()) {
      return Error(ErrorCode::kInvalidArgument, rel + " is a symbolic link; they are not followed");
    }
    if (!it->is_regular_file()) continue;
    if (options.wanted && !options.wanted(rel)) continue;
    const auto size = it->file_size(ec);
    if (!ec && size > options.max_file_bytes) {
      return Error(ErrorCode::kInvalidArgument, rel + ": file is " + std::to_string(size) +
                                                    " bytes, over the limit of " +
                                                    std::to_string(options.max_file_bytes));
    }
    std::ifstream in(it->path(), std::ios::binary);
    files.push_back(
        {rel, std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())});
  }
  if (ec) return Error(ErrorCode::kInternal, "reading " + base.string() + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const File& a, const File& b) { return a.path < b.path; });
  return files;
}

}  // namespace plumbline::source
