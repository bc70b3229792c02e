// What each provider is sent for an event: the HTTP request, built by pure functions (the
// Dispatcher sends it). Text from git and errors is made safe (SafeText) and bounded.
//
//   slack    POST to the webhook URL: {"text": fallback, "blocks": [header, sections, context]}
//   generic  POST to the URL: {"event", "application": {"namespace", "name"}, "revision",
//            "author", "subject", "phase", "reason", "message", "counts": {"created",
//            "configured", "deleted", "drifted"}, "traceID", "time"}; headers X-Plumbline-Event
//            and, with a token, X-Plumbline-Signature: sha256=<hex HMAC-SHA256(token, body)>
//   github   POST {api}/repos/{owner}/{repo}/statuses/{sha}, Authorization: Bearer <token>,
//            {"state": pending|success|failure, "context", "description"}
//   gitlab   POST {api}/projects/{escaped id}/statuses/{sha}, PRIVATE-TOKEN: <token>,
//            {"state": running|success|failed, "name", "description"}
//
// The Secret's address and token are credentials (a Slack webhook URL is one): no error here
// contains either.
#pragma once

#include <string>

#include "common/error.h"
#include "common/json.h"
#include "http/http_client.h"
#include "notify/event.h"
#include "notify/notifier.h"

namespace plumbline::notify {

inline constexpr char kDefaultGithubApi[] = "https://api.github.com";
inline constexpr char kDefaultGitlabApi[] = "https://gitlab.com/api/v4";
inline constexpr char kSignatureHeader[] = "X-Plumbline-Signature";
inline constexpr char kEventHeader[] = "X-Plumbline-Event";

struct ProviderSecret {
  // data.address. slack, generic: the webhook URL (required); github, gitlab: the API base URL
  // ("" = kDefaultGithubApi, kDefaultGitlabApi), whose path is kept as a prefix
  // (https://ghe.example/api/v3).
  std::string address;
  // data.token. github, gitlab: the API token (required); generic: the HMAC key (optional).
  std::string token;
};

// Reads data.address and data.token of a Secret object. Surrounding whitespace is trimmed (the
// newline `echo` leaves is not part of a URL or a token).
Result<ProviderSecret> ParseProviderSecret(const Json& secret);

struct Delivery {
  std::string base_url;  // scheme://host[:port]
  http::Request request;
};

// The request that tells `notifier`'s provider of `event`. Errors are configuration errors
// (kInvalidArgument): a missing or malformed address or token, no repository for a commit status,
// a revision that is not a commit sha.
Result<Delivery> Format(const NotifierSpec& notifier, const ProviderSecret& secret,
                        const Event& event);

}  // namespace plumbline::notify
