#include "notify/providers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

#include "common/base64.h"
#include "common/redact.h"
#include "common/rfc3339.h"

namespace plumbline::notify {
namespace {

constexpr size_t kShortSha = 12;
constexpr size_t kStatusDescription = 140;  // GitHub's limit, in characters
constexpr size_t kSlackHeader = 150;        // Slack's limits
constexpr size_t kSlackField = 1900;
constexpr size_t kSlackText = 2900;
constexpr char kEllipsis[] = "\u2026";

Error Invalid(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

std::string Trimmed(std::string_view s) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// At most `max` characters (code points) of valid UTF-8 `text`, cut ones replaced by "…".
std::string Bounded(const std::string& text, size_t max) {
  size_t chars = 0;
  size_t cut = text.size();  // byte offset where character max-1 starts
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max - 1) cut = i;
    if (++chars > max) return text.substr(0, cut) + kEllipsis;
  }
  return text;
}

// Text from git or an error, as it may be shown: credentials in URLs gone, valid UTF-8, bounded.
std::string Shown(const std::string& text, size_t max) { return Bounded(SafeText(text), max); }

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string Short(const std::string& sha) { return sha.substr(0, kShortSha); }

std::string AppOf(const Event& e) { return e.app_namespace + "/" + e.app_name; }

// "2 created, 1 configured, 0 deleted" (", 3 drifted" when some); "" when there is nothing to
// count (drifted: only the drift; failed: only what was done before the failure).
std::string Counts(const Event& e) {
  if (e.type == EventType::kDrifted) return std::to_string(e.drifted) + " drifted";
  if (e.type == EventType::kFailed && e.created + e.configured + e.deleted == 0) return "";
  std::string out = std::to_string(e.created) + " created, " + std::to_string(e.configured) +
                    " configured, " + std::to_string(e.deleted) + " deleted";
  if (e.drifted > 0) out += ", " + std::to_string(e.drifted) + " drifted";
  return out;
}

// One line: "team/web: failed at Render (RenderFailed): <message>", "team/web: deployed
// abc123def456 (2 created, ...)".
std::string Summary(const Event& e, bool with_revision) {
  std::string out = AppOf(e) + ": " + ToString(e.type);
  if (e.type == EventType::kFailed) {
    if (!e.phase.empty()) out += " at " + e.phase;
    if (!e.reason.empty()) out += " (" + e.reason + ")";
  } else if (with_revision && !e.revision.empty()) {
    out += " " + Short(e.revision);
  }
  // Applying has nothing done yet to count, and its message only restates it.
  if (e.type == EventType::kApplying) return out;
  const std::string counts = Counts(e);
  if (!counts.empty()) out += " (" + counts + ")";
  if (!e.message.empty()) out += ": " + FirstLine(e.message);
  return out;
}

// Slack mrkdwn of `text` (made safe), at most `max` characters. Slack gives &, < and > meaning
// (links, mentions): escaped, they show as typed. An escape is never cut in half.
std::string Mrkdwn(const std::string& text, size_t max) {
  const std::string safe = SafeText(text);
  std::vector<std::string> pieces;  // one per character, escaped
  size_t width = 0;                 // characters Slack counts
  for (size_t i = 0; i < safe.size();) {
    size_t len = 1;
    while (i + len < safe.size() && (static_cast<unsigned char>(safe[i + len]) & 0xC0) == 0x80) {
      ++len;
    }
    const char c = safe[i];
    pieces.push_back(c == '&'   ? "&amp;"
                     : c == '<' ? "&lt;"
                     : c == '>' ? "&gt;"
                                : safe.substr(i, len));
    width += len == 1 ? pieces.back().size() : 1;
    i += len;
  }
  std::string out;
  size_t used = 0;
  for (const std::string& piece : pieces) {
    const size_t w = piece.size() > 1 && piece[0] == '&' ? piece.size() : 1;
    if (width > max && used + w > max - 1) return out + kEllipsis;
    out += piece;
    used += w;
  }
  return out;
}

const char* Emoji(EventType type) {
  switch (type) {
    case EventType::kDeployed:
    case EventType::kRecovered:
      return ":white_check_mark:";
    case EventType::kFailed:
      return ":x:";
    case EventType::kDrifted:
      return ":warning:";
    case EventType::kDriftCorrected:
      return ":wrench:";
    case EventType::kReverted:
      return ":rewind:";
    case EventType::kApplying:
      return ":hourglass_flowing_sand:";
  }
  return "";
}

std::string DumpJson(const Json& body) {
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

struct Url {
  std::string base;  // scheme://host[:port]
  std::string path;  // "/..." with any query, never empty
};

bool IsHostChar(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_'; }

// An http(s) URL of the Secret. Errors say what is wrong, never what the URL is.
Result<Url> ParseUrl(const std::string& text, const std::string& what) {
  const size_t scheme_end = text.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : text.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") return Invalid(what + " is not an http(s) URL");
  const std::string rest = text.substr(scheme_end + 3);
  for (unsigned char c : rest) {
    if (c <= 0x20 || c >= 0x7f) {
      return Invalid(what + " holds a space, control or non-ASCII character");
    }
  }
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string::npos) {
    return Invalid(what + " holds credentials (user:password@), which are not sent");
  }
  std::string host = authority, port;
  if (!host.empty() && host.front() == '[') {  // IPv6
    const size_t close = host.find(']');
    if (close == std::string::npos) return Invalid(what + " has an invalid host");
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](unsigned char c) {
          return std::isxdigit(c) || c == ':' || c == '.';
        })) {
      return Invalid(what + " has an invalid host");
    }
  } else {
    const size_t colon = host.find(':');
    if (colon != std::string::npos) {
      port = host.substr(colon);
      host = host.substr(0, colon);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) {
      return Invalid(what + " has an invalid host");
    }
  }
  if (!port.empty()) {
    const std::string digits = port.substr(1);
    if (port[0] != ':' || digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c); }) ||
        std::stoi(digits) == 0 || std::stoi(digits) > 65535) {
      return Invalid(what + " has an invalid port");
    }
  }
  std::string path = rest.substr(authority_end);
  path = path.substr(0, path.find('#'));
  if (path.empty() || path.front() == '?') path = "/" + path;
  return Url{scheme + "://" + authority, path};
}

