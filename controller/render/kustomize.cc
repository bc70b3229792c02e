#include "render/kustomize.h"

#include "common/subprocess.h"

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
  const std::string where = (dir.empty() ? "." : dir) + ": kustomize build";
  if (!result.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 where + ": cannot run " + options.kustomize +
                     " (--kustomize-path): " + workspace.Relative(result.error().message()));
  }
  if (result->exit_code != 0) {
    std::string why = workspace.Relative(result->err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    // Enough to say what failed; a message is not a place for megabytes of output.
    if (why.size() > 4096) why = why.substr(0, 4096) + "...";
    return Error(ErrorCode::kInvalidArgument, where + " failed: " + why);
  }
  return std::move(result->out);
}

}  // namespace plumbline::render
