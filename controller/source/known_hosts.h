// Checks an SSH host key against OpenSSH known_hosts text, so an unknown or changed host key
// fails the fetch. Stateless and thread-safe.
#pragma once

#include <string>

namespace plumbline::source {

// True when `known_hosts` lists `key_blob` (the raw public key, as in the base64 field) for
// `host` on `port`. Understands host lists, "[host]:port", hashed "|1|salt|hash" names and the
// @revoked marker (a revoked key never matches).
bool KnownHostsAccepts(const std::string& known_hosts, const std::string& host, int port,
                       const std::string& key_blob);

}  // namespace plumbline::source
