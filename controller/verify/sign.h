// Signs a commit the way git does (`git commit -S`), for `plumbline revert --signing-key`: the
// rollback commit must verify under the Application's spec.verify like any other. Runs the
// user's own tools, as git would: ssh-keygen for SSH keys, gpg for OpenPGP keys.
#pragma once

#include <chrono>
#include <string>

#include "common/error.h"

namespace plumbline::verify {

struct SigningKey {
  enum class Format { kSsh, kOpenPgp };
  Format format = Format::kSsh;
  // kSsh: the private key file (or its .pub with the key in ssh-agent), as git's
  // user.signingKey. kOpenPgp: a key id, fingerprint or email gpg knows.
  std::string key;
  std::string program;                                         // "" = ssh-keygen or gpg, from PATH
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};  // a passphrase prompt may wait
};

// The armored detached signature of `data` ("-----BEGIN SSH SIGNATURE-----" in git's "git"
// namespace, or "-----BEGIN PGP SIGNATURE-----").
Result<std::string> Sign(const SigningKey& key, const std::string& data);

// "ssh" or "openpgp" (git's gpg.format spells OpenPGP "openpgp").
Result<SigningKey::Format> ParseSigningFormat(const std::string& text);

}  // namespace plumbline::verify
