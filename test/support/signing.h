// Keys that sign commits and tags the way users do (git's gpg.format=ssh and openpgp), for the
// tests of spec.verify: real ssh-keygen and gpg, in temporary directories the test owns.
#pragma once

#include <string>
#include <vector>

namespace plumbline::testing {

struct SigningKey {
  std::string format;       // "ssh" or "openpgp"
  std::string key;          // ssh: the private key file; openpgp: the fingerprint
  std::string public_key;   // the authorized_keys line, or the ASCII-armored public key
  std::string fingerprint;  // "SHA256:..." (ssh) or the hex fingerprint (openpgp)
  std::string gpg_program;  // openpgp: a gpg that uses this key's own home directory
  // `git -c ...` options that make `commit -S` and `tag -s` sign with this key.
  std::vector<std::string> GitConfig() const;
};

// An ed25519 SSH key in `dir`, with `comment` on its public key line.
SigningKey NewSshSigningKey(const std::string& dir, const std::string& comment);
// An ed25519 OpenPGP key for "Name <email>" in a new GNUPGHOME under `dir`.
SigningKey NewOpenPgpSigningKey(const std::string& dir, const std::string& uid);

// Commits everything in the repository at `repo_dir` signed with `key`; returns the commit.
std::string CommitSigned(const std::string& repo_dir, const std::string& message,
                         const SigningKey& key);
// Tags HEAD with an annotated tag: signed with `key`, or unsigned when `key` is null.
void TagAnnotated(const std::string& repo_dir, const std::string& name, const SigningKey* key);

// Stops the gpg-agent a key's home directory started.
void StopGpgAgent(const SigningKey& key);

}  // namespace plumbline::testing
