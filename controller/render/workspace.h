// A private directory on local disk for one render: the files a renderer (kustomize, helm) reads,
// and any plaintext that sops decrypts for it. Nothing else ever sees it: it is created 0700 under
// a fresh random name and removed, with everything in it, when the Workspace is destroyed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/temp_dir.h"
#include "source/git_source.h"

namespace plumbline::render {

class Workspace {
 public:
  // A new empty directory under `parent` ("" = $TMPDIR, else /tmp).
  static Result<std::unique_ptr<Workspace>> Create(const std::string& parent);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // Where the commit's files go: repo() + "/" + a file's repository path.
  const std::string& repo() const { return repo_; }
  // An empty directory for a program's HOME and caches, outside repo().
  const std::string& home() const { return home_; }
  const std::string& root() const { return root_; }

  // Writes `files` under repo() (0600 files, 0700 directories).
  Status Write(const std::vector<source::File>& files);
  // Writes one file at `path` relative to root() (not repo()).
  Status WriteAt(const std::string& path, const std::string& content);

  // `text` with every mention of this directory removed, so messages name repository paths
  // ("overlays/prod/kustomization.yaml") and no path of the machine.
  std::string Relative(std::string text) const;

 private:
  explicit Workspace(std::unique_ptr<TempDir> dir);
  std::unique_ptr<TempDir> dir_;
  std::string root_, repo_, home_;
};

}  // namespace plumbline::render
