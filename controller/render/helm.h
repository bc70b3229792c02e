// Helm (PRODUCT §3.2, spec.source.helm): a directory holding Chart.yaml renders as `helm
// template`, CRDs included, hooks and tests left out (nothing runs them), with the values files
// of the same commit. Dependencies must be vendored under charts/: no network.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "render/render.h"
#include "render/workspace.h"

namespace plumbline::render {

struct HelmRelease {
  std::string release_name;
  std::string ns;                         // --namespace: the destination namespace
  std::vector<std::string> values_files;  // repository paths, in order
  Json values = Json::object();           // over the files
};

// `helm template` of the chart at the workspace's `dir`: the YAML stream it prints.
Result<std::string> RunHelm(Workspace& workspace, const std::string& dir,
                            const HelmRelease& release, const RenderOptions& options);

}  // namespace plumbline::render
