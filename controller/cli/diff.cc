// `plumbline diff APP [--local DIR]`: what applying git (or a local checkout: a pull request)
// would change, computed by server-side dry-run, as a unified diff per object. Secret values
// are masked. Exit 0: no changes, 1: changes, 2: an error.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "app/application.h"
#include "app/reach.h"
#include "apply/applier.h"
#include "cli/app_client.h"
#include "cli/cli.h"
#include "common/redact.h"
#include "render/render.h"
#include "source/git_source.h"
#include "textdiff/unified.h"
#include "yaml/yaml_json.h"

namespace plumbline::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kNoChanges = 0, kChanges = 1, kError = 2;

// The files under `dir` of a local checkout, as a git snapshot would list them.
Result<std::vector<source::File>> ReadLocal(const std::string& root, const std::string& dir) {
  std::vector<source::File> files;
  const fs::path base = fs::path(root) / dir;
  std::error_code ec;
  if (!fs::exists(base, ec)) {
    return Error(ErrorCode::kNotFound, "\"" + base.string() + "\" does not exist");
  }
  if (!fs::is_directory(base, ec)) {
    return Error(ErrorCode::kInvalidArgument, "\"" + base.string() + "\" is not a directory");
  }
  for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    const std::string rel = fs::relative(it->path(), root).generic_string();
    if (it->is_symlink()) {
      return Error(ErrorCode::kInvalidArgument, rel + " is a symbolic link; they are not followed");
    }
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    files.push_back({rel, std::string((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>())});
  }
  if (ec) return Error(ErrorCode::kInternal, "reading " + base.string() + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const source::File& a, const source::File& b) { return a.path < b.path; });
  return files;
}

// What a reader compares: no bookkeeping the server keeps, no status.
Json Comparable(Json obj) {
  if (!obj.is_object()) return obj;
  obj.erase("status");
  if (obj.contains("metadata") && obj["metadata"].is_object()) {
    Json& m = obj["metadata"];
    for (const char* f : {"managedFields", "resourceVersion", "generation", "uid",
                          "creationTimestamp", "selfLink"}) {
      m.erase(f);
    }
    if (m.contains("annotations") && m["annotations"].is_object()) {
      m["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
      if (m["annotations"].empty()) m.erase("annotations");
    }
  }
  return obj;
}

// Secret values never appear: "***" on both sides, "*** (changed)" where git changes one.
void MaskSecret(Json* live, Json* desired) {
  for (const char* field : {"data", "stringData"}) {
    Json* sides[] = {live, desired};
    std::set<std::string> keys;
    for (Json* side : sides) {
      if (side && side->is_object() && side->contains(field) && (*side)[field].is_object()) {
        for (auto it = (*side)[field].begin(); it != (*side)[field].end(); ++it) keys.insert(it.key());
      }
    }
    for (const auto& key : keys) {
      Json before = live && live->is_object() ? live->value(field, Json::object()).value(key, Json())
                                              : Json();
      Json after = desired && desired->is_object()
                       ? desired->value(field, Json::object()).value(key, Json())
                       : Json();
      if (!before.is_null()) (*live)[field][key] = "***";
      if (!after.is_null()) (*desired)[field][key] = before == after ? "***" : "*** (changed)";
    }
  }
}

// Fields git leaves to others (ignoreDifferences): the live value stands.
void KeepIgnored(const std::vector<std::string>& pointers, const Json& live, Json* desired) {
  for (const auto& p : pointers) {
    try {
      Json::json_pointer ptr(p);
      if (live.contains(ptr)) {
        (*desired)[ptr] = live[ptr];
      } else if (desired->contains(ptr)) {
        (*desired)[ptr.parent_pointer()].erase(ptr.back());
      }
    } catch (const std::exception&) {  // a pointer that does not fit this object
    }
  }
}

struct ObjectDiff {
  std::string header;  // "Deployment web/api: configured"
  std::string hunks;
};

// The CustomResourceDefinition among `objects` that will serve `key`'s group, version and kind,
// or null. A custom resource whose CRD comes in the same change cannot be dry-run (its kind is
// not served yet); the controller applies the CRD first and waits until it is Established.
const Json* DefinitionFor(const apply::ObjectKey& key, const std::vector<Json>& objects) {
  for (const Json& obj : objects) {
    const auto crd = apply::ObjectKey::Of(obj);
    if (crd.group != "apiextensions.k8s.io" || crd.kind != "CustomResourceDefinition") continue;
    const Json* annotations = MemberAt(MemberAt(&obj, "metadata"), "annotations");
    if (StringAt(annotations, app::kReconcileAnnotation) == "disabled") {
      continue;  // never applied
    }
    const Json* spec = MemberAt(&obj, "spec");
    if (StringAt(spec, "group") != key.group ||
        StringAt(MemberAt(spec, "names"), "kind") != key.kind) {
      continue;
    }
    const Json* versions = MemberAt(spec, "versions");
    if (versions == nullptr || !versions->is_array()) continue;
    for (const Json& v : *versions) {
      const Json* served = MemberAt(&v, "served");
      if (StringAt(&v, "name") == key.version && served != nullptr && *served == true) return &obj;
    }
  }
  return nullptr;
}

}  // namespace

int DiffCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "Usage: plumbline diff APP [--local DIR]\n\nShows what applying the Application's git "
      "revision (or, with --local, a checkout such as a pull request's) would change in the "
      "cluster: a server-side dry run, printed as a unified diff per object. Secret values are "
      "masked.\nExit code: 0 no changes, 1 changes, 2 error.");
  AddAppFlags(flags);
  flags.Add("local", "", "render the Application's path from this checkout instead of fetching")
      .Add("cache-dir", UserCacheDir("cli-git"), "where fetched repositories are cached")
      .Add("git-timeout", "60", "seconds the fetch may take");
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline diff: " << s.error().message() << "\n";
    return kError;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return kNoChanges;
  }
  if (flags.positional().size() != 1) {
    err << "plumbline diff: wrong arguments\n\n" << flags.Help();
    return kError;
  }
  auto fail = [&](const Error& e) {
    err << "plumbline diff: " << SafeText(e.message()) << "\n";
    return kError;
  };
  const std::string name = flags.positional()[0];
  auto apps = NewAppClient(flags);
  if (!apps.ok()) return fail(apps.error());
  auto application = apps->Get(name);
  if (!application.ok()) return fail(application.error());
  auto spec = app::ParseSpec(*application);
  if (!spec.ok()) return fail(spec.error().Wrap("the Application's spec"));

  // The files: a local checkout, or the tracked revision fetched now.
  std::vector<source::File> files;
  std::string from;
  if (!flags.Get("local").empty()) {
    auto local =
        render::DeletedPathAsEmpty(ReadLocal(flags.Get("local"), spec->path), spec->allow_empty);
    if (!local.ok()) return fail(local.error());
    files = std::move(*local);
    from = "local checkout " + flags.Get("local");
  } else {
    source::FetchRequest request;
    request.url = spec->repo_url;
    request.revision = spec->revision;
    auto timeout = flags.GetDouble("git-timeout");
    request.timeout = std::chrono::milliseconds(int64_t((timeout.ok() ? *timeout : 60) * 1000));
    if (!spec->secret_name.empty()) {
      auto auth = app::ReadGitAuth(*apps->client, apps->ns, spec->secret_name);
      if (!auth.ok()) return fail(auth.error());
      request.auth = *auth;
    }
    auto git = source::NewLibgit2Source(flags.Get("cache-dir"));
    auto snapshot = git->Fetch(request);
    if (!snapshot.ok()) return fail(snapshot.error().Wrap("fetching " + spec->repo_url));
    auto read = render::DeletedPathAsEmpty(
        (*snapshot)->ReadDir(spec->path, render::ReadOptionsFor(render::RenderOptions())),
        spec->allow_empty);
    if (!read.ok()) return fail(read.error());
    files = std::move(*read);
    from = RedactUrls(spec->repo_url) + " at " + (*snapshot)->commit().sha.substr(0, 12);
  }
  auto rendered = render::Render(files);
  if (!rendered.ok()) return fail(rendered.error());
  std::vector<Json> objects;
  for (auto& r : *rendered) objects.push_back(r.object);

  // Dry-run each object as the controller would apply it (labels, namespaces, order), and apply
  // nothing: the skip hook answers for every object.
  std::vector<ObjectDiff> diffs;
  std::vector<std::string> failures;
  apply::ApplyContext ctx;
  ctx.client = apps->client.get();
  ctx.app_name = name;
  ctx.app_namespace = apps->ns;
  ctx.default_namespace = spec->destination_namespace;
  ctx.skip = [&](const apply::ObjectKey& key, const Json& obj) -> std::optional<apply::Change> {
    const apply::Change answered{key, apply::Action::kUnchanged, "", Json(), Json()};
    kube::ApplyOptions dry;
    dry.field_manager = app::kFieldManager;
    dry.dry_run = true;
    auto resource = apps->client->ResourceFor(obj);
    if (!resource.ok()) {
      failures.push_back(key.ToString() + ": " + resource.error().message());
      return answered;
    }
    auto live = apps->client->Get(*resource, key.ns, key.name);
    const bool exists = live.ok();
    if (!exists && live.error().code() != ErrorCode::kNotFound) {
      failures.push_back(live.error().message());
      return answered;
    }
    auto would = apps->client->Apply(obj, dry);
    if (!would.ok()) {
      failures.push_back(would.error().message());
      return answered;
    }
    Json before = exists ? Comparable(*live) : Json();
    Json after = Comparable(*would);
    if (exists) KeepIgnored(app::IgnoredPointers(*spec, key), before, &after);
    if (key.group.empty() && key.kind == "Secret") MaskSecret(exists ? &before : nullptr, &after);
    if (exists && before == after) return answered;
    diffs.push_back({key.ToString() + (exists ? ": configured" : ": created"),
                     textdiff::Unified(exists ? yaml::ToYaml(before) : "", yaml::ToYaml(after))});
    return answered;
  };
  const apply::ChangeSet outcome = apply::ApplyAll(objects, ctx);
  std::vector<std::string> untouched;
  for (const auto& change : outcome.changes) {
    if (change.action == apply::Action::kSkipped) {
      untouched.push_back(change.message);  // "...: reconcile disabled by annotation"
      continue;
    }
    // The skip hook answers for every object it reaches; a failure here came before it, when
    // the kind was looked up.
    if (change.action != apply::Action::kFailed) continue;
    const Json* obj = nullptr;
    for (const Json& o : objects) {
      const auto key = apply::ObjectKey::Of(o);
      if (key == change.key && key.version == change.key.version) {
        obj = &o;
        break;
      }
    }
    const Json* crd = obj ? DefinitionFor(change.key, objects) : nullptr;
    auto served = obj ? apps->client->ResourceFor(*obj) : Result<kube::ResourceInfo>(Error());
    if (crd == nullptr || served.ok() || served.error().code() != ErrorCode::kNotFound) {
      failures.push_back(change.message);
      continue;
    }
    // New only if the cluster has no such CRD yet; one that exists but does not serve this
    // version (the change adds it) may already hold the object: no dry run can tell.
    const std::string crd_name = StringAt(MemberAt(crd, "metadata"), "name");
    auto crds = apps->client->Resource({"apiextensions.k8s.io", "v1", "CustomResourceDefinition"});
    auto existing = crds.ok() ? apps->client->Get(*crds, "", crd_name) : Result<Json>(crds.error());
    if (existing.ok() || existing.error().code() != ErrorCode::kNotFound) {
      failures.push_back(change.message + (existing.ok() ? " (CustomResourceDefinition " + crd_name +
                                                               " exists; this change makes it "
                                                               "serve " + change.key.version +
                                                               ": apply it first, then diff)"
                                                         : ""));
      continue;
    }
    Json shown = *obj;
    Json& meta = shown["metadata"];
    if (StringAt(MemberAt(crd, "spec"), "scope") != "Cluster") {
      if (meta.value("namespace", "").empty()) {
        meta["namespace"] = ctx.default_namespace.empty() ? ctx.app_namespace : ctx.default_namespace;
      }
    } else {
      meta.erase("namespace");
    }
    if (!meta["labels"].is_object()) meta["labels"] = Json::object();
    meta["labels"][app::kNameLabel] = ctx.app_name;
    meta["labels"][app::kNamespaceLabel] = ctx.app_namespace;
    diffs.push_back({apply::ObjectKey::Of(shown).ToString() +
                         ": created (its CustomResourceDefinition is new: shown as git has it, "
                         "not validated by the API server)",
                     textdiff::Unified("", yaml::ToYaml(Comparable(shown)))});
  }

  // What left git: pruned when the Application prunes, else left in place.
  const auto desired = apply::DesiredKeys(objects, ctx);
  const std::set<apply::ObjectKey> in_git(desired.begin(), desired.end());
  std::vector<std::string> left;
  for (const auto& key : app::InventoryOf(application->value("status", Json::object()))) {
    if (in_git.count(key)) continue;
    if (!spec->prune) {
      left.push_back(key.ToString());
      continue;
    }
    auto resource = apps->client->Resource({key.group, key.version, key.kind});
    Json live;
    if (resource.ok()) {
      auto got = apps->client->Get(*resource, key.ns, key.name);
      if (got.ok()) live = Comparable(*got);
    }
    if (live.is_null()) continue;  // already gone
    if (key.group.empty() && key.kind == "Secret") MaskSecret(&live, nullptr);
    diffs.push_back({key.ToString() + ": deleted (pruned)", textdiff::Unified(yaml::ToYaml(live), "")});
  }

  out << "# " << apps->ns << "/" << name << ": " << from << ", path \"" << spec->path << "\"\n";
  for (const auto& d : diffs) {
    out << "=== " << d.header << "\n" << d.hunks;
  }
  for (const auto& l : left) {
    out << "=== " << l << ": no longer in git, left in place (prune is off)\n";
  }
  for (const auto& u : untouched) out << "=== " << u << "\n";
  if (!failures.empty()) {
    for (const auto& f : failures) err << "plumbline diff: " << f << "\n";
    return kError;
  }
  if (diffs.empty()) out << "No changes.\n";
  return diffs.empty() ? kNoChanges : kChanges;
}

}  // namespace plumbline::cli
