// Webhook signatures: HMAC-SHA256 and constant-time comparison. OpenSSL stays behind this file.
#pragma once

#include <string>

namespace plumbline::webhook {

// Lower-case hex of HMAC-SHA256(key, message).
std::string HmacSha256Hex(const std::string& key, const std::string& message);

// Equality whose time does not depend on where the strings differ (only on their length).
bool ConstantTimeEquals(const std::string& a, const std::string& b);

// Checks a "sha256=<hex>" header (GitHub's X-Hub-Signature-256, our X-Signature) against the
// body. The hex may be upper- or lower-case.
bool ValidSha256Signature(const std::string& header, const std::string& secret,
                          const std::string& body);

}  // namespace plumbline::webhook
