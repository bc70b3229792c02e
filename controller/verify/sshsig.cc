// SSHSIG verification (OpenSSH's PROTOCOL.sshsig), the format of git's gpg.format=ssh
// signatures. The armored signature comes from a tenant's commit: every length in it is
// checked against the bytes that are there, and nothing it says is trusted until the key it
// names is found among the Application's keys and the signature verifies with that key.
#include "verify/signature.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base64.h"

namespace plumbline::verify {
namespace {

constexpr char kBegin[] = "-----BEGIN SSH SIGNATURE-----";
constexpr char kEnd[] = "-----END SSH SIGNATURE-----";
constexpr char kMagic[] = "SSHSIG";
constexpr uint32_t kVersion = 1;
// A real signature is well under 2 KiB (an RSA-16384 one about 6 KiB): anything larger is
// refused before decoding.
constexpr size_t kMaxArmoredBytes = 64 << 10;
// OpenSSH refuses smaller RSA keys (SSH_RSA_MINIMUM_MODULUS_SIZE).
constexpr int kMinRsaBits = 1024;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bignum = std::unique_ptr<BIGNUM, BnFree>;

// Failures leave OpenSSL errors on the thread's queue, where a later TLS call on the same
// thread would find and misreport them: whatever verification adds is dropped on return.
class OpensslErrorScope {
 public:
  OpensslErrorScope() { ERR_set_mark(); }
  ~OpensslErrorScope() { ERR_pop_to_mark(); }
  OpensslErrorScope(const OpensslErrorScope&) = delete;
  OpensslErrorScope& operator=(const OpensslErrorScope&) = delete;
};

// A cursor over SSH wire data (RFC 4251 section 5). A read that would pass the end fails and
// consumes nothing.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : rest_(data) {}

