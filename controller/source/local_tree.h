// A checkout on local disk read like a commit (`plumbline diff --local`, `plumbline render
// --local`): the same files, the same rules, so a pull request renders as the controller would.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "source/git_source.h"

namespace plumbline::source {

// The regular files under `root`/`dir` (recursively, `.git` left out) that `options` wants, in
// path order, with paths relative to `root`. As Snapshot::ReadDir: a symlink, a `dir` that leaves
// `root` or a wanted file over the size limit is an error; a missing `dir` is kNotFound.
Result<std::vector<File>> ReadLocalDir(const std::string& root, const std::string& dir,
                                       const ReadOptions& options);

}  // namespace plumbline::source
