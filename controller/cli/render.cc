// `plumbline render APP [--local DIR]`: prints the objects the Application's path renders to, as
// the controller would apply them before labels and namespaces (like `kustomize build` or `flux
// build`), for debugging a kustomization, a chart or a decryption. Secret values are masked.
// Exit 0: rendered, 2: an error (it names the file).
#include <sstream>

#include "app/application.h"
#include "cli/app_client.h"
#include "cli/app_render.h"
#include "cli/cli.h"
#include "common/redact.h"
#include "render/sops.h"
#include "yaml/yaml_json.h"

namespace plumbline::cli {

int RenderCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  constexpr int kError = 2;
  Flags flags(
      "Usage: plumbline render APP [--local DIR]\n\nPrints the objects the Application's path "
      "renders to (plain manifests, kustomize build, or helm template, with SOPS files "
      "decrypted), from its git revision or, with --local, a checkout. Secret values are "
      "masked.\nExit code: 0 rendered, 2 error.");
  AddAppFlags(flags);
  AddRenderFlags(flags);
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline render: " << s.error().message() << "\n";
    return kError;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return 0;
  }
  if (flags.positional().size() != 1) {
    err << "plumbline render: wrong arguments\n\n" << flags.Help();
    return kError;
  }
  auto fail = [&](const Error& e) {
    err << "plumbline render: " << SafeText(e.message()) << "\n";
    return kError;
  };
  const std::string name = flags.positional()[0];
  auto rendered = RenderApplication(flags, name);
  if (!rendered.ok()) return fail(rendered.error());
  // Secret objects are masked; a decrypted value elsewhere (a ConfigMap a chart fills from an
  // encrypted values file) is scrubbed from the whole text.
  std::ostringstream text;
  text << "# " << rendered->apps.ns << "/" << name << ": " << rendered->from << ", path \""
       << rendered->spec.path << "\", " << render::ToString(rendered->renderer) << ", "
       << rendered->objects.size() << " objects\n";
  for (Json object : rendered->objects) {
    if (object.value("apiVersion", "") == "v1" && object.value("kind", "") == "Secret") {
      for (const char* field : {"data", "stringData"}) {
        if (!object.contains(field) || !object[field].is_object()) continue;
        for (auto& value : object[field]) value = "***";
      }
    }
    text << "---\n" << yaml::ToYaml(object);
  }
  out << render::Scrub(text.str(), rendered->secret_values);
  return 0;
}

}  // namespace plumbline::cli