  bool Bytes(size_t n, std::string_view* out) {
    if (n > rest_.size()) return false;
    *out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  bool U32(uint32_t* out) {
    std::string_view b;
    if (!Bytes(4, &b)) return false;
    *out = uint32_t(uint8_t(b[0])) << 24 | uint32_t(uint8_t(b[1])) << 16 |
           uint32_t(uint8_t(b[2])) << 8 | uint32_t(uint8_t(b[3]));
    return true;
  }
  bool String(std::string_view* out) {
    std::string_view saved = rest_;
    uint32_t n = 0;
    if (U32(&n) && Bytes(n, out)) return true;
    rest_ = saved;
    return false;
  }
  // A positive mpint as its magnitude. Negative numbers have no place in a key or signature.
  bool PositiveMpint(Bignum* out) {
    std::string_view bytes;
    if (!String(&bytes) || (!bytes.empty() && (uint8_t(bytes[0]) & 0x80))) return false;
    out->reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
    return *out != nullptr;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

void PutString(std::string* out, std::string_view s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->push_back(char(n >> 24));
  out->push_back(char(n >> 16));
  out->push_back(char(n >> 8));
  out->push_back(char(n));
  out->append(s);
}

Error Malformed(const std::string& detail) {
  return Error(ErrorCode::kInvalidArgument, "the SSH signature is malformed: " + detail);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

// As ssh-keygen -l prints it: unpadded base64.
std::string Fingerprint(std::string_view key_blob) {
  std::string b64 = Base64Encode(Sha256(key_blob));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

Result<std::string> Unarmor(std::string_view armored) {
  if (armored.size() > kMaxArmoredBytes) {
    return Malformed("longer than " + std::to_string(kMaxArmoredBytes) + " bytes");
  }
  std::string_view text = Trim(armored);
  if (text.substr(0, sizeof(kBegin) - 1) != kBegin) return Malformed("no BEGIN line");
  text.remove_prefix(sizeof(kBegin) - 1);
  // Also refuses anything after the END line: one signature, nothing appended.
  if (text.size() < sizeof(kEnd) - 1 || text.substr(text.size() - (sizeof(kEnd) - 1)) != kEnd) {
    return Malformed("it does not end with the END line");
  }
  text.remove_suffix(sizeof(kEnd) - 1);
  auto blob = Base64Decode(text);
  if (!blob.ok()) return Malformed("invalid base64");
  return std::move(*blob);
}

struct Sshsig {
  std::string_view public_key;
  std::string_view ns;
  std::string_view reserved;
  std::string_view hash_algorithm;
  std::string_view signature;
};

Result<Sshsig> ParseSshsig(std::string_view blob) {
  WireReader in(blob);
  std::string_view magic;
  uint32_t version = 0;
  if (!in.Bytes(sizeof(kMagic) - 1, &magic) || magic != kMagic) return Malformed("no SSHSIG magic");
  if (!in.U32(&version)) return Malformed("truncated");
  if (version != kVersion) return Malformed("unsupported version " + std::to_string(version));
  Sshsig sig;
  if (!in.String(&sig.public_key) || !in.String(&sig.ns) || !in.String(&sig.reserved) ||
      !in.String(&sig.hash_algorithm) || !in.String(&sig.signature)) {
    return Malformed("truncated");
  }
  if (!in.done()) return Malformed("trailing data");
  return sig;
}

// The names PROTOCOL.sshsig allows for the message hash.
const EVP_MD* MessageDigest(std::string_view name) {
  if (name == "sha256") return EVP_sha256();
  if (name == "sha512") return EVP_sha512();
  return nullptr;
}

struct EcdsaCurve {
  std::string_view key_type;
  std::string_view ssh_name;  // the curve as the key blob names it
  const char* group;          // OpenSSL's name
  const char* digest;         // RFC 5656: fixed by the curve
};
constexpr EcdsaCurve kCurves[] = {
    {"ecdsa-sha2-nistp256", "nistp256", "P-256", "SHA256"},
    {"ecdsa-sha2-nistp384", "nistp384", "P-384", "SHA384"},
    {"ecdsa-sha2-nistp521", "nistp521", "P-521", "SHA512"},
};

const EcdsaCurve* CurveOf(std::string_view key_type) {
  for (const auto& curve : kCurves) {
    if (curve.key_type == key_type) return &curve;
  }
  return nullptr;
}

bool IsKeyType(std::string_view token) {
  return token == "ssh-ed25519" || token == "ssh-rsa" || CurveOf(token) != nullptr;
}

// A public key and what its signatures look like.
struct PublicKey {
  std::string type;  // "ssh-ed25519", "ssh-rsa" or one of kCurves' key_type
  Pkey pkey;
};

Pkey PkeyFromParams(const char* algorithm, OSSL_PARAM_BLD* builder) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(builder));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return Pkey(pkey);
}

// Reads a key blob (RFC 4253 6.6, RFC 5656 3.1, RFC 8709 4). Only blobs equal to a trusted
// key's get here, but they are read as carefully as the rest.
Result<PublicKey> ReadPublicKey(std::string_view blob, const std::string& fingerprint) {
  auto unreadable = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument,
                 "the trusted SSH key " + fingerprint + " cannot be used: " + why);
  };
  WireReader in(blob);
  std::string_view type;
  if (!in.String(&type)) return unreadable("truncated");
  PublicKey key;
  key.type = std::string(type);
  if (type == "ssh-ed25519") {
    std::string_view raw;
    if (!in.String(&raw) || !in.done()) return unreadable("not an ssh-ed25519 key");
    key.pkey.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()), raw.size()));
  } else if (type == "ssh-rsa") {
    Bignum e, n;
    if (!in.PositiveMpint(&e) || !in.PositiveMpint(&n) || !in.done()) {
      return unreadable("not an ssh-rsa key");
    }
    if (BN_num_bits(n.get()) < kMinRsaBits) {
      return Error(ErrorCode::kUnauthorized,
                   "the trusted SSH key " + fingerprint + " is an RSA key of " +
                       std::to_string(BN_num_bits(n.get())) + " bits; at least " +
                       std::to_string(kMinRsaBits) + " are required");
    }
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> builder(OSSL_PARAM_BLD_new());
    if (builder && OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) == 1 &&
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1) {
      key.pkey = PkeyFromParams("RSA", builder.get());
    }
  } else if (const EcdsaCurve* curve = CurveOf(type)) {
    std::string_view curve_name, point;
    if (!in.String(&curve_name) || !in.String(&point) || !in.done()) {
      return unreadable("not an " + key.type + " key");
    }
    if (curve_name != curve->ssh_name) return unreadable("its curve does not match its type");
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> builder(OSSL_PARAM_BLD_new());
    if (builder &&
        OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group,
                                        0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) == 1) {
      key.pkey = PkeyFromParams("EC", builder.get());
    }
  } else {
    return unreadable("unsupported key type");
  }
  if (!key.pkey) return unreadable("OpenSSL refused it");
  return key;
}

