#include "cli/app_client.h"

#include "app/application.h"
#include "cli/kube_flags.h"
#include "common/redact.h"
#include "kube/errors.h"

namespace plumbline::cli {

void AddAppFlags(Flags& flags) {
  AddKubeFlags(flags);
  flags.Add("namespace", "", "the Application's namespace (default: the context's, or default)")
      .Add("n", "", "short for --namespace");
}

Result<AppClient> NewAppClient(const Flags& flags) {
  kube::ClientOptions options;
  options.user_agent = "plumbline-cli";
  auto client = ClientFromFlags(flags, options);
  if (!client.ok()) return client.error();
  auto apps = (*client)->Resource({app::kGroup, app::kVersion, app::kKind});
  if (!apps.ok()) {
    return apps.error().Wrap("the Application CRD is not installed (kubectl apply -f crds/)");
  }
  AppClient out;
  out.applications = *apps;
  out.ns = !flags.Get("namespace").empty()                  ? flags.Get("namespace")
           : !flags.Get("n").empty()                        ? flags.Get("n")
           : !(*client)->config().default_namespace.empty() ? (*client)->config().default_namespace
                                                            : "default";
  out.client = std::move(*client);
  return out;
}

Result<Json> AppClient::Get(const std::string& name) {
  auto app = client->Get(applications, ns, name);
  if (!app.ok() && kube::IsNotFound(app.error())) {
    return Error(ErrorCode::kNotFound, "Application " + ns + "/" + name + " not found");
  }
  return app;
}

Result<Json> AppClient::Patch(const std::string& name, const Json& fields,
                              const std::string& field_manager) {
  // Fail clearly on a missing Application: an apply would create a half-specified one.
  if (auto existing = Get(name); !existing.ok()) return existing.error();
  Json patch = fields;
  patch["apiVersion"] = app::kApiVersion;
  patch["kind"] = app::kKind;
  patch["metadata"]["name"] = name;
  patch["metadata"]["namespace"] = ns;
  kube::ApplyOptions as_cli;
  as_cli.field_manager = field_manager;
  return client->Apply(patch, as_cli);
}

std::string UserCacheDir(const std::string& leaf) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  if (xdg && *xdg) return std::string(xdg) + "/plumbline/" + leaf;
  if (home && *home) return std::string(home) + "/.cache/plumbline/" + leaf;
  return "/tmp/plumbline/" + leaf;
}

int Fail(std::ostream& err, const std::string& command, const Error& error) {
  err << "plumbline " << command << ": " << SafeText(error.message()) << "\n";
  return 1;
}

}  // namespace plumbline::cli
