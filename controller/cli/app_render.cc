#include "cli/app_render.h"

#include <fstream>
#include <iterator>
#include <set>

#include "app/reach.h"
#include "common/redact.h"
#include "source/git_source.h"
#include "source/local_tree.h"

namespace plumbline::cli {

void AddRenderFlags(Flags& flags) {
  const render::RenderOptions defaults;
  flags.Add("local", "", "render the Application's path from this checkout instead of fetching")
      .Add("cache-dir", UserCacheDir("cli-git"), "where fetched repositories are cached")
      .Add("git-timeout", "60", "seconds the fetch may take")
      .Add("age-key-file", "",
           "age identities for SOPS files (default: the Secret spec.decryption names)")
      .Add("kustomize-path", defaults.kustomize, "the kustomize program")
      .Add("helm-path", defaults.helm, "the helm program")
      .Add("sops-path", defaults.sops, "the sops program")
      .Add("allow-remote-bases", "false",
           "let kustomize fetch bases that are not in the repository", /*is_bool=*/true);
}

Result<AppRendering> RenderApplication(const Flags& flags, const std::string& name) {
  auto client = NewAppClient(flags);
  if (!client.ok()) return client.error();
  auto application = client->Get(name);
  if (!application.ok()) return application.error();
  auto parsed = app::ParseSpec(*application);
  if (!parsed.ok()) return parsed.error().Wrap("the Application's spec");
  AppRendering out;
  out.apps = std::move(*client);
  out.application = std::move(*application);
  out.spec = std::move(*parsed);
  AppClient& apps = out.apps;
  const app::Spec& spec = out.spec;

  render::RenderOptions options;
  options.kustomize = flags.Get("kustomize-path");
  options.helm = flags.Get("helm-path");
  options.sops = flags.Get("sops-path");
  options.allow_remote_bases = flags.GetBool("allow-remote-bases");

  render::PathRequest request = app::RenderRequestFor(spec, name, apps.ns);
  if (!flags.Get("age-key-file").empty()) {
    std::ifstream in(flags.Get("age-key-file"), std::ios::binary);
    if (!in) {
      return Error(ErrorCode::kInvalidArgument, "cannot read --age-key-file");
    }
    request.age_keys =
        std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  } else if (!spec.decryption_secret.empty()) {
    auto keys = app::ReadDecryptionKeys(*apps.client, apps.ns, spec.decryption_secret);
    if (!keys.ok()) return keys.error();
    request.age_keys = *keys;
  }

  Result<render::RenderedPath> rendered = Error(ErrorCode::kInternal, "not rendered");
  if (!flags.Get("local").empty()) {
    const std::string root = flags.Get("local");
    rendered = render::RenderPath(
        [&root](const std::string& dir, const source::ReadOptions& read) {
          return source::ReadLocalDir(root, dir, read);
        },
        request, options);
    out.from = "local checkout " + root;
  } else {
    source::FetchRequest fetch;
    fetch.url = spec.repo_url;
    fetch.revision = spec.revision;
    auto timeout = flags.GetDouble("git-timeout");
    fetch.timeout = std::chrono::milliseconds(int64_t((timeout.ok() ? *timeout : 60) * 1000));
    if (!spec.secret_name.empty()) {
      auto auth = app::ReadGitAuth(*apps.client, apps.ns, spec.secret_name);
      if (!auth.ok()) return auth.error();
      fetch.auth = *auth;
    }
    auto git = source::NewLibgit2Source(flags.Get("cache-dir"));
    auto snapshot = git->Fetch(fetch);
    if (!snapshot.ok()) return snapshot.error().Wrap("fetching " + spec.repo_url);
    std::shared_ptr<const source::Snapshot> snap = *snapshot;
    rendered = render::RenderPath(
        [snap](const std::string& dir, const source::ReadOptions& read) {
          return snap->ReadDir(dir, read);
        },
        request, options);
    out.from = RedactUrls(spec.repo_url) + " at " + snap->commit().sha.substr(0, 12);
    out.commit = snap->commit();
  }
  if (!rendered.ok()) return rendered.error();
  out.renderer = rendered->renderer;
  out.secret_values = std::move(rendered->secret_values);
  for (auto& r : rendered->objects) out.objects.push_back(std::move(r.object));
  return out;
}

void MaskSecret(Json* live, Json* desired) {
  for (const char* field : {"data", "stringData"}) {
    Json* sides[] = {live, desired};
    std::set<std::string> keys;
    for (Json* side : sides) {
      if (side && side->is_object() && side->contains(field) && (*side)[field].is_object()) {
        for (auto it = (*side)[field].begin(); it != (*side)[field].end(); ++it)
          keys.insert(it.key());
      }
    }
    for (const auto& key : keys) {
      Json before = live && live->is_object()
                        ? live->value(field, Json::object()).value(key, Json())
                        : Json();
      Json after = desired && desired->is_object()
                       ? desired->value(field, Json::object()).value(key, Json())
                       : Json();
      if (!before.is_null()) (*live)[field][key] = "***";
      if (!after.is_null()) (*desired)[field][key] = before == after ? "***" : "*** (changed)";
    }
  }
}

}  // namespace plumbline::cli
