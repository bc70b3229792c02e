#include "source/known_hosts.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sstream>
#include <vector>

#include "common/base64.h"

namespace plumbline::source {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
  return out;
}

// "|1|base64(salt)|base64(HMAC-SHA1(salt, name))"
bool HashedNameMatches(const std::string& pattern, const std::string& name) {
  auto parts = Split(pattern, '|');  // "", "1", salt, hash
  if (parts.size() != 4 || parts[1] != "1") return false;
  auto salt = Base64Decode(parts[2]);
  auto hash = Base64Decode(parts[3]);
  if (!salt.ok() || !hash.ok()) return false;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), salt->data(), static_cast<int>(salt->size()),
       reinterpret_cast<const unsigned char*>(name.data()), name.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len) == *hash;
}

bool NameMatches(const std::string& pattern, const std::string& name) {
  if (!pattern.empty() && pattern[0] == '|') return HashedNameMatches(pattern, name);
  return pattern == name;
}

}  // namespace

bool KnownHostsAccepts(const std::string& known_hosts, const std::string& host, int port,
                       const std::string& key_blob) {
  // known_hosts writes a non-default port as "[host]:port".
  std::string name = port == 22 || port == 0 ? host : "[" + host + "]:" + std::to_string(port);
  bool accepted = false;
  std::stringstream lines(known_hosts);
  for (std::string line; std::getline(lines, line);) {
    std::stringstream fields(line);
    std::string first, hosts, type, key;
    fields >> first;
    if (first.empty() || first[0] == '#') continue;
    bool revoked = false;
    if (first[0] == '@') {
      if (first == "@revoked")
        revoked = true;
      else
        continue;  // @cert-authority: certificates are not supported
      fields >> hosts;
    } else {
      hosts = first;
    }
    fields >> type >> key;
    bool host_matches = false;
    for (const auto& pattern : Split(hosts, ',')) {
      if (NameMatches(pattern, name)) host_matches = true;
    }
    if (!host_matches) continue;
    auto blob = Base64Decode(key);
    if (!blob.ok() || *blob != key_blob) continue;
    if (revoked) return false;
    accepted = true;
  }
  return accepted;
}

}  // namespace plumbline::source
