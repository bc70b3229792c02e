// OpenPGP signatures, checked by gpgv against a keyring of the trusted keys only. gpgv reads no
// agent, trustdb, network or home directory state: a key is trusted exactly when it is in the
// keyring written here. gpgv does the cryptography; this file only shapes its input (binary
// packets, one detached signature) and reads its --status-fd lines, never its exit code alone.

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "verify/signature.h"

namespace plumbline::verify {
namespace {

constexpr size_t kMaxSignatureBytes = 64 << 10;
constexpr size_t kMaxKeyBytes = 1 << 20;  // all trusted blocks together
constexpr size_t kMaxReasonBytes = 300;   // of gpgv's stderr in a message

// Packet tags (RFC 4880 4.3).
constexpr int kSignaturePacket = 2;
constexpr int kSecretKeyPacket = 5;
constexpr int kPublicKeyPacket = 6;
constexpr int kSecretSubkeyPacket = 7;

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// CRC-24 of the armor checksum line (RFC 4880 6.1).
uint32_t Crc24(std::string_view data) {
  uint32_t crc = 0xB704CE;
  for (unsigned char c : data) {
    crc ^= uint32_t(c) << 16;
    for (int i = 0; i < 8; ++i) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864CFB;
    }
  }
  return crc & 0xFFFFFF;
}

// The binary contents of every "-----BEGIN <label>-----" block in `text`, in order. Text around
// the blocks is ignored, as gpg does; an armor of another kind is an error (a private key, or a
// signed message where a detached signature belongs).
Result<std::vector<std::string>> Dearmor(std::string_view text, std::string_view label) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  enum { kOutside, kHeaders, kBody, kAfterCrc } state = kOutside;
  std::vector<std::string> blocks;
  std::string body;
  std::string crc;
  auto finish = [&]() -> Status {
    auto decoded = Base64Decode(body);
    if (!decoded.ok()) return Error(ErrorCode::kInvalidArgument, "the armor is not valid base64");
    if (decoded->empty()) return Error(ErrorCode::kInvalidArgument, "the armor is empty");
    if (!crc.empty()) {
      auto sum = Base64Decode(crc);
      if (!sum.ok() || sum->size() != 3) {
        return Error(ErrorCode::kInvalidArgument, "the armor checksum line is malformed");
      }
      uint32_t want = (uint32_t(uint8_t((*sum)[0])) << 16) | (uint32_t(uint8_t((*sum)[1])) << 8) |
                      uint8_t((*sum)[2]);
      if (Crc24(*decoded) != want) {
        return Error(ErrorCode::kInvalidArgument, "the armor checksum does not match");
      }
    }
    blocks.push_back(std::move(*decoded));
    body.clear();
    crc.clear();
    return Status::Ok();
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = TrimRight(text.substr(start, nl - start));
    start = nl + 1;
    switch (state) {
      case kOutside:
        if (line == begin) {
          state = kHeaders;
        } else if (StartsWith(line, "-----BEGIN ")) {
          std::string other(line.substr(0, 60));
          return Error(ErrorCode::kInvalidArgument,
                       "holds \"" + other + "\" where \"" + begin + "\" belongs");
        }
        break;
      case kHeaders:
        // "Version: ..." and "Comment: ..." lines end at a blank line; base64 has no ':'.
        if (line.empty()) {
          state = kBody;
        } else if (line.find(':') == std::string_view::npos) {
          state = kBody;
          body.append(line);
        }
        break;
      case kBody:
      case kAfterCrc:
        if (line == end) {
          if (auto s = finish(); !s.ok()) return s.error();
          state = kOutside;
        } else if (state == kAfterCrc || StartsWith(line, "-----")) {
          return Error(ErrorCode::kInvalidArgument, "the armor has no \"" + end + "\" line");
        } else if (StartsWith(line, "=") && line.size() == 5) {
          crc = line.substr(1);
          state = kAfterCrc;
        } else {
          body.append(line);
        }
        break;
    }
  }
  if (state != kOutside) {
    return Error(ErrorCode::kInvalidArgument, "the armor has no \"" + end + "\" line");
  }
  if (blocks.empty()) return Error(ErrorCode::kInvalidArgument, "no \"" + begin + "\" armor");
  return blocks;
}

