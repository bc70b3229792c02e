// Render turns the files of an Application's path into Kubernetes objects (PRODUCT §3.2): every
// *.yaml, *.yml and *.json file, recursively, multi-document, in path order. Pure and
// thread-safe: it sees only the files it is given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "source/git_source.h"

namespace plumbline::render {

// Limits that keep one bad commit from exhausting the controller; set by flags.
struct RenderOptions {
  size_t max_file_bytes = 4 << 20;  // one manifest file
  size_t max_documents = 10000;     // YAML documents over all files
  size_t max_objects = 10000;       // objects after expanding Lists
};

struct RenderedObject {
  Json object;
  std::string source;  // "apps/web/deploy.yaml:12", for messages
};

// Errors name the file and line. A kustomization.yaml is refused until kustomize support lands.
Result<std::vector<RenderedObject>> Render(const std::vector<source::File>& files,
                                           const RenderOptions& options = {});

// Whether Render looks at a file of this path: a manifest, or a kustomization file (refused).
bool Reads(const std::string& path);

// What to read of a snapshot for Render: the files it looks at, none over max_file_bytes.
// Everything else (binaries, docs, charts' tarballs) is never loaded.
source::ReadOptions ReadOptionsFor(const RenderOptions& options);

// The files read for an Application's path, where a path that does not exist at the commit
// (its last file was removed, so git has no directory) is no files when `allow_empty` is set:
// the render is empty and prunes. Any other result is returned as it is.
Result<std::vector<source::File>> DeletedPathAsEmpty(Result<std::vector<source::File>> read,
                                                     bool allow_empty);

}  // namespace plumbline::render