std::string HmacSha256Hex(const std::string& key, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

http::Request JsonPost(std::string path, const Json& body) {
  http::Request request;
  request.method = "POST";
  request.path = std::move(path);
  request.body = DumpJson(body);
  request.content_type = "application/json";
  request.headers["User-Agent"] = "plumbline";
  return request;
}

Json SlackText(const char* type, const std::string& text) {
  Json t = {{"type", type}, {"text", text}};
  if (std::string_view(type) == "plain_text") t["emoji"] = true;
  return t;
}

Result<Delivery> FormatSlack(const ProviderSecret& secret, const Event& e) {
  if (secret.address.empty()) return Invalid("the Secret has no address (the Slack webhook URL)");
  auto url = ParseUrl(secret.address, "the Secret's address");
  if (!url.ok()) return url.error();

  Json blocks = Json::array();
  blocks.push_back({{"type", "header"},
                    {"text", SlackText("plain_text", Shown(std::string(Emoji(e.type)) + " " +
                                                               AppOf(e) + " " + ToString(e.type),
                                                           kSlackHeader))}});
  Json fields = Json::array();
  const auto field = [&](const std::string& name, const std::string& value) {
    if (value.empty()) return;
    fields.push_back(SlackText("mrkdwn", "*" + name + "*\n" + Mrkdwn(value, kSlackField)));
  };
  field("Revision", Short(e.revision));
  field("Author", e.author);
  field("Commit", FirstLine(e.subject));
  field("Changes", Counts(e));
  if (e.type == EventType::kFailed) {
    field("Phase", e.phase);
    field("Reason", e.reason);
  }
  if (!fields.empty()) blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
  if (!e.message.empty()) {
    const std::string label = e.type == EventType::kFailed ? "*Error*\n" : "";
    blocks.push_back({{"type", "section"},
                      {"text", SlackText("mrkdwn", label + Mrkdwn(e.message, kSlackText))}});
  }
  if (!e.trace_id.empty()) {
    blocks.push_back(
        {{"type", "context"},
         {"elements", Json::array({SlackText("mrkdwn", "trace " + Mrkdwn(e.trace_id, 128))})}});
  }
  Json body = {{"text", Mrkdwn(Summary(e, true), kSlackText)}, {"blocks", std::move(blocks)}};
  return Delivery{url->base, JsonPost(url->path, body)};
}

Result<Delivery> FormatGeneric(const ProviderSecret& secret, const Event& e) {
  if (secret.address.empty()) return Invalid("the Secret has no address (the webhook URL)");
  auto url = ParseUrl(secret.address, "the Secret's address");
  if (!url.ok()) return url.error();
  Json body = {
      {"event", ToString(e.type)},
      {"application", {{"namespace", e.app_namespace}, {"name", e.app_name}}},
      {"revision", e.revision},
      {"author", SafeText(e.author)},
      {"subject", SafeText(e.subject)},
      {"phase", e.phase},
      {"reason", e.reason},
      {"message", SafeText(e.message)},
      {"counts",
       {{"created", e.created},
        {"configured", e.configured},
        {"deleted", e.deleted},
        {"drifted", e.drifted}}},
      {"traceID", e.trace_id},
      {"time", FormatRfc3339(e.time)},
  };
  Delivery d{url->base, JsonPost(url->path, body)};
  d.request.headers[kEventHeader] = ToString(e.type);
  if (!secret.token.empty()) {
    d.request.headers[kSignatureHeader] = "sha256=" + HmacSha256Hex(secret.token, d.request.body);
  }
  return d;
}

bool IsSha(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

// What a commit status needs whatever the provider: the API base, the token, the repository.
struct CommitTarget {
  Url api;
  std::string repository;
};

Result<CommitTarget> CommitTargetOf(const NotifierSpec& n, const ProviderSecret& secret,
                                    const Event& e) {
  const bool github = n.provider == Provider::kGithub;
  const std::string name = github ? "GitHub" : "GitLab";
  if (secret.token.empty()) return Invalid("the Secret has no token (the " + name + " API token)");
  for (unsigned char c : secret.token) {
    if (c < 0x21 || c == 0x7f) {
      return Invalid("the Secret's token holds a space or control character");
    }
  }
  if (!IsSha(e.revision)) return Invalid("the revision is not a full commit sha");
  std::string address = secret.address;
  if (address.empty()) address = github ? kDefaultGithubApi : kDefaultGitlabApi;
  auto api = ParseUrl(address, "the Secret's address (the " + name + " API URL)");
  if (!api.ok()) return api.error();
  if (api->path.find('?') != std::string::npos) {
    return Invalid("the Secret's address (the " + name + " API URL) has a query");
  }
  while (!api->path.empty() && api->path.back() == '/') api->path.pop_back();
  std::string repository = n.repository;
  if (repository.empty()) repository = RepositoryFromUrl(e.repo_url).value_or("");
  if (!ValidRepository(n.provider, repository)) {
    return Invalid("the Application's repository URL does not name a " + name +
                   (github ? " owner/repo" : " project") + ": set spec.repository");
  }
  return CommitTarget{*api, repository};
}

// spec.context, else one per Application: two Applications deploying from one repository (a
// monorepo) each keep their own status on a commit instead of overwriting each other's.
std::string StatusContext(const NotifierSpec& n, const Event& e) {
  if (!n.context.empty()) return n.context;
  return "plumbline/" + e.app_namespace + "/" + e.app_name;
}

Result<Delivery> FormatGithub(const NotifierSpec& n, const ProviderSecret& secret, const Event& e) {
  auto target = CommitTargetOf(n, secret, e);
  if (!target.ok()) return target.error();
  const char* state = e.type == EventType::kApplying ? "pending"
                      : e.type == EventType::kFailed ? "failure"
                                                     : "success";
  Json body = {{"state", state},
               {"context", StatusContext(n, e)},
               {"description", Shown(Summary(e, false), kStatusDescription)}};
  Delivery d{target->api.base,
             JsonPost(target->api.path + "/repos/" + target->repository + "/statuses/" + e.revision,
                      body)};
  d.request.headers["Authorization"] = "Bearer " + secret.token;
  d.request.headers["Accept"] = "application/vnd.github+json";
  return d;
}

Result<Delivery> FormatGitlab(const NotifierSpec& n, const ProviderSecret& secret, const Event& e) {
  auto target = CommitTargetOf(n, secret, e);
  if (!target.ok()) return target.error();
  const char* state = e.type == EventType::kApplying ? "running"
                      : e.type == EventType::kFailed ? "failed"
                                                     : "success";
  Json body = {{"state", state},
               {"name", StatusContext(n, e)},
               {"description", Shown(Summary(e, false), kStatusDescription)}};
  Delivery d{target->api.base,
             JsonPost(target->api.path + "/projects/" + http::EscapeQueryValue(target->repository) +
                          "/statuses/" + e.revision,
                      body)};
  d.request.headers["PRIVATE-TOKEN"] = secret.token;
  return d;
}

}  // namespace

Result<ProviderSecret> ParseProviderSecret(const Json& secret) {
  ProviderSecret out;
  const Json* data = MemberAt(&secret, "data");
  for (auto [key, target] : {std::pair{"address", &out.address}, std::pair{"token", &out.token}}) {
    const Json* value = MemberAt(data, key);
    if (value == nullptr || value->is_null()) continue;
    if (!value->is_string())
      return Invalid(std::string("the Secret's data.") + key + " is not base64");
    auto decoded = Base64Decode(value->get<std::string>());
    if (!decoded.ok()) return Invalid(std::string("the Secret's data.") + key + " is not base64");
    *target = Trimmed(*decoded);
  }
  return out;
}

Result<Delivery> Format(const NotifierSpec& notifier, const ProviderSecret& secret,
                        const Event& event) {
  switch (notifier.provider) {
    case Provider::kSlack:
      return FormatSlack(secret, event);
    case Provider::kGeneric:
      return FormatGeneric(secret, event);
    case Provider::kGithub:
      return FormatGithub(notifier, secret, event);
    case Provider::kGitlab:
      return FormatGitlab(notifier, secret, event);
  }
  return Invalid("unknown provider");
}

}  // namespace plumbline::notify