// The tags of the packets in `data` (RFC 4880 4.2), or an error where a header or length does not
// fit: a cheap check that gpgv is given what it is meant to get.
Result<std::vector<int>> PacketTags(std::string_view data) {
  std::vector<int> tags;
  size_t at = 0;
  auto bad = [] { return Error(ErrorCode::kInvalidArgument, "the packets are malformed"); };
  while (at < data.size()) {
    const uint8_t head = uint8_t(data[at++]);
    if (!(head & 0x80)) return bad();
    auto byte = [&](size_t i) { return uint64_t(uint8_t(data[at + i])); };
    uint64_t length = 0;
    if (!(head & 0x40)) {  // old format: the length's size is in the header
      tags.push_back((head >> 2) & 0x0F);
      const int type = head & 0x03;
      if (type == 3) return tags;  // indeterminate: to the end
      const size_t n = type == 0 ? 1 : type == 1 ? 2 : 4;
      if (data.size() - at < n) return bad();
      for (size_t i = 0; i < n; ++i) length = (length << 8) | byte(i);
      at += n;
    } else {
      tags.push_back(head & 0x3F);
      for (;;) {  // partial body lengths chain chunks until a definite length
        if (at >= data.size()) return bad();
        const uint64_t first = byte(0);
        if (first < 192) {
          length = first;
          at += 1;
        } else if (first < 224) {
          if (data.size() - at < 2) return bad();
          length = ((first - 192) << 8) + byte(1) + 192;
          at += 2;
        } else if (first == 255) {
          if (data.size() - at < 5) return bad();
          length = (byte(1) << 24) | (byte(2) << 16) | (byte(3) << 8) | byte(4);
          at += 5;
        } else {
          const uint64_t chunk = uint64_t(1) << (first & 0x1F);
          at += 1;
          if (data.size() - at < chunk) return bad();
          at += chunk;
          continue;
        }
        break;
      }
    }
    if (data.size() - at < length) return bad();
    at += length;
  }
  return tags;
}

// The binary keyring: every trusted block, de-armored, concatenated.
Result<std::string> Keyring(const std::vector<std::string>& trusted_keys) {
  size_t total = 0;
  for (const auto& k : trusted_keys) total += k.size();
  if (total > kMaxKeyBytes) {
    return Error(ErrorCode::kInvalidArgument, "the trusted OpenPGP keys are larger than " +
                                                  std::to_string(kMaxKeyBytes) + " bytes");
  }
  std::string keyring;
  for (size_t i = 0; i < trusted_keys.size(); ++i) {
    const std::string which = "trusted OpenPGP key " + std::to_string(i + 1) + " of " +
                              std::to_string(trusted_keys.size());
    if (trusted_keys[i].find("-----BEGIN PGP PRIVATE KEY BLOCK-----") != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   which + " is a private key; give the public key (gpg --armor --export)");
    }
    auto blocks = Dearmor(trusted_keys[i], "PGP PUBLIC KEY BLOCK");
    if (!blocks.ok()) return blocks.error().Wrap(which);
    for (const auto& block : *blocks) {
      auto tags = PacketTags(block);
      if (!tags.ok()) return tags.error().Wrap(which);
      if (tags->empty() || tags->front() != kPublicKeyPacket) {
        return Error(ErrorCode::kInvalidArgument, which + ": does not start with a public key");
      }
      for (int tag : *tags) {
        if (tag == kSecretKeyPacket || tag == kSecretSubkeyPacket) {
          return Error(ErrorCode::kInvalidArgument, which + " holds secret key material");
        }
      }
      keyring += block;
    }
  }
  return keyring;
}

// One detached signature packet, binary. A signed message (literal data and a signature) would
// verify its own content, not `message`; gpgv refuses it too, but it never gets that far.
Result<std::string> DetachedSignature(const std::string& armored) {
  if (armored.size() > kMaxSignatureBytes) {
    return Error(ErrorCode::kInvalidArgument, "the OpenPGP signature is larger than " +
                                                  std::to_string(kMaxSignatureBytes) + " bytes");
  }
  if (armored.find("-----BEGIN PGP SIGNATURE-----") == std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "not an OpenPGP signature (no PGP SIGNATURE armor)");
  }
  auto blocks = Dearmor(armored, "PGP SIGNATURE");
  if (!blocks.ok()) return blocks.error().Wrap("the OpenPGP signature");
  std::string packets;
  for (const auto& b : *blocks) packets += b;
  auto tags = PacketTags(packets);
  if (!tags.ok()) return tags.error().Wrap("the OpenPGP signature");
  for (int tag : *tags) {
    if (tag != kSignaturePacket) {
      return Error(ErrorCode::kInvalidArgument, "the OpenPGP signature holds a packet of type " +
                                                    std::to_string(tag) +
                                                    ", not only a detached signature");
    }
  }
  // Git makes one; with several, which signer would the commit be attributed to?
  if (tags->size() != 1) {
    return Error(ErrorCode::kUnauthorized, "the OpenPGP signature holds " +
                                               std::to_string(tags->size()) +
                                               " signatures; only a single one is accepted");
  }
  return packets;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

