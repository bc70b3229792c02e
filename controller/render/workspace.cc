#include "render/workspace.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace plumbline::render {

Workspace::Workspace(std::unique_ptr<TempDir> dir)
    : dir_(std::move(dir)), root_(dir_->path()), repo_(root_ + "/repo"), home_(root_ + "/home") {}

Workspace::~Workspace() = default;  // the TempDir removes everything

Result<std::unique_ptr<Workspace>> Workspace::Create(const std::string& parent) {
  auto dir = TempDir::Create(parent, "plumbline-render-");
  if (!dir.ok()) return dir.error();
  std::unique_ptr<Workspace> ws(new Workspace(std::move(*dir)));
  for (const auto& d : {ws->repo_, ws->home_}) {
    if (mkdir(d.c_str(), 0700) != 0) {
      return Error(ErrorCode::kInternal, "mkdir " + d + ": " + strerror(errno));
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
    if (auto s = dir_->Write("repo/" + *clean, f.content); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Workspace::WriteAt(const std::string& path, const std::string& content) {
  return dir_->Write(path, content);
}

std::string Workspace::Relative(std::string text) const {
  const std::pair<std::string, std::string> replacements[] = {
      {repo_ + "/", ""}, {repo_, "."}, {root_ + "/", ""}, {root_, ""}};
  for (const auto& [prefix, replacement] : replacements) {
    for (size_t at = text.find(prefix); at != std::string::npos;
         at = text.find(prefix, at + replacement.size())) {
      text.replace(at, prefix.size(), replacement);
    }
  }
  return text;
}

}  // namespace plumbline::render
