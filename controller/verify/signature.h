// The signature seam: checks a detached signature over git's signed bytes (a commit without its
// gpgsig header, or a tag without its trailing signature) against the keys an Application
// trusts. SSH signatures (git's gpg.format=ssh, the SSHSIG format) are verified in-process with
// OpenSSL; OpenPGP signatures by gpgv, which checks against a keyring and nothing else.
//
// Errors: kInvalidArgument for a signature that cannot be read, kUnauthorized for one that does
// not verify or whose key is not trusted. Messages name the signing key (fingerprint) where the
// signature tells it, never the message content. Thread-safe: no state.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/error.h"

namespace plumbline::verify {

// The keys one Application trusts (spec.verify.secretRef).
struct TrustedKeys {
  // OpenSSH public keys, one per entry, as in authorized_keys or git's allowed_signers
  // ("ssh-ed25519 AAAAC3... comment", optionally after a principal: "alice@x ssh-ed25519 ...").
  std::vector<std::string> ssh;
  // ASCII-armored OpenPGP public key blocks ("-----BEGIN PGP PUBLIC KEY BLOCK-----"), one or more
  // keys each.
  std::vector<std::string> openpgp;
};

// Who made a signature that verified.
struct Signer {
  std::string format;       // "ssh" or "openpgp"
  std::string fingerprint;  // "SHA256:<base64>" (ssh) or the primary key's hex fingerprint
  std::string identity;     // the trusted key's comment (ssh) or user id (openpgp); may be ""
  // "SSH key SHA256:... (alice@example.com)", for conditions and Events.
  std::string Describe() const;
};

struct VerifyOptions {
  std::string gpgv_path = "gpgv";  // looked up on PATH
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

// SSHSIG (PROTOCOL.sshsig): `armored` is "-----BEGIN SSH SIGNATURE-----..." over `message`, in
// `ns` ("git" for commits and tags). Supports ssh-ed25519, ecdsa-sha2-nistp256/384/521 and
// ssh-rsa keys (rsa-sha2-256/512 signatures), sha256 and sha512 message hashes.
Result<Signer> VerifySshSignature(const std::string& armored, const std::string& message,
                                  const std::vector<std::string>& trusted_keys,
                                  const std::string& ns = "git");

// OpenPGP: `armored` is "-----BEGIN PGP SIGNATURE-----..." over `message`, checked by gpgv
// against a keyring made of `trusted_keys` in a private temporary directory.
Result<Signer> VerifyOpenPgpSignature(const std::string& armored, const std::string& message,
                                      const std::vector<std::string>& trusted_keys,
                                      const VerifyOptions& options = {});

// Either of the above, by the signature's armor header.
Result<Signer> VerifySignature(const std::string& armored, const std::string& message,
                               const TrustedKeys& keys, const VerifyOptions& options = {});

}  // namespace plumbline::verify
