// Fuzz target: SSH signature verification (verify/signature.h, VerifySshSignature), and the
// splitting of signatures off raw commit and tag objects (source/signatures.cc). A tenant
// commits the signature bytes: nothing in them may crash, read out of bounds or pass for a
// signature by a trusted key without being one.
//
// Input: one mode byte, the message up to the first NUL, then the signature. Mode even: the
// signature is armored text as given. Mode odd: it is the raw SSHSIG blob, base64-armored here,
// so that mutations reach the binary parser instead of breaking the base64. The seeds in
// corpus/sshsig are real ssh-keygen signatures by the keys below (their private halves were
// thrown away), over "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n".
#include <cstdint>
#include <string>
#include <vector>

#include "common/base64.h"
#include "source/git_source.h"
#include "verify/signature.h"

namespace {

const std::vector<std::string>& FuzzTrustedKeys() {
  static const std::vector<std::string> keys = {
      "alice@example.com ssh-ed25519 "
      "AAAAC3NzaC1lZDI1NTE5AAAAIO0iPAl/W9iuymdN8aM/xxm5DZhF6mbgPJBAI7Ajodh8 fuzz-ed25519",
      "ecdsa-sha2-nistp256 "
      "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBP+VeQrQq+yj9CBhyCARKH8rheB2hFQWIy7xEjK"
      "U6eBanJOqPP7JWDW4ld69jzLfqq6ZxDyGa/65jjjsKHS35iE= fuzz-p256",
      "ssh-rsa "
      "AAAAB3NzaC1yc2EAAAADAQABAAABAQDG/OVUJLw3VemgRjcRtH39if5KqaXDbbg3rPiZVYaYvZKJy12wEw6dQtqzD1X"
      "KuwUPcN8YMk3k7ROBOCwLkQCp9jITITfDGoiPxszMhLtG20Drosbt70d+hnFeSXoyMEMUaxfZ7/T9p0raoP86ZwLtGhk"
      "Zlxsd0sg2Um4RF473R9r4yZghgztwmFcFxXB7f0GzZpgzA7og7UBHkiTVdkCBZLvIMGwVa0R2O09kBQDpvfh9oi5Adh2"
      "bqk1h7k44o57E05cep8l/SUPBFL9B3Y7zSTjvazihYDYQOwc4IZmKQXdXib1QG7yESoCyX6BIy0ZhIkUpCHYdexBgkdd"
      "f6/gN fuzz-rsa",
  };
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plumbline::verify;
  if (size == 0) return 0;
  const bool raw = data[0] & 1;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nul = rest.find('\0');
  const std::string message = rest.substr(0, nul);
  const std::string signature = nul == std::string::npos ? "" : rest.substr(nul + 1);
  const std::string armored = raw ? "-----BEGIN SSH SIGNATURE-----\n" +
                                        plumbline::Base64Encode(signature) +
                                        "\n-----END SSH SIGNATURE-----\n"
                                  : signature;

  // The same bytes as a raw commit and tag object: how their signatures are split off.
  const plumbline::source::SignedObject commit = plumbline::source::SplitCommitSignature(rest);
  if (commit.signed_data.size() + commit.signature.size() > rest.size() + rest.size()) {
    __builtin_trap();
  }
  if (!commit.error.empty() && !commit.signature.empty()) __builtin_trap();
  const plumbline::source::SignedObject tag = plumbline::source::SplitTagSignature(rest);
  if (tag.signed_data + tag.signature != rest) __builtin_trap();
  (void)plumbline::source::TagObjectName(rest);

  auto signer = VerifySshSignature(armored, message, FuzzTrustedKeys());
  if (!signer.ok()) {
    const auto code = signer.error().code();
    if (code != plumbline::ErrorCode::kInvalidArgument &&
        code != plumbline::ErrorCode::kUnauthorized) {
      __builtin_trap();
    }
    return 0;
  }
  // Verified: by one of the trusted keys, and over this message only.
  if (signer->format != "ssh" || signer->identity.rfind("fuzz-", 0) != 0) __builtin_trap();
  if (VerifySshSignature(armored, message + "x", FuzzTrustedKeys()).ok()) __builtin_trap();
  if (VerifySshSignature(armored, message, FuzzTrustedKeys(), "file").ok()) __builtin_trap();
  return 0;
}
