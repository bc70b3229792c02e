// What `plumbline diff` and `plumbline render` share: rendering an Application's path exactly as
// the controller does (manifests, kustomize, helm, sops), from its git revision fetched now or
// from a local checkout (--local, a pull request's), and masking Secret values for output.
#pragma once

#include <string>
#include <vector>

#include "app/application.h"
#include "cli/app_client.h"
#include "cli/flags.h"
#include "common/error.h"
#include "common/json.h"
#include "render/path.h"
#include "source/git_source.h"

namespace plumbline::cli {

// --local, --cache-dir, --git-timeout, --age-key-file and the renderer flags of `plumbline run`
// (--kustomize-path, --helm-path, --sops-path, --allow-remote-bases).
void AddRenderFlags(Flags& flags);

struct AppRendering {
  AppClient apps;  // the client, and the namespace (--namespace)
  Json application;
  app::Spec spec;
  std::vector<Json> objects;
  render::Renderer renderer = render::Renderer::kManifests;
  std::string from;       // "local checkout DIR" or "URL at SHA"
  source::Commit commit;  // the revision rendered; empty for a local checkout
  // Decrypted values and keys: nothing printed may carry them (render::Scrub).
  std::vector<std::string> secret_values;
};

// Reads Application `name` of the flags' namespace and renders it. Decryption keys come from
// --age-key-file, else from the Secret that spec.decryption names.
Result<AppRendering> RenderApplication(const Flags& flags, const std::string& name);

// Secret values never appear: "***" on both sides, "*** (changed)" where `desired` changes one.
// Either side may be null.
void MaskSecret(Json* live, Json* desired);

}  // namespace plumbline::cli
