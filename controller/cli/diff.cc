// `plumbline diff APP [--local DIR]`: what applying git (or a local checkout: a pull request)
// would change, computed by server-side dry-run, as a unified diff per object. Secret values
// are masked. With --policy-url the objects are also put to the policy server, as the controller
// would before applying them. Exit 0: no changes, 1: changes, 2: an error, 3: the policy denied.
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "app/application.h"
#include "app/reach.h"
#include "apply/applier.h"
#include "cli/app_client.h"
#include "cli/app_render.h"
#include "cli/cli.h"
#include "cli/policy_flags.h"
#include "common/redact.h"
#include "render/sops.h"
#include "textdiff/unified.h"
#include "yaml/yaml_json.h"

namespace plumbline::cli {
namespace {

constexpr int kNoChanges = 0, kChanges = 1, kError = 2, kDenied = 3;

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
    if (StringAt(annotations, apply::kReconcileAnnotation) == "disabled") {
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

// An object whose kind is not served: shown as created when its CustomResourceDefinition is
// new in this change (no dry run can validate it yet), else a failure naming why.
std::optional<ObjectDiff> NewCustomResource(const apply::PreparedObject& p,
                                            const std::vector<Json>& objects,
                                            const std::string& default_namespace,
                                            kube::Client& client,
                                            std::vector<std::string>* failures) {
  const std::string failure = p.key.ToString() + ": " + p.unresolved.message();
  const Json* crd = DefinitionFor(p.key, objects);
  if (crd == nullptr || p.unresolved.code() != ErrorCode::kNotFound) {
    failures->push_back(failure);
    return std::nullopt;
  }
  // New only if the cluster has no such CRD yet; one that exists but does not serve this
  // version (the change adds it) may already hold the object: no dry run can tell.
  const std::string crd_name = StringAt(MemberAt(crd, "metadata"), "name");
  auto crds = client.Resource({"apiextensions.k8s.io", "v1", "CustomResourceDefinition"});
  auto existing = crds.ok() ? client.Get(*crds, "", crd_name) : Result<Json>(crds.error());
  if (existing.ok() || existing.error().code() != ErrorCode::kNotFound) {
    failures->push_back(failure + (existing.ok()
                                       ? " (CustomResourceDefinition " + crd_name +
                                             " exists; this change makes it serve " +
                                             p.key.version + ": apply it first, then diff)"
                                       : ""));
    return std::nullopt;
  }
  Json shown = p.object;  // labelled already; the namespace follows the CRD's scope
  Json& meta = shown["metadata"];
  if (StringAt(MemberAt(crd, "spec"), "scope") != "Cluster") {
    if (meta.value("namespace", "").empty()) {
      meta["namespace"] = default_namespace;
    }
  } else {
    meta.erase("namespace");
  }
  return ObjectDiff{apply::ObjectKey::Of(shown).ToString() +
                        ": created (its CustomResourceDefinition is new: shown as git has it, "
                        "not validated by the API server)",
                    textdiff::Unified("", yaml::ToYaml(Comparable(shown)))};
}

// The diff, with the decrypted values of the render in `secrets` for the caller to scrub.
int Diff(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
         std::vector<std::string>* secrets) {
  Flags flags(
      "Usage: plumbline diff APP [--local DIR]\n\nShows what applying the Application's git "
      "revision (or, with --local, a checkout such as a pull request's) would change in the "
      "cluster: a server-side dry run, printed as a unified diff per object. Secret values are "
      "masked. With --policy-url the objects are put to the policy server as the controller would "
      "before applying them, so a pull request job can block the merge.\nExit code: 0 no "
      "changes, 1 changes, 2 error, 3 denied by the policy.");
  AddAppFlags(flags);
  AddRenderFlags(flags);
  AddPolicyFlags(flags);
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
  auto rendered = RenderApplication(flags, name);
  if (!rendered.ok()) return fail(rendered.error());
  *secrets = rendered->secret_values;
  AppClient* apps = &rendered->apps;
  const Json* application = &rendered->application;
  const app::Spec* spec = &rendered->spec;
  const std::vector<Json>& objects = rendered->objects;
  const std::string& from = rendered->from;

  // Dry-run each object as the controller would apply it (labels, namespaces, order), and apply
  // nothing.
  std::vector<ObjectDiff> diffs;
  std::vector<std::string> failures;
  std::vector<std::string> untouched;
  const std::vector<apply::PreparedObject> prepared = apply::Prepare(
      objects, {apps->client.get(), app::OwnerOf(name, apps->ns), spec->destination_namespace});
  // The policy's verdict on what the controller would apply, asked before the dry runs so that a
  // denial is reported (exit 3) even when a dry run fails.
  std::optional<std::vector<policy::Denial>> verdict;
  auto gate = PolicyGateFromFlags(flags);
  if (!gate.ok()) return fail(gate.error());
  if (*gate) {
    const source::Commit& commit = rendered->commit;
    policy::Subject subject{apps->ns, name, commit.sha, commit.author, commit.message};
    std::vector<Json> checked;
    for (const auto& p : prepared) {
      if (!p.disabled) checked.push_back(p.object);
    }
    Json input = policy::InputFor(subject, checked);
    render::ScrubAll(&input, rendered->secret_values);
    auto denials = (*gate)->Evaluate(input, spec->policy.rules);
    if (!denials.ok()) return fail(denials.error().Wrap("policy"));
    verdict = std::move(*denials);
  }
  for (const auto& p : prepared) {
    const apply::ObjectKey& key = p.key;
    if (p.disabled) {
      // Named as git names it: the line is about the file, not the live object.
      untouched.push_back(apply::ObjectKey::Of(objects[p.index]).ToString() +
                          ": reconcile disabled by annotation");
      continue;
    }
    if (!p.resource) {
      const std::string default_namespace =
          spec->destination_namespace.empty() ? apps->ns : spec->destination_namespace;
      if (auto shown = NewCustomResource(p, objects, default_namespace, *apps->client, &failures)) {
        diffs.push_back(std::move(*shown));
      }
      continue;
    }
    auto live = apps->client->Get(*p.resource, key.ns, key.name);
    const bool exists = live.ok();
    if (!exists && live.error().code() != ErrorCode::kNotFound) {
      failures.push_back(live.error().message());
      continue;
    }
    kube::ApplyOptions dry;
    dry.field_manager = app::kFieldManager;
    dry.dry_run = true;
    auto would = apps->client->Apply(p.object, dry);
    if (!would.ok()) {
      failures.push_back(would.error().message());
      continue;
    }
    Json before = exists ? Comparable(*live) : Json();
    Json after = Comparable(*would);
    if (exists) KeepIgnored(app::IgnoredPointers(*spec, key), before, &after);
    if (key.group.empty() && key.kind == "Secret") MaskSecret(exists ? &before : nullptr, &after);
    if (exists && before == after) continue;
    diffs.push_back({key.ToString() + (exists ? ": configured" : ": created"),
                     textdiff::Unified(exists ? yaml::ToYaml(before) : "", yaml::ToYaml(after))});
  }

  // What left git: pruned when the Application prunes, else left in place.
  std::set<apply::ObjectKey> in_git;
  for (const auto& p : prepared) in_git.insert(p.key);
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
    diffs.push_back(
        {key.ToString() + ": deleted (pruned)", textdiff::Unified(yaml::ToYaml(live), "")});
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
    if (!verdict || verdict->empty()) return kError;
  }
  if (diffs.empty()) out << "No changes.\n";
  if (verdict) {
    if (!verdict->empty()) {
      out << "=== policy denied this change (" << verdict->size() << "):\n";
      for (const auto& d : *verdict) {
        out << "  " << (d.object.empty() ? "" : d.object + ": ") << SafeText(d.message) << " ["
            << d.rule << "]\n";
      }
      return kDenied;
    }
    out << "Policy: allowed.\n";
  }
  return diffs.empty() ? kNoChanges : kChanges;
}

}  // namespace

int DiffCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  // Secrets are masked object by object; a decrypted value anywhere else (a ConfigMap a chart
  // fills from an encrypted values file, an API server's error quoting a field) is scrubbed.
  std::ostringstream buffered_out, buffered_err;
  std::vector<std::string> secrets;
  const int code = Diff(args, buffered_out, buffered_err, &secrets);
  out << render::Scrub(buffered_out.str(), secrets);
  err << render::Scrub(buffered_err.str(), secrets);
  return code;
}

}  // namespace plumbline::cli
