// Slack's side of a slash command: the request signature (Slack's "v0" signing scheme) and the
// form-encoded body. Stateless and thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "common/error.h"

namespace plumbline::chatops {

// Checks a request Slack signed with the app's signing secret: `x-slack-signature` must be
// "v0=" + hex HMAC-SHA256(secret, "v0:" + x-slack-request-timestamp + ":" + body), compared in
// constant time, and the timestamp (decimal seconds) within `window` of `now`, either way.
// `headers` has lower-cased names. Errors say which check failed: kTimeout when the timestamp is
// outside the window (a replay, or a skewed clock), kUnauthorized for anything else. An empty
// secret verifies nothing (anyone can compute an HMAC with it).
Status VerifySlackRequest(const std::string& signing_secret,
                          const std::map<std::string, std::string>& headers,
                          const std::string& body, std::chrono::system_clock::time_point now,
                          std::chrono::seconds window = std::chrono::minutes(5));

// An application/x-www-form-urlencoded body: '+' is a space, %XX a byte, a '%' not followed by
// two hex digits stays as it is; a pair without '=' has an empty value; the first of repeated
// keys wins.
std::map<std::string, std::string> ParseForm(const std::string& body);

}  // namespace plumbline::chatops
