#include "notify/notifier.h"

#include <algorithm>
#include <cctype>

#include "common/redact.h"

namespace plumbline::notify {
namespace {

constexpr Provider kProviders[] = {Provider::kSlack, Provider::kGeneric, Provider::kGithub,
                                   Provider::kGitlab};

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

// A value from the object, quoted for an error message: bounded and safe to show.
std::string Quoted(const std::string& value) {
  // Built step by step: GCC 12 at -O2 warns (falsely, -Warray-bounds) on the one-expression form.
  std::string shown = value.substr(0, 64);
  if (value.size() > 64) shown += "...";
  std::string out = "\"";
  out += SafeText(shown);
  out += '"';
  return out;
}

bool Absent(const Json& obj, const char* field) {
  return !obj.contains(field) || obj[field].is_null();
}

Result<std::string> OptionalString(const Json& obj, const char* field, const std::string& path) {
  if (Absent(obj, field)) return std::string();
  if (!obj[field].is_string()) return Invalid(path + " must be a string");
  return obj[field].get<std::string>();
}

// One path segment of a repository: what GitHub and GitLab allow in names.
bool IsSegment(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

Status ParseApplications(const Json& spec, NotifierSpec* out) {
  if (Absent(spec, "applications")) return Status::Ok();
  const Json& apps = spec["applications"];
  if (!apps.is_object()) return Invalid("spec.applications must be a map");
  if (!Absent(apps, "names")) {
    if (!apps["names"].is_array()) return Invalid("spec.applications.names must be a list");
    for (const Json& n : apps["names"]) {
      if (!n.is_string() || n.get<std::string>().empty()) {
        return Invalid("spec.applications.names holds a value that is not a name");
      }
      out->application_names.push_back(n.get<std::string>());
    }
  }
  if (!Absent(apps, "selector")) {
    const Json& selector = apps["selector"];
    if (!selector.is_object()) return Invalid("spec.applications.selector must be a map");
    if (!Absent(selector, "matchLabels")) {
      const Json& labels = selector["matchLabels"];
      if (!labels.is_object()) {
        return Invalid("spec.applications.selector.matchLabels must be a map");
      }
      for (const auto& [key, value] : labels.items()) {
        if (!value.is_string()) {
          return Invalid("spec.applications.selector.matchLabels." + key + " must be a string");
        }
        out->match_labels[key] = value.get<std::string>();
      }
    }
  }
  return Status::Ok();
}

Status ParseEvents(const Json& spec, NotifierSpec* out) {
  if (Absent(spec, "events")) return Status::Ok();
  if (!spec["events"].is_array()) return Invalid("spec.events must be a list");
  for (const Json& e : spec["events"]) {
    if (!e.is_string()) return Invalid("spec.events holds a value that is not a string");
    const std::string text = e.get<std::string>();
    const auto type = ParseEventType(text);
    if (!type || *type == EventType::kApplying) {
      return Invalid("spec.events: " + Quoted(text) +
                     " is not an event (deployed, failed, drifted, drift-corrected, recovered, "
                     "reverted)");
    }
    if (IsCommitStatus(out->provider) &&
        (*type == EventType::kDrifted || *type == EventType::kDriftCorrected)) {
      // Drift happens to live objects, not to a commit: there is no commit to mark.
      return Invalid("spec.events: " + text + " is not sent to " + ToString(out->provider) +
                     " (a commit status marks a commit; drift has none)");
    }
    out->events.insert(*type);
  }
  return Status::Ok();
}

}  // namespace

const char* ToString(Provider provider) {
  switch (provider) {
    case Provider::kSlack:
      return "slack";
    case Provider::kGeneric:
      return "generic";
    case Provider::kGithub:
      return "github";
    case Provider::kGitlab:
      return "gitlab";
  }
  return "unknown";
}

bool IsCommitStatus(Provider provider) {
  return provider == Provider::kGithub || provider == Provider::kGitlab;
}

Result<NotifierSpec> ParseNotifier(const Json& notifier) {
  NotifierSpec out;
  const Json* meta = MemberAt(&notifier, "metadata");
  out.ns = StringAt(meta, "namespace");
  out.name = StringAt(meta, "name");
  if (out.ns.empty() || out.name.empty()) {
    return Invalid("the Notifier has no metadata.namespace or metadata.name");
  }
  const Json* spec = MemberAt(&notifier, "spec");
  if (spec == nullptr || !spec->is_object()) return Invalid("the Notifier has no spec");

  auto provider = OptionalString(*spec, "provider", "spec.provider");
  if (!provider.ok()) return provider.error();
  if (provider->empty())
    return Invalid("spec.provider is required (slack, generic, github, gitlab)");
  const Provider* found = std::find_if(std::begin(kProviders), std::end(kProviders),
                                       [&](Provider p) { return *provider == ToString(p); });
  if (found == std::end(kProviders)) {
    return Invalid("spec.provider must be slack, generic, github or gitlab, not " +
                   Quoted(*provider));
  }
  out.provider = *found;

  if (!Absent(*spec, "secretRef")) {
    if (!(*spec)["secretRef"].is_object()) return Invalid("spec.secretRef must be a map");
    auto name = OptionalString((*spec)["secretRef"], "name", "spec.secretRef.name");
    if (!name.ok()) return name.error();
    out.secret_name = *name;
  }
  if (out.secret_name.empty()) {
    return Invalid(std::string("spec.secretRef.name is required (the Secret with the ") +
                   (IsCommitStatus(out.provider) ? "API token" : "webhook address") + ")");
  }

  if (Status s = ParseApplications(*spec, &out); !s.ok()) return s.error();
  if (Status s = ParseEvents(*spec, &out); !s.ok()) return s.error();

  auto repository = OptionalString(*spec, "repository", "spec.repository");
  if (!repository.ok()) return repository.error();
  auto context = OptionalString(*spec, "context", "spec.context");
  if (!context.ok()) return context.error();
  if (!IsCommitStatus(out.provider)) {
    for (const char* field : {"repository", "context"}) {
      if (!Absent(*spec, field)) {
        return Invalid(std::string("spec.") + field + " applies only to github and gitlab, not " +
                       ToString(out.provider));
      }
    }
  }
  if (!repository->empty() && !ValidRepository(out.provider, *repository)) {
    return Invalid(
        "spec.repository " + Quoted(*repository) + " is not a " +
        (out.provider == Provider::kGithub ? "GitHub owner/repo" : "GitLab project path or id"));
  }
  out.repository = *repository;
  if (!Absent(*spec, "context")) {
    if (context->empty() || context->size() > 255 || !IsValidUtf8(*context)) {
      return Invalid("spec.context must be 1 to 255 characters of text");
    }
    out.context = *context;
  }

  if (!Absent(*spec, "suspend")) {
    if (!(*spec)["suspend"].is_boolean()) return Invalid("spec.suspend must be a boolean");
    out.suspend = (*spec)["suspend"].get<bool>();
  }
  return out;
}

bool Selects(const NotifierSpec& notifier, const Event& event) {
  if (notifier.suspend || notifier.ns != event.app_namespace) return false;
  if (!notifier.application_names.empty() || !notifier.match_labels.empty()) {
    const auto& names = notifier.application_names;
    bool selected = std::find(names.begin(), names.end(), event.app_name) != names.end();
    if (!selected && !notifier.match_labels.empty()) {
      selected = std::all_of(notifier.match_labels.begin(), notifier.match_labels.end(),
                             [&](const auto& label) {
                               auto it = event.app_labels.find(label.first);
                               return it != event.app_labels.end() && it->second == label.second;
                             });
    }
    if (!selected) return false;
  }
  const auto& events = notifier.events;
  if (!IsCommitStatus(notifier.provider)) {
    return event.type != EventType::kApplying && (events.empty() || events.count(event.type));
  }
  if (event.revision.empty()) return false;  // no commit to mark
  switch (event.type) {
    case EventType::kApplying:
      return events.empty() ||
             (events.count(EventType::kDeployed) && events.count(EventType::kFailed));
    case EventType::kReverted:
      // A revert is a deployment too: a commit marked pending must end in success.
      return events.empty() || events.count(EventType::kReverted) ||
             events.count(EventType::kDeployed);
    case EventType::kDeployed:
    case EventType::kRecovered:
    case EventType::kFailed:
      return events.empty() || events.count(event.type);
    case EventType::kDrifted:
    case EventType::kDriftCorrected:
      return false;
  }
  return false;
}

std::optional<std::string> RepositoryFromUrl(const std::string& repo_url) {
  std::string_view url = repo_url;
  std::string_view path;
  if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    const std::string_view rest = url.substr(scheme + 3);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::string_view authority = rest.substr(0, slash);
    if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
      authority = authority.substr(at + 1);
    }
    if (authority.empty()) return std::nullopt;  // file:///srv/git/repo
    path = rest.substr(slash + 1);
  } else {
    // scp-like: [user@]host:path
    const size_t colon = url.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const std::string_view host = url.substr(0, colon);
    if (host.find('/') != std::string_view::npos || host.back() == '@') return std::nullopt;
    path = url.substr(colon + 1);
  }
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.size() > 4 && path.substr(path.size() - 4) == ".git") path.remove_suffix(4);
  const auto segments = Split(path, '/');
  if (segments.size() < 2 || !std::all_of(segments.begin(), segments.end(), IsSegment)) {
    return std::nullopt;
  }
  return std::string(path);
}

bool ValidRepository(Provider provider, std::string_view repository) {
  if (repository.empty() || repository.size() > 512) return false;
  const auto segments = Split(repository, '/');
  const bool paths = std::all_of(segments.begin(), segments.end(), IsSegment);
  switch (provider) {
    case Provider::kGithub:
      return segments.size() == 2 && paths;
    case Provider::kGitlab:
      if (std::all_of(repository.begin(), repository.end(),
                      [](unsigned char c) { return std::isdigit(c); })) {
        return true;  // a project id
      }
      return segments.size() >= 2 && paths;
    case Provider::kSlack:
    case Provider::kGeneric:
      return false;
  }
  return false;
}

}  // namespace plumbline::notify
