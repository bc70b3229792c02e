#include "render/kustomize.h"

#include "common/subprocess.h"
#include "render/program.h"

namespace plumbline::render {

std::optional<source::File> KustomizationIn(const std::vector<source::File>& files,
                                            const std::string& dir) {
  const std::string prefix = dir.empty() ? "" : dir + "/";
  for (const char* name : {"kustomization.yaml", "kustomization.yml", "Kustomization"}) {
    for (const auto& f : files) {
      if (f.path == prefix + name) return f;
    }
  }
  return std::nullopt;
}

std::vector<std::string> KustomizationReferences(const Json& kustomization) {
  std::vector<std::string> out;
  if (!kustomization.is_object()) return out;
  for (const char* field :
       {"resources", "bases", "components", "generators", "transformers", "validators"}) {
    if (!kustomization.contains(field) || !kustomization[field].is_array()) continue;
    for (const auto& entry : kustomization[field]) {
      if (entry.is_string()) out.push_back(entry.get<std::string>());
    }
  }
  return out;
}

Result<std::string> RunKustomize(const Workspace& workspace, const std::string& dir,
                                 const RenderOptions& options) {
  SubprocessOptions run;
  run.inherit_env = false;
  // TMPDIR: remote bases are cloned there, inside the workspace, and removed with it.
  run.extra_env = {{"HOME", workspace.home()},
                   {"XDG_CONFIG_HOME", workspace.home()},
                   {"TMPDIR", workspace.home()}};
  if (options.allow_remote_bases) {
    // Remote bases are cloned with git, found on PATH.
    const char* path = std::getenv("PATH");
    run.extra_env.push_back({"PATH", path ? path : "/usr/bin:/bin"});
  } else {
    // Checked before the build already; this keeps the network shut if a reference slipped by:
    // no git to run, no proxy that answers.
    run.extra_env.push_back({"PATH", ""});
    run.extra_env.push_back({"HTTPS_PROXY", "http://127.0.0.1:9"});
    run.extra_env.push_back({"HTTP_PROXY", "http://127.0.0.1:9"});
  }
  run.timeout = options.tool_timeout;
  run.max_output_bytes = options.max_tool_output_bytes;
  const std::string target = dir.empty() ? workspace.repo() : workspace.repo() + "/" + dir;
  auto result = RunSubprocess(
      {options.kustomize, "build", "--load-restrictor", "LoadRestrictionsRootOnly", target}, run);
  return OutputOf(std::move(result), (dir.empty() ? "." : dir) + ": kustomize build",
                  options.kustomize, "--kustomize-path", workspace);
}

}  // namespace plumbline::render