// ECDSA signatures in SSH are mpint r, mpint s; OpenSSL verifies DER (ECDSA-Sig-Value).
std::optional<std::string> EcdsaSignatureDer(std::string_view ssh_signature) {
  WireReader in(ssh_signature);
  Bignum r, s;
  if (!in.PositiveMpint(&r) || !in.PositiveMpint(&s) || !in.done()) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

// Checks `signature_blob` (string type, then the type's encoding) by `key` over `data`.
Status VerifyWithKey(const PublicKey& key, std::string_view signature_blob, std::string_view data,
                     const std::string& fingerprint) {
  WireReader in(signature_blob);
  std::string_view type, raw;
  if (!in.String(&type) || !in.String(&raw) || !in.done()) {
    return Malformed("unreadable signature blob");
  }
  const char* digest = nullptr;  // none for Ed25519, which hashes internally
  std::string bytes;
  if (key.type == "ssh-ed25519") {
    if (type != key.type) {
      return Malformed("its signature type does not match key type ssh-ed25519");
    }
    if (raw.size() != 64) return Malformed("an Ed25519 signature is 64 bytes");
    bytes = std::string(raw);
  } else if (key.type == "ssh-rsa") {
    if (type == "ssh-rsa") {
      return Error(ErrorCode::kUnauthorized, "the SSH signature by key " + fingerprint +
                                                 " uses SHA-1 (ssh-rsa), which is refused; " +
                                                 "sign with rsa-sha2-256 or rsa-sha2-512");
    }
    if (type == "rsa-sha2-256") {
      digest = "SHA256";
    } else if (type == "rsa-sha2-512") {
      digest = "SHA512";
    } else {
      return Malformed("its signature type does not match key type ssh-rsa");
    }
    // Some signers drop leading zero bytes; OpenSSL wants exactly the modulus' length.
    const size_t modulus_bytes = static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get()));
    if (raw.size() > modulus_bytes) return Malformed("the RSA signature is longer than the key");
    bytes = std::string(modulus_bytes - raw.size(), '\0') + std::string(raw);
  } else if (const EcdsaCurve* curve = CurveOf(key.type)) {
    if (type != key.type) {
      return Malformed("its signature type does not match key type " + key.type);
    }
    auto der = EcdsaSignatureDer(raw);
    if (!der) return Malformed("unreadable ECDSA signature");
    bytes = std::move(*der);
    digest = curve->digest;
  } else {
    return Error(ErrorCode::kInternal, "no verifier for key type " + key.type);
  }

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, digest, nullptr, nullptr, key.pkey.get(),
                                      nullptr) != 1) {
    return Error(ErrorCode::kInternal, "cannot set up verification with SSH key " + fingerprint);
  }
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1) {
    return Error(ErrorCode::kUnauthorized,
                 "the SSH signature by key " + fingerprint + " does not match the commit");
  }
  return Status::Ok();
}

struct TrustedKey {
  std::string blob;
  std::string comment;
};

// Whether an allowed_signers options token lets the key sign in git's namespace. Options whose
// meaning is not enforced here (validity dates, certificate authorities) make the line unusable:
// a key limited in a way we do not check must not be trusted without the limit.
bool OptionsAllowGit(std::string_view options) {
  for (std::string_view unsupported : {"cert-authority", "valid-before", "valid-after"}) {
    if (options.find(unsupported) != std::string_view::npos) return false;
  }
  const std::string_view key = "namespaces=\"";
  const size_t at = options.find(key);
  if (at == std::string_view::npos) return true;
  std::string_view list = options.substr(at + key.size());
  list = list.substr(0, list.find('"'));
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (Trim(list.substr(0, comma)) == "git") return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return false;
}

