#include "verify/signature.h"

#include <string_view>

namespace plumbline::verify {
namespace {

constexpr std::string_view kSshArmor = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view kPgpArmor = "-----BEGIN PGP SIGNATURE-----";

bool StartsWithArmor(const std::string& text, std::string_view armor) {
  size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string::npos && text.compare(start, armor.size(), armor) == 0;
}

}  // namespace

std::string Signer::Describe() const {
  std::string text = (format == "ssh" ? "SSH key " : "OpenPGP key ") + fingerprint;
  if (!identity.empty()) text += " (" + identity + ")";
  return text;
}

Result<Signer> VerifySignature(const std::string& armored, const std::string& message,
                               const TrustedKeys& keys, const VerifyOptions& options) {
  if (StartsWithArmor(armored, kSshArmor)) {
    if (keys.ssh.empty()) return Error(ErrorCode::kUnauthorized, "no trusted SSH keys");
    return VerifySshSignature(armored, message, keys.ssh, "git");
  }
  if (StartsWithArmor(armored, kPgpArmor)) {
    if (keys.openpgp.empty()) return Error(ErrorCode::kUnauthorized, "no trusted OpenPGP keys");
    return VerifyOpenPgpSignature(armored, message, keys.openpgp, options);
  }
  return Error(ErrorCode::kInvalidArgument, "unknown signature format");
}

}  // namespace plumbline::verify