std::string Upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < line.size()) {
    size_t sp = line.find(' ', start);
    if (sp == std::string_view::npos) sp = line.size();
    if (sp > start) out.emplace_back(line.substr(start, sp - start));
    start = sp + 1;
  }
  return out;
}

// gpg writes a user id in status lines with control characters and '%' as %XX.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s.substr(i + 1, 2))) {
      out += char(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// What gpgv's --status-fd lines (doc/DETAILS in GnuPG) said about the one signature.
struct GpgvStatus {
  int signatures = 0;          // NEWSIG
  int good = 0;                // GOODSIG
  int valid = 0;               // VALIDSIG
  std::string key_id;          // of whichever line named the signing key
  std::string signer_fpr;      // ERRSIG's issuer fingerprint, when the signature holds one
  std::string considered_fpr;  // KEY_CONSIDERED: the keyring's key that gpgv looked at
  std::string primary_fpr;     // VALIDSIG's last field
  std::string identity;        // GOODSIG's user id
  std::string refusal;         // BADSIG, EXPKEYSIG, REVKEYSIG, EXPSIG
  bool missing_key = false;    // NO_PUBKEY, or ERRSIG with code 9
  std::string error_code;      // ERRSIG's code, otherwise
};

GpgvStatus ParseStatus(const std::string& out) {
  GpgvStatus st;
  size_t start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    std::string_view line = TrimRight(std::string_view(out).substr(start, nl - start));
    start = nl + 1;
    constexpr std::string_view kPrefix = "[GNUPG:] ";
    if (!StartsWith(line, kPrefix)) continue;
    line.remove_prefix(kPrefix.size());
    const auto w = Words(line);
    if (w.empty()) continue;
    const std::string& kw = w[0];
    const std::string key = w.size() > 1 && IsHex(w[1]) ? Upper(w[1]) : "";
    if (kw == "KEY_CONSIDERED") {
      st.considered_fpr = key;
    } else if (kw == "NEWSIG") {
      ++st.signatures;
    } else if (kw == "GOODSIG" && !key.empty()) {
      ++st.good;
      st.key_id = key;
      // The user id is the rest of the line, spaces and all.
      const size_t uid = line.find(' ', line.find(' ') + 1);
      st.identity = uid == std::string_view::npos ? "" : Unescape(line.substr(uid + 1));
    } else if (kw == "VALIDSIG" && w.size() >= 11 && IsHex(w[10])) {
      // <signing fpr> <date> <timestamp> <expiry> <version> <reserved> <pk algo> <hash algo>
      // <class> <primary fpr>: the primary, so that a signing subkey names its certificate.
      ++st.valid;
      st.primary_fpr = Upper(w[10]);
    } else if (kw == "BADSIG" || kw == "EXPKEYSIG" || kw == "REVKEYSIG" || kw == "EXPSIG") {
      st.refusal = kw;
      st.key_id = key;
    } else if (kw == "NO_PUBKEY") {
      st.missing_key = true;
      if (st.key_id.empty()) st.key_id = key;
    } else if (kw == "ERRSIG") {
      // <keyid> <pk algo> <hash algo> <class> <timestamp> <rc> [<fpr>]
      st.key_id = key;
      if (w.size() >= 7) st.error_code = w[6];
      if (w.size() >= 8 && IsHex(w[7])) st.signer_fpr = Upper(w[7]);
      if (st.error_code == "9") st.missing_key = true;
    }
  }
  return st;
}

// gpgv's complaint, on one line and short: it may quote the signature's claims, never the message.
std::string Reason(const std::string& err, const std::string& dir) {
  std::string text = err;
  for (size_t at = text.find(dir); !dir.empty() && at != std::string::npos;
       at = text.find(dir, at)) {
    text.erase(at, dir.size());
  }
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxReasonBytes) {
      out += "...";
      break;
    }
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      out += '?';
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out.empty() ? "no reason given" : out;
}

}  // namespace