// One line of authorized_keys or allowed_signers: [principals] [options] type base64 [comment].
// The key type is the first token that names one; the tokens before it may restrict the key.
std::optional<TrustedKey> ParseTrustedLine(std::string_view line) {
  std::string_view rest = Trim(line);
  while (!rest.empty()) {
    size_t end = 0;
    while (end < rest.size() && !IsSpace(rest[end])) ++end;
    std::string_view token = rest.substr(0, end);
    rest = Trim(rest.substr(end));
    if (!IsKeyType(token)) {
      if (!OptionsAllowGit(token)) return std::nullopt;
      continue;
    }
    size_t key_end = 0;
    while (key_end < rest.size() && !IsSpace(rest[key_end])) ++key_end;
    auto blob = Base64Decode(rest.substr(0, key_end));
    if (!blob.ok() || blob->empty()) return std::nullopt;
    return TrustedKey{std::move(*blob), std::string(Trim(rest.substr(key_end)))};
  }
  return std::nullopt;
}

// The trusted key whose blob is `blob`. An entry may hold several lines; blank lines and
// #-comments are skipped, and lines that cannot be read are counted for the error message.
std::optional<TrustedKey> FindTrustedKey(const std::vector<std::string>& entries,
                                         std::string_view blob, int* unreadable) {
  for (const auto& entry : entries) {
    std::string_view text = entry;
    while (!text.empty()) {
      size_t newline = text.find('\n');
      std::string_view line = Trim(text.substr(0, newline));
      text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
      if (line.empty() || line.front() == '#') continue;
      auto key = ParseTrustedLine(line);
      if (!key) {
        ++*unreadable;
      } else if (key->blob == blob) {
        return key;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Result<Signer> VerifySshSignature(const std::string& armored, const std::string& message,
                                  const std::vector<std::string>& trusted_keys,
                                  const std::string& ns) {
  OpensslErrorScope errors;
  auto blob = Unarmor(armored);
  if (!blob.ok()) return blob.error();
  auto sig = ParseSshsig(*blob);
  if (!sig.ok()) return sig.error();
  const EVP_MD* message_digest = MessageDigest(sig->hash_algorithm);
  if (message_digest == nullptr) return Malformed("unsupported hash algorithm");
  const std::string fingerprint = Fingerprint(sig->public_key);

  // A signature made for another purpose (ssh-keygen -Y sign -n file) must not pass for a
  // commit's. Only the expected namespace is quoted: the signature's is the tenant's bytes.
  if (sig->ns != ns) {
    return Error(ErrorCode::kUnauthorized, "the SSH signature by key " + fingerprint +
                                               " was made for another namespace than \"" + ns +
                                               "\"");
  }
  int unreadable = 0;
  auto trusted = FindTrustedKey(trusted_keys, sig->public_key, &unreadable);
  if (!trusted) {
    std::string note;
    if (unreadable > 0) {
      note = " (" + std::to_string(unreadable) + " trusted key line" +
             (unreadable == 1 ? " was" : "s were") + " not understood)";
    }
    return Error(ErrorCode::kUnauthorized,
                 "signed by SSH key " + fingerprint + " which is not trusted" + note);
  }
  auto key = ReadPublicKey(sig->public_key, fingerprint);
  if (!key.ok()) return key.error();

  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_length = 0;
  if (EVP_Digest(message.data(), message.size(), hash, &hash_length, message_digest, nullptr) !=
      1) {
    return Error(ErrorCode::kInternal, "cannot hash the signed message");
  }
  std::string signed_data(kMagic);
  PutString(&signed_data, sig->ns);
  PutString(&signed_data, sig->reserved);
  PutString(&signed_data, sig->hash_algorithm);
  PutString(&signed_data, std::string_view(reinterpret_cast<char*>(hash), hash_length));
  Status verified = VerifyWithKey(*key, sig->signature, signed_data, fingerprint);
  if (!verified.ok()) return verified.error();
  return Signer{"ssh", fingerprint, trusted->comment};
}

}  // namespace plumbline::verify
