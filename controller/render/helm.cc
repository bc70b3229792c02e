#include "render/helm.h"

#include "common/subprocess.h"
#include "render/program.h"

namespace plumbline::render {

Result<std::string> RunHelm(Workspace& workspace, const std::string& dir,
                            const HelmRelease& release, const RenderOptions& options) {
  const std::string where = (dir.empty() ? "." : dir) + ": helm template";
  std::vector<std::string> argv = {options.helm,     "template",   "--namespace", release.ns,
                                   "--include-crds", "--no-hooks", "--skip-tests"};
  for (const auto& f : release.values_files) {
    argv.push_back("--values");
    argv.push_back(workspace.repo() + "/" + f);
  }
  if (!release.values.empty()) {
    // JSON is YAML: helm reads it as a values file, applied after the others.
    if (auto s = workspace.WriteAt("values/spec.json", release.values.dump()); !s.ok())
      return s.error();
    argv.push_back("--values");
    argv.push_back(workspace.root() + "/values/spec.json");
  }
  // After "--", the release name is never read as a flag, whatever it holds.
  argv.insert(argv.end(), {"--", release.release_name,
                           dir.empty() ? workspace.repo() : workspace.repo() + "/" + dir});
  SubprocessOptions run;
  run.inherit_env = false;
  const std::string home = workspace.home();
  run.extra_env = {{"HOME", home},
                   {"PATH", ""},  // no plugins, no downloaders
                   {"HELM_CACHE_HOME", home + "/cache"},
                   {"HELM_CONFIG_HOME", home + "/config"},
                   {"HELM_DATA_HOME", home + "/data"},
                   {"HELM_PLUGINS", home + "/plugins"},
                   {"HTTPS_PROXY", "http://127.0.0.1:9"},
                   {"HTTP_PROXY", "http://127.0.0.1:9"}};
  run.timeout = options.tool_timeout;
  run.max_output_bytes = options.max_tool_output_bytes;
  auto result = RunSubprocess(argv, run);
  return OutputOf(std::move(result), where, options.helm, "--helm-path", workspace);
}

}  // namespace plumbline::render
