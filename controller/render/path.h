// How an Application's path becomes objects (PRODUCT §3.2), by what the directory holds:
//   - Chart.yaml (or spec.source.helm set): `helm template` (render/helm.h);
//   - kustomization.yaml: `kustomize build` (render/kustomize.h);
//   - anything else: the manifests themselves (render/render.h).
// SOPS-encrypted files among what is read are decrypted first, in a private workspace, with the
// Application's age keys; without keys they are refused, never applied encrypted. Messages never
// carry a decrypted value.
//
// Reads only what it is given through a TreeReader (a commit or a checkout), so the controller
// and the CLI render alike. Thread-safe; each call has its own workspace.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "render/helm.h"
#include "render/render.h"
#include "source/git_source.h"

namespace plumbline::render {

// Snapshot::ReadDir, or source::ReadLocalDir bound to a checkout.
using TreeReader = std::function<Result<std::vector<source::File>>(
    const std::string& dir, const source::ReadOptions& options)>;

struct PathRequest {
  std::string path;  // clean, relative to the repository root
  bool allow_empty = false;
  // Release name and namespace (filled by the caller with the Application's name and
  // destination), and spec.source.helm's values. Used when the path holds a chart.
  HelmRelease helm;
  bool helm_required = false;           // spec.source.helm is set: the path must hold a chart
  std::optional<std::string> age_keys;  // spec.decryption's keys; nullopt when not configured
  // All the programs of one render finish by then (the reconcile's spec.timeout), each also
  // within RenderOptions::tool_timeout.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

enum class Renderer { kManifests, kKustomize, kHelm };
const char* ToString(Renderer renderer);  // "manifests", "kustomize", "helm"

struct RenderedPath {
  Renderer renderer = Renderer::kManifests;
  std::vector<RenderedObject> objects;
  size_t decrypted_files = 0;
  // Every decrypted value in the forms a message may quote it (render/sops.h FormsOf), and the
  // keys: whatever prints messages or objects later (an apply error, the CLI) scrubs them.
  std::vector<std::string> secret_values;
};

// A path that does not exist is kNotFound (or no objects with allow_empty), as DeletedPathAsEmpty.
Result<RenderedPath> RenderPath(const TreeReader& read, const PathRequest& request,
                                const RenderOptions& options);

}  // namespace plumbline::render
