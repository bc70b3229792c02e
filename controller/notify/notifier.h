// The Notifier custom resource (plumbline.dev/v1alpha1, kind Notifier, namespaced): where the
// events of a namespace's Applications are sent, and which ones. Plain values, pure functions.
//
//   spec:
//     provider: slack | generic | github | gitlab
//     secretRef: {name: ...}          # data.address, data.token (providers.h)
//     applications:                   # absent: every Application of the namespace
//       names: [web, api]
//       selector: {matchLabels: {team: a}}
//     events: [deployed, failed, ...]  # absent: all
//     repository: owner/repo          # github, gitlab: "" = from the Application's repo URL
//     context: plumbline/prod         # github, gitlab: the commit status's context or name
//     suspend: false
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "notify/event.h"

namespace plumbline::notify {

inline constexpr char kApiVersion[] = "plumbline.dev/v1alpha1";
inline constexpr char kKind[] = "Notifier";
inline constexpr char kPlural[] = "notifiers";

enum class Provider { kSlack, kGeneric, kGithub, kGitlab };
// "slack", "generic", "github", "gitlab", as spec.provider spells them.
const char* ToString(Provider provider);
// GitHub and GitLab mark commits (a commit status) rather than post messages.
bool IsCommitStatus(Provider provider);

struct NotifierSpec {
  std::string ns, name;
  Provider provider = Provider::kGeneric;
  std::string secret_name;  // spec.secretRef.name
  // spec.applications.names; empty with no selector = every Application of the namespace.
  std::vector<std::string> application_names;
  std::map<std::string, std::string> match_labels;  // spec.applications.selector.matchLabels
  std::set<EventType> events;  // spec.events; empty = all user-selectable events
  // spec.repository: github "owner/repo", gitlab project path or numeric id; "" = derived from
  // the Application's repo URL.
  std::string repository;
  // spec.context: the commit status's context (GitHub) or name (GitLab); "" = one per
  // Application, "plumbline/<namespace>/<name>".
  std::string context;
  bool suspend = false;
};

// Reads a Notifier object. Errors name the field and are spec errors: retrying will not fix them.
Result<NotifierSpec> ParseNotifier(const Json& notifier);

// Whether `notifier` is told of `event`:
//   - never when suspended, and only for Applications of its own namespace;
//   - the Application is listed in names, or matches every selector label (neither set: all);
//   - the event type is in spec.events (empty: all). Commit-status providers get only the
//     events that end in a commit state (applying, deployed, reverted, recovered, failed), and
//     only with a revision; applying (pending) only when both its outcomes, deployed and
//     failed, are sent too, so a commit is never left pending; reverted when deployed is.
bool Selects(const NotifierSpec& notifier, const Event& event);

// The repository path of a git URL, for commit statuses: "https://github.com/o/r.git",
// "git@github.com:o/r.git" -> "o/r"; "ssh://git@host:22/group/sub/r" -> "group/sub/r".
// nullopt when the URL names no host or fewer than two path segments.
std::optional<std::string> RepositoryFromUrl(const std::string& repo_url);

// Whether `repository` can name a repository of `provider` (and go into its API paths):
// github "owner/repo"; gitlab a numeric project id or a path "group/sub/repo".
bool ValidRepository(Provider provider, std::string_view repository);

}  // namespace plumbline::notify
