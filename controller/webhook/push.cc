#include "webhook/push.h"

#include <algorithm>
#include <cctype>

#include "common/json.h"

namespace plumbline::webhook {
namespace {

constexpr char kHeads[] = "refs/heads/";
constexpr char kTags[] = "refs/tags/";

Result<Json> ParseObject(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(ErrorCode::kInvalidArgument, "the body is not JSON");
  if (!j.is_object()) return Error(ErrorCode::kInvalidArgument, "the body is not a JSON object");
  return j;
}

// Fills branch/tag from a "refs/heads/x" or "refs/tags/x" ref.
Status SetRef(const std::string& ref, Push* push) {
  if (ref.rfind(kHeads, 0) == 0 && ref.size() > sizeof(kHeads) - 1) {
    push->branch = ref.substr(sizeof(kHeads) - 1);
  } else if (ref.rfind(kTags, 0) == 0 && ref.size() > sizeof(kTags) - 1) {
    push->tag = ref.substr(sizeof(kTags) - 1);
  } else {
    return Error(ErrorCode::kInvalidArgument,
                 "ref \"" + ref.substr(0, 200) + "\" is not a branch or tag");
  }
  return Status::Ok();
}

Result<Push> FromRepository(const Json& repo, std::initializer_list<const char*> url_keys,
                            const char* default_branch_key, const std::string& ref) {
  Push push;
  for (const char* key : url_keys) {
    std::string url = StringAt(repo, key);
    if (!url.empty()) push.repo_urls.push_back(url);
  }
  if (push.repo_urls.empty()) {
    return Error(ErrorCode::kInvalidArgument, "the payload names no repository URL");
  }
  push.default_branch = StringAt(repo, default_branch_key);
  if (Status s = SetRef(ref, &push); !s.ok()) return s.error();
  return push;
}

}  // namespace

Result<Push> ParseGitHub(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.error();
  if (!j->contains("repository") || !(*j)["repository"].is_object()) {
    return Error(ErrorCode::kInvalidArgument, "not a push event: no repository");
  }
  return FromRepository((*j)["repository"], {"clone_url", "ssh_url", "html_url", "git_url"},
                        "default_branch", StringAt(*j, "ref"));
}

Result<Push> ParseGitLab(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.error();
  if (!j->contains("project") || !(*j)["project"].is_object()) {
    return Error(ErrorCode::kInvalidArgument, "not a push event: no project");
  }
  return FromRepository((*j)["project"], {"git_http_url", "git_ssh_url", "web_url"},
                        "default_branch", StringAt(*j, "ref"));
}

Result<Push> ParseGeneric(const std::string& body) {
  auto j = ParseObject(body);
  if (!j.ok()) return j.error();
  Push push;
  std::string url = StringAt(*j, "repoURL");
  if (url.empty()) return Error(ErrorCode::kInvalidArgument, "repoURL is required");
  push.repo_urls.push_back(url);
  std::string revision = StringAt(*j, "revision");
  if (revision.rfind("refs/", 0) == 0) {
    if (Status s = SetRef(revision, &push); !s.ok()) return s.error();
  } else {
    push.branch = revision;  // a branch name, or "" for "whatever it tracks"
  }
  return push;
}

std::string NormalizeRepoUrl(const std::string& raw) {
  std::string url = raw;
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.pop_back();
  size_t start = 0;
  while (start < url.size() && std::isspace(static_cast<unsigned char>(url[start]))) ++start;
  url = url.substr(start);
  std::string host_and_path;
  if (auto scheme = url.find("://"); scheme != std::string::npos) {
    host_and_path = url.substr(scheme + 3);
    // Drop user[:password]@ before the host.
    auto slash = host_and_path.find('/');
    auto at = host_and_path.rfind('@', slash);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      host_and_path = host_and_path.substr(at + 1);
    }
  } else if (auto colon = url.find(':'); colon != std::string::npos && url.find('/') > colon) {
    // scp-like ssh: [user@]host:path
    std::string host = url.substr(0, colon);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
    std::string path = url.substr(colon + 1);
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    host_and_path = host + "/" + path;
  } else {
    host_and_path = url;
  }
  auto slash = host_and_path.find('/');
  std::string host = host_and_path.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : host_and_path.substr(slash);
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  // Default ports say nothing.
  for (const char* port : {":443", ":22", ":80", ":9418"}) {
    const std::string p = port;
    if (host.size() > p.size() && host.compare(host.size() - p.size(), p.size(), p) == 0) {
      host.erase(host.size() - p.size());
    }
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".git") == 0)
    path.erase(path.size() - 4);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return host + path;
}

bool Concerns(const Push& push, const std::string& repo_url, const std::string& revision) {
  const std::string want = NormalizeRepoUrl(repo_url);
  bool same_repo = std::any_of(push.repo_urls.begin(), push.repo_urls.end(),
                               [&](const std::string& u) { return NormalizeRepoUrl(u) == want; });
  if (!same_repo) return false;
  if (!push.tag.empty()) return revision == push.tag || revision == std::string(kTags) + push.tag;
  if (push.branch.empty()) return true;
  if (revision.empty()) return push.default_branch.empty() || push.default_branch == push.branch;
  return revision == push.branch || revision == std::string(kHeads) + push.branch;
}

}  // namespace plumbline::webhook
