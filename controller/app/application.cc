#include "app/application.h"

#include <cctype>

#include "common/duration.h"
#include "source/git_source.h"

namespace plumbline::app {
namespace {

Result<std::string> OptionalString(const Json& obj, const char* field, const std::string& def) {
  if (!obj.contains(field) || obj[field].is_null()) return def;
  if (!obj[field].is_string()) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string("spec field ") + field + " must be a string");
  }
  return obj[field].get<std::string>();
}

Result<bool> OptionalBool(const Json& obj, const char* field, bool def) {
  if (!obj.contains(field) || obj[field].is_null()) return def;
  if (!obj[field].is_boolean()) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string("spec field ") + field + " must be a boolean");
  }
  return obj[field].get<bool>();
}

// An OPA data path: "plumbline/production/deny" (it goes into a URL, so nothing else).
bool IsRulePath(const std::string& path) {
  if (path.empty() || path.size() > 200 || path.front() == '/' || path.back() == '/') return false;
  char previous = '/';
  for (char c : path) {
    const bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (!word && !(c == '/' && previous != '/')) return false;
    previous = c;
  }
  return true;
}

}  // namespace

const char* ToString(DriftMode mode) { return mode == DriftMode::kReport ? "report" : "correct"; }

Result<Spec> ParseSpec(const Json& application, std::chrono::milliseconds default_interval) {
  if (!application.contains("spec") || !application["spec"].is_object()) {
    return Error(ErrorCode::kInvalidArgument, "the Application has no spec");
  }
  const Json& spec = application["spec"];
  Spec out;
  out.interval = default_interval;
  if (!spec.contains("source") || !spec["source"].is_object()) {
    return Error(ErrorCode::kInvalidArgument, "spec.source is required");
  }
  const Json& src = spec["source"];
  auto url = OptionalString(src, "repoURL", "");
  if (!url.ok()) return url.error();
  if (url->empty()) return Error(ErrorCode::kInvalidArgument, "spec.source.repoURL is required");
  out.repo_url = *url;
  auto revision = OptionalString(src, "revision", "");
  if (!revision.ok()) return revision.error();
  out.revision = *revision;
  auto path = OptionalString(src, "path", ".");
  if (!path.ok()) return path.error();
  auto clean = source::CleanRepoPath(*path);
  if (!clean.ok()) return clean.error().Wrap("spec.source.path");
  out.path = *clean;
  if (src.contains("secretRef") && src["secretRef"].is_object()) {
    out.secret_name = src["secretRef"].value("name", "");
  }
  if (spec.contains("destination") && spec["destination"].is_object()) {
    out.destination_namespace = spec["destination"].value("namespace", "");
  }
  for (auto [field, target] :
       {std::pair{"interval", &out.interval}, std::pair{"timeout", &out.timeout}}) {
    auto text = OptionalString(spec, field, "");
    if (!text.ok()) return text.error();
    if (text->empty()) continue;
    auto d = ParseDuration(*text);
    if (!d.ok()) return d.error().Wrap(std::string("spec.") + field);
    if (d->count() <= 0) {
      return Error(ErrorCode::kInvalidArgument, std::string("spec.") + field + " must be positive");
    }
    *target = *d;
  }
  auto prune = OptionalBool(spec, "prune", false);
  auto allow_empty = OptionalBool(spec, "allowEmpty", false);
  auto suspend = OptionalBool(spec, "suspend", false);
  for (const auto* r : {&prune, &allow_empty, &suspend}) {
    if (!r->ok()) return r->error();
  }
  out.prune = *prune;
  out.allow_empty = *allow_empty;
  out.suspend = *suspend;
  auto drift = OptionalString(spec, "drift", "correct");
  if (!drift.ok()) return drift.error();
  if (*drift != "correct" && *drift != "report") {
    return Error(ErrorCode::kInvalidArgument, "spec.drift must be correct or report");
  }
  out.drift = *drift == "report" ? DriftMode::kReport : DriftMode::kCorrect;
  auto sa = OptionalString(spec, "serviceAccountName", "");
  if (!sa.ok()) return sa.error();
  out.service_account_name = *sa;
  if (spec.contains("ignoreDifferences") && spec["ignoreDifferences"].is_array()) {
    for (const auto& d : spec["ignoreDifferences"]) {
      IgnoreDifference ig;
      ig.group = d.value("group", "");
      ig.kind = d.value("kind", "");
      ig.name = d.value("name", "");
      ig.ns = d.value("namespace", "");
      for (const auto& p : d.value("jsonPointers", Json::array())) {
        if (p.is_string()) ig.json_pointers.push_back(p);
      }
      out.ignore_differences.push_back(std::move(ig));
    }
  }
  if (src.contains("helm") && !src["helm"].is_null()) {
    const Json& h = src["helm"];
    if (!h.is_object()) return Error(ErrorCode::kInvalidArgument, "spec.source.helm must be a map");
    HelmSpec helm;
    auto release = OptionalString(h, "releaseName", "");
    if (!release.ok()) return release.error();
    helm.release_name = *release;
    // As helm checks it (and the CRD does); checked here too, as it is passed to a program.
    for (char c : helm.release_name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return Error(ErrorCode::kInvalidArgument,
                     "spec.source.helm.releaseName must be lowercase letters, digits and '-'");
      }
    }
    if (helm.release_name.size() > 53 ||
        (!helm.release_name.empty() &&
         (helm.release_name.front() == '-' || helm.release_name.back() == '-'))) {
      return Error(ErrorCode::kInvalidArgument,
                   "spec.source.helm.releaseName must be at most 53 characters and start and end "
                   "with a letter or digit");
    }
    if (h.contains("valuesFiles") && !h["valuesFiles"].is_null()) {
      if (!h["valuesFiles"].is_array()) {
        return Error(ErrorCode::kInvalidArgument, "spec.source.helm.valuesFiles must be a list");
      }
      for (const auto& f : h["valuesFiles"]) {
        if (!f.is_string() || f.get<std::string>().empty()) {
          return Error(ErrorCode::kInvalidArgument,
                       "spec.source.helm.valuesFiles holds a value that is not a path");
        }
        helm.values_files.push_back(f.get<std::string>());
      }
    }
    if (h.contains("values") && !h["values"].is_null()) {
      if (!h["values"].is_object()) {
        return Error(ErrorCode::kInvalidArgument, "spec.source.helm.values must be a map");
      }
      helm.values = h["values"];
    }
    out.helm = std::move(helm);
  }
  if (spec.contains("decryption") && !spec["decryption"].is_null()) {
    const Json& d = spec["decryption"];
    if (!d.is_object()) return Error(ErrorCode::kInvalidArgument, "spec.decryption must be a map");
    auto provider = OptionalString(d, "provider", "sops");
    if (!provider.ok()) return provider.error();
    if (*provider != "sops") {
      return Error(ErrorCode::kInvalidArgument, "spec.decryption.provider must be sops");
    }
    if (d.contains("secretRef") && d["secretRef"].is_object()) {
      auto name = OptionalString(d["secretRef"], "name", "");
      if (!name.ok()) return name.error();
      out.decryption_secret = *name;
    }
    if (out.decryption_secret.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "spec.decryption.secretRef.name is required (the Secret with the age keys)");
    }
  }
  if (spec.contains("verify") && !spec["verify"].is_null()) {
    const Json& v = spec["verify"];
    if (!v.is_object()) return Error(ErrorCode::kInvalidArgument, "spec.verify must be a map");
    VerifySpec verify;
    auto mode = OptionalString(v, "mode", "HEAD");
    if (!mode.ok()) return mode.error();
    if (*mode == "HEAD") {
      verify.mode = VerifyMode::kHead;
    } else if (*mode == "Tag") {
      verify.mode = VerifyMode::kTag;
    } else if (*mode == "TagAndHEAD") {
      verify.mode = VerifyMode::kTagAndHead;
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   "spec.verify.mode must be HEAD, Tag or TagAndHEAD, not \"" + *mode + "\"");
    }
    if (v.contains("secretRef") && v["secretRef"].is_object()) {
      auto name = OptionalString(v["secretRef"], "name", "");
      if (!name.ok()) return name.error();
      verify.secret_name = *name;
    }
    if (verify.secret_name.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "spec.verify.secretRef.name is required (the Secret with the trusted keys)");
    }
    out.verify = verify;
  }
  if (spec.contains("policy") && !spec["policy"].is_null()) {
    const Json& p = spec["policy"];
    if (!p.is_object()) return Error(ErrorCode::kInvalidArgument, "spec.policy must be a map");
    if (p.contains("rules") && !p["rules"].is_null()) {
      if (!p["rules"].is_array() || p["rules"].size() > 8) {
        return Error(ErrorCode::kInvalidArgument,
                     "spec.policy.rules must be a list of at most 8 rule paths");
      }
      for (const Json& rule : p["rules"]) {
        if (!rule.is_string() || !IsRulePath(rule.get<std::string>())) {
          return Error(ErrorCode::kInvalidArgument,
                       "spec.policy.rules holds \"" +
                           (rule.is_string() ? rule.get<std::string>() : rule.dump()) +
                           "\", not a rule path like plumbline/production/deny");
        }
        out.policy.rules.push_back(rule.get<std::string>());
      }
    }
  }
  return out;
}

const char* ToString(VerifyMode mode) {
  switch (mode) {
    case VerifyMode::kHead:
      return "HEAD";
    case VerifyMode::kTag:
      return "Tag";
    case VerifyMode::kTagAndHead:
      return "TagAndHEAD";
  }
  return "HEAD";
}

apply::Owner OwnerOf(const std::string& name, const std::string& ns) {
  return {kFieldManager, kNameLabel, kNamespaceLabel, name, ns};
}

std::string KeyOf(const Json& object) {
  const Json& m = object["metadata"];
  return m.value("namespace", "") + "/" + m.value("name", "");
}

}  // namespace plumbline::app
