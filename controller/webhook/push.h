// Push events from git hosts (PRODUCT §5): what was pushed where, and which Applications it
// concerns. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace plumbline::webhook {

struct Push {
  std::vector<std::string> repo_urls;  // every URL form the payload names (https, ssh, ...)
  std::string branch;          // the pushed branch; "" for a tag or when the payload names none
  std::string default_branch;  // the repository's default branch, when the payload tells
  std::string tag;             // the pushed tag, for a tag push
};

// GitHub "push": repository.clone_url, ssh_url, html_url, git_url; ref "refs/heads/x".
Result<Push> ParseGitHub(const std::string& body);
// GitLab "Push Hook" / "Tag Push Hook": project.git_http_url, git_ssh_url, web_url.
Result<Push> ParseGitLab(const std::string& body);
// {"repoURL": "...", "revision": "main"?}: any sender that can compute an HMAC.
Result<Push> ParseGeneric(const std::string& body);

// One form for every way of writing a repository's URL: no scheme, user, ".git" suffix or
// trailing slash, lower-case host, and scp-like ssh ("git@host:org/repo") as host/org/repo.
// "https://GitHub.com/Org/Repo.git", "git@github.com:Org/Repo" and
// "ssh://git@github.com/Org/Repo/" all give "github.com/Org/Repo".
std::string NormalizeRepoUrl(const std::string& url);

// Whether a push concerns an Application that tracks `repo_url` at `revision` ("" = the
// remote's HEAD branch). A branch push concerns Applications on that branch (or on HEAD, when
// it is the default branch or the payload does not say); a tag push concerns Applications on
// that tag (a moved tag); a push that names no ref (generic, no revision) concerns every
// Application of the repository.
bool Concerns(const Push& push, const std::string& repo_url, const std::string& revision);

}  // namespace plumbline::webhook
