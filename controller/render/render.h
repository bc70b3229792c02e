// Render turns the files of an Application's path into Kubernetes objects (PRODUCT §3.2): every
// *.yaml, *.yml and *.json file, recursively, multi-document, in path order. Pure and
// thread-safe: it sees only the files it is given.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "source/git_source.h"

namespace plumbline::render {

class BuildCache;  // render/build_cache.h

// Limits that keep one bad commit from exhausting the controller; set by flags.
struct RenderOptions {
  size_t max_file_bytes = 4 << 20;  // one manifest file
  size_t max_documents = 10000;     // YAML documents over all files
  size_t max_objects = 10000;       // objects after expanding Lists
  // What kustomize and helm may read (every file of the directories they build), and print.
  size_t max_tree_bytes = 64 << 20;
  size_t max_tool_output_bytes = 16 << 20;
  std::chrono::milliseconds tool_timeout{std::chrono::seconds(60)};  // each program run
  // The programs, looked up on PATH unless a path is given (--kustomize-path and the like).
  std::string kustomize = "kustomize";
  std::string helm = "helm";
  std::string sops = "sops";
  // Kustomize resources that are not in the repository (git or HTTP URLs) are refused unless
  // set (--allow-remote-bases): a render would reach the network with the controller's identity.
  bool allow_remote_bases = false;
  std::string temp_dir;  // where render workspaces go; "" = $TMPDIR or /tmp
  // Where kustomize and helm output is kept by input; null: every render runs the program.
  BuildCache* cache = nullptr;
};

struct RenderedObject {
  Json object;
  std::string source;  // "apps/web/deploy.yaml:12", for messages
};

// Parses plain manifests; errors name the file and line. A kustomization file or a Chart.yaml
// among them is refused: such a directory renders with kustomize or helm (render/path.h), when it
// is the Application's path.
Result<std::vector<RenderedObject>> Render(const std::vector<source::File>& files,
                                           const RenderOptions& options = {});

// The objects of one YAML stream whatever its name: what kustomize or helm printed. Same limits
// and checks as Render.
Result<std::vector<RenderedObject>> RenderStream(const source::File& stream,
                                                 const RenderOptions& options = {});

// Whether Render looks at a file of this path: a manifest, or a kustomization file.
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
