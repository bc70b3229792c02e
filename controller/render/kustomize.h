// Kustomize (PRODUCT §3.2): a directory holding kustomization.yaml renders as `kustomize build`,
// run as a separate program with a time and output bound, the load restrictor on, no plugins,
// no Helm inflation, and no network unless remote bases are allowed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "render/render.h"
#include "render/workspace.h"
#include "source/git_source.h"

namespace plumbline::render {

// The kustomization file of `dir` among `files` (kustomization.yaml, .yml or Kustomization).
std::optional<source::File> KustomizationIn(const std::vector<source::File>& files,
                                            const std::string& dir);

// The entries of a kustomization that name other directories or files to build on: resources,
// bases, components, generators, transformers, validators (strings only; inline objects of
// generators and transformers are not paths).
std::vector<std::string> KustomizationReferences(const Json& kustomization);

// `kustomize build` of the workspace's `dir`: the YAML stream it prints. Errors carry kustomize's
// own message, with repository paths.
Result<std::string> RunKustomize(const Workspace& workspace, const std::string& dir,
                                 const RenderOptions& options);

}  // namespace plumbline::render