Result<Signer> VerifyOpenPgpSignature(const std::string& armored, const std::string& message,
                                      const std::vector<std::string>& trusted_keys,
                                      const VerifyOptions& options) {
  auto signature = DetachedSignature(armored);
  if (!signature.ok()) return signature.error();
  auto keyring = Keyring(trusted_keys);
  if (!keyring.ok()) return keyring.error();

  // Honours $TMPDIR; removed with everything in it on every return.
  auto dir = TempDir::Create("", "plumbline-gpgv-");
  if (!dir.ok()) return dir.error();
  const std::string& root = (*dir)->path();
  for (const auto& [name, content] :
       {std::pair<const char*, const std::string*>{"trusted.gpg", &*keyring},
        {"sig", &*signature},
        {"data", &message}}) {
    if (auto s = (*dir)->Write(name, *content); !s.ok()) return s.error();
  }

  SubprocessOptions run;
  // Nothing of ours: no HOME, no GNUPGHOME with other keys, no agent socket.
  run.inherit_env = false;
  run.extra_env = {{"LANG", "C"}, {"LC_ALL", "C"}, {"GNUPGHOME", root}};
  run.timeout = options.timeout;
  run.max_output_bytes = 1 << 20;
  // An explicit --keyring replaces gpgv's default (trustedkeys.kbx in the home directory), and
  // the home directory is the empty private one: the keyring is the only source of keys.
  auto result =
      RunSubprocess({options.gpgv_path, "--status-fd", "1", "--homedir", root, "--keyring",
                     root + "/trusted.gpg", "--", root + "/sig", root + "/data"},
                    run);
  if (!result.ok()) {
    if (result.error().code() == ErrorCode::kTimeout) return result.error();
    return Error(ErrorCode::kInternal,
                 "OpenPGP verification needs gpgv: " + Reason(result.error().message(), root));
  }

  const GpgvStatus st = ParseStatus(result->out);
  // The whole fingerprint where gpgv tells it: of a trusted key (BADSIG, EXPKEYSIG, REVKEYSIG
  // name only its key id) or as the signature claims it (ERRSIG).
  std::string key = !st.signer_fpr.empty() ? st.signer_fpr
                    : !st.key_id.empty()   ? st.key_id
                                           : "(unknown)";
  if (st.signer_fpr.empty() && !st.key_id.empty() && st.considered_fpr.size() == 40 &&
      st.considered_fpr.compare(24, 16, st.key_id) == 0) {
    key = st.considered_fpr;
  }
  if (st.signatures > 1) {
    return Error(ErrorCode::kUnauthorized, "the OpenPGP signature holds " +
                                               std::to_string(st.signatures) +
                                               " signatures; only a single one is accepted");
  }
  if (st.refusal == "BADSIG") {
    return Error(ErrorCode::kUnauthorized,
                 "the OpenPGP signature by key " + key + " does not match the commit or tag");
  }
  if (st.refusal == "EXPKEYSIG") {
    return Error(ErrorCode::kUnauthorized, "the OpenPGP key " + key + " has expired");
  }
  if (st.refusal == "REVKEYSIG") {
    return Error(ErrorCode::kUnauthorized, "the OpenPGP key " + key + " has been revoked");
  }
  if (st.refusal == "EXPSIG") {
    return Error(ErrorCode::kUnauthorized, "the OpenPGP signature by key " + key + " has expired");
  }
  if (st.missing_key) {
    return Error(ErrorCode::kUnauthorized,
                 "signed by OpenPGP key " + key + " which is not trusted");
  }
  if (!st.error_code.empty()) {
    return Error(ErrorCode::kUnauthorized,
                 "cannot check the OpenPGP signature by key " + key + " (gpgv error " +
                     st.error_code + (st.error_code == "4" ? ": unsupported algorithm" : "") + ")");
  }
  // Neither the exit code nor VALIDSIG alone: gpgv exits 0 and prints VALIDSIG for a signature
  // by an expired or revoked key (with EXPKEYSIG or REVKEYSIG where GOODSIG would be).
  if (result->exit_code != 0 || st.signatures != 1 || st.good != 1 || st.valid != 1 ||
      st.primary_fpr.empty()) {
    return Error(ErrorCode::kUnauthorized, "gpgv did not verify the OpenPGP signature (exit code " +
                                               std::to_string(result->exit_code) +
                                               "): " + Reason(result->err, root));
  }
  Signer signer;
  signer.format = "openpgp";
  signer.fingerprint = st.primary_fpr;
  signer.identity = st.identity;
  return signer;
}

}  // namespace plumbline::verify
