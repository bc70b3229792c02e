#include "verify/signature.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "common/base64.h"
#include "common/subprocess.h"

namespace plumbline::verify {
namespace {

// Signatures come from ssh-keygen itself (the program git runs for gpg.format=ssh), made at test
// time, so the tests do not restate the format they check. Keys and files live in one private
// directory per test binary.
std::string& TestDirPath() {
  static std::string path;
  return path;
}

std::string TestDir() {
  if (TestDirPath().empty()) {
    char tmpl[] = "/tmp/plumbline-sshsig-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) TestDirPath() = tmpl;
  }
  return TestDirPath();
}

std::string ReadFile(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path, std::ios::binary).rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// Runs a program in the test directory; fails the test unless it exits 0.
std::string Run(const std::vector<std::string>& argv) {
  SubprocessOptions options;
  options.working_dir = TestDir();
  auto r = RunSubprocess(argv, options);
  if (!r.ok()) {
    ADD_FAILURE() << argv[0] << ": " << r.error().message();
    return "";
  }
  EXPECT_EQ(r->exit_code, 0) << argv[0] << " " << argv[1] << ": " << r->err;
  return r->out;
}

struct Key {
  std::string path;         // the private key; path + ".pub" the public one
  std::string line;         // the .pub line: "type base64 comment"
  std::string fingerprint;  // as `ssh-keygen -lf` prints it
};

// By name, made on first use.
std::map<std::string, Key>& Keys() {
  static std::map<std::string, Key> keys;
  return keys;
}

// Removes the directory and forgets its keys (--gtest_repeat runs this after each round).
class RemoveTestDir : public ::testing::Environment {
 public:
  void TearDown() override {
    Keys().clear();
    if (!TestDirPath().empty()) std::filesystem::remove_all(TestDirPath());
    TestDirPath().clear();
  }
};
const auto* const kRemoveTestDir = ::testing::AddGlobalTestEnvironment(new RemoveTestDir);

// `type_args` as for ssh-keygen: {"-t", "ed25519"}.
const Key& KeyNamed(const std::string& name, const std::vector<std::string>& type_args) {
  auto& keys = Keys();
  auto it = keys.find(name);
  if (it != keys.end()) return it->second;
  Key key;
  key.path = TestDir() + "/" + name;
  std::vector<std::string> argv = {"ssh-keygen", "-q", "-N", "", "-C", name + "@example.com"};
  argv.insert(argv.end(), type_args.begin(), type_args.end());
  argv.insert(argv.end(), {"-f", key.path});
  Run(argv);
  key.line = ReadFile(key.path + ".pub");
  while (!key.line.empty() && key.line.back() == '\n') key.line.pop_back();
  // "256 SHA256:... comment (ED25519)"
  std::stringstream listed(Run({"ssh-keygen", "-lf", key.path + ".pub"}));
  std::string bits;
  listed >> bits >> key.fingerprint;
  return keys.emplace(name, key).first->second;
}

const Key& Ed25519() { return KeyNamed("ed25519", {"-t", "ed25519"}); }
const Key& OtherEd25519() { return KeyNamed("other", {"-t", "ed25519"}); }
const Key& Rsa() { return KeyNamed("rsa", {"-t", "rsa", "-b", "2048"}); }
const Key& P256() { return KeyNamed("ecdsa256", {"-t", "ecdsa", "-b", "256"}); }

// `ssh-keygen -Y sign`, as git does it; `extra` e.g. {"-O", "hashalg=sha256"}.
std::string SignWithSshKeygen(const Key& key, const std::string& message,
                              const std::string& ns = "git",
                              const std::vector<std::string>& extra = {}) {
  static int counter = 0;
  const std::string file = TestDir() + "/message" + std::to_string(++counter);
  WriteFile(file, message);
  std::vector<std::string> argv = {"ssh-keygen", "-Y", "sign", "-n", ns, "-f", key.path};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(file);
  Run(argv);
  return ReadFile(file + ".sig");
}

const std::string kCommit =
    "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    "author Alice <alice@example.com> 1700000000 +0000\n"
    "committer Alice <alice@example.com> 1700000000 +0000\n"
    "\n"
    "Deploy the new frontend\n";

// --- SSH wire format, to take real signatures apart and put altered ones together ---------

std::string U32(uint32_t n) { return {char(n >> 24), char(n >> 16), char(n >> 8), char(n)}; }
std::string Str(const std::string& s) { return U32(uint32_t(s.size())) + s; }

// The strings of a blob made only of strings (a key, a signature blob, r and s).
std::vector<std::string> Strings(const std::string& blob) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 4 <= blob.size()) {
    uint32_t n = uint32_t(uint8_t(blob[at])) << 24 | uint32_t(uint8_t(blob[at + 1])) << 16 |
                 uint32_t(uint8_t(blob[at + 2])) << 8 | uint32_t(uint8_t(blob[at + 3]));
    at += 4;
    if (n > blob.size() - at) break;
    out.push_back(blob.substr(at, n));
    at += n;
  }
  EXPECT_EQ(at, blob.size()) << "not a sequence of SSH strings";
  return out;
}
std::string Join(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) out += Str(s);
  return out;
}

std::string Dearmor(const std::string& armored) {
  const std::string begin = "-----BEGIN SSH SIGNATURE-----";
  auto end = armored.find("-----END SSH SIGNATURE-----");
  EXPECT_EQ(armored.rfind(begin, 0), 0u);
  EXPECT_NE(end, std::string::npos);
  auto blob = Base64Decode(armored.substr(begin.size(), end - begin.size()));
  EXPECT_TRUE(blob.ok());
  return blob.ok() ? *blob : "";
}

std::string Armor(const std::string& blob) {
  std::string b64 = Base64Encode(blob);
  std::string out = "-----BEGIN SSH SIGNATURE-----\n";
  for (size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  return out + "-----END SSH SIGNATURE-----\n";
}

// An SSHSIG blob's fields (PROTOCOL.sshsig).
struct Sshsig {
  std::string magic = "SSHSIG";
  uint32_t version = 1;
  std::string public_key, ns, reserved, hash_algorithm, signature;

  static Sshsig Parse(const std::string& blob) {
    Sshsig sig;
    EXPECT_EQ(blob.substr(0, 6), "SSHSIG");
    auto fields = Strings(blob.substr(10));
    EXPECT_EQ(fields.size(), 5u);
    fields.resize(5);
    sig.public_key = fields[0];
    sig.ns = fields[1];
    sig.reserved = fields[2];
    sig.hash_algorithm = fields[3];
    sig.signature = fields[4];
    return sig;
  }
  std::string Blob() const {
    return magic + U32(version) + Join({public_key, ns, reserved, hash_algorithm, signature});
  }
  std::string Armored() const { return Armor(Blob()); }
};

Sshsig ParsedSignature(const Key& key, const std::string& message = kCommit) {
  return Sshsig::Parse(Dearmor(SignWithSshKeygen(key, message)));
}

// The .pub line for a key blob made here.
std::string KeyLine(const std::string& blob) {
  return Strings(blob).at(0) + " " + Base64Encode(blob) + " made@example.com";
}

// --- RSA signatures made here, for what ssh-keygen will not make ----------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey RsaKey(unsigned bits) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(bits)));
}

std::string Mpint(const BIGNUM* n) {
  std::string bytes(size_t(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
  if (!bytes.empty() && (uint8_t(bytes[0]) & 0x80)) bytes.insert(bytes.begin(), '\0');
  return bytes;
}

std::string RsaKeyBlob(EVP_PKEY* key) {
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e), 1);
  std::string blob = Join({"ssh-rsa", Mpint(e), Mpint(n)});
  BN_free(n);
  BN_free(e);
  return blob;
}

// The raw RSA signature over SSHSIG's signed data, made with `digest` ("SHA1", "SHA256", ...).
std::string RsaSign(EVP_PKEY* key, const char* digest, const std::string& message,
                    const std::string& ns) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_length = 0;
  EVP_Digest(message.data(), message.size(), hash, &hash_length, EVP_sha512(), nullptr);
  const std::string signed_data =
      "SSHSIG" + Join({ns, "", "sha512", std::string(reinterpret_cast<char*>(hash), hash_length)});
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  std::string out;
  if (EVP_DigestSignInit_ex(ctx, nullptr, digest, nullptr, nullptr, key, nullptr) == 1 &&
      EVP_DigestSign(ctx, nullptr, &length, nullptr, 0) == 1) {
    out.resize(length);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &length,
                   reinterpret_cast<const unsigned char*>(signed_data.data()), signed_data.size());
    out.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  EXPECT_FALSE(out.empty());
  return out;
}

Sshsig RsaSshsig(EVP_PKEY* key, const std::string& signature_type, const std::string& raw,
                 const std::string& ns = "git") {
  Sshsig sig;
  sig.public_key = RsaKeyBlob(key);
  sig.ns = ns;
  sig.hash_algorithm = "sha512";
  sig.signature = Join({signature_type, raw});
  return sig;
}

// --- Tests -------------------------------------------------------------------------------------

struct KeyType {
  std::string name;
  std::vector<std::string> ssh_keygen_args;
};

void PrintTo(const KeyType& type, std::ostream* out) { *out << type.name; }

class SshsigKeyTypes : public ::testing::TestWithParam<KeyType> {};

TEST_P(SshsigKeyTypes, ASignatureByATrustedKeyVerifies) {
  const std::string& name = GetParam().name;
  const Key& key = KeyNamed(name, GetParam().ssh_keygen_args);
  auto signer = VerifySshSignature(SignWithSshKeygen(key, kCommit), kCommit, {key.line});
  ASSERT_TRUE(signer.ok()) << signer.error().message();
  EXPECT_EQ(signer->format, "ssh");
  EXPECT_EQ(signer->fingerprint, key.fingerprint);  // what ssh-keygen -l prints
  EXPECT_EQ(signer->identity, name + "@example.com");

  auto tampered = VerifySshSignature(SignWithSshKeygen(key, kCommit), kCommit + "x", {key.line});
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(tampered.error().message(),
            "the SSH signature by key " + key.fingerprint + " does not match the commit");
}

INSTANTIATE_TEST_SUITE_P(Sshsig, SshsigKeyTypes,
                         ::testing::Values(KeyType{"ed25519", {"-t", "ed25519"}},
                                           KeyType{"ecdsa256", {"-t", "ecdsa", "-b", "256"}},
                                           KeyType{"ecdsa384", {"-t", "ecdsa", "-b", "384"}},
                                           KeyType{"ecdsa521", {"-t", "ecdsa", "-b", "521"}},
                                           KeyType{"rsa", {"-t", "rsa", "-b", "2048"}}),
                         [](const auto& info) { return info.param.name; });

TEST(Sshsig, Sha256MessageHashVerifies) {
  const std::string armored =
      SignWithSshKeygen(Ed25519(), kCommit, "git", {"-O", "hashalg=sha256"});
  ASSERT_EQ(Sshsig::Parse(Dearmor(armored)).hash_algorithm, "sha256");
  EXPECT_TRUE(VerifySshSignature(armored, kCommit, {Ed25519().line}).ok());
  EXPECT_FALSE(VerifySshSignature(armored, kCommit + "x", {Ed25519().line}).ok());
}

TEST(Sshsig, FingerprintIsTheOneSshKeygenPrints) {
  auto signer =
      VerifySshSignature(SignWithSshKeygen(Ed25519(), kCommit), kCommit, {Ed25519().line});
  ASSERT_TRUE(signer.ok()) << signer.error().message();
  ASSERT_EQ(Ed25519().fingerprint.rfind("SHA256:", 0), 0u) << Ed25519().fingerprint;
  EXPECT_EQ(signer->fingerprint, Ed25519().fingerprint);
}

TEST(Sshsig, AnUntrustedKeyIsNamedByItsFingerprint) {
  const std::string armored = SignWithSshKeygen(OtherEd25519(), kCommit);
  auto r = VerifySshSignature(armored, kCommit, {Ed25519().line, Rsa().line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(r.error().message(),
            "signed by SSH key " + OtherEd25519().fingerprint + " which is not trusted");
  EXPECT_FALSE(VerifySshSignature(armored, kCommit, {}).ok());
}

// The signed data does not include the public key: a key that is not byte-equal to a trusted
// one (here the trusted key with its blob altered) must not be accepted for the bytes that are.
TEST(Sshsig, OnlyTheExactTrustedKeyBlobMatches) {
  Sshsig sig = ParsedSignature(Ed25519());
  sig.public_key += '\0';
  auto r = VerifySshSignature(sig.Armored(), kCommit, {Ed25519().line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(r.error().message().find("not trusted"), std::string::npos);
}

TEST(Sshsig, ASignatureForAnotherNamespaceIsRefused) {
  const std::string armored = SignWithSshKeygen(Ed25519(), kCommit, "file");
  auto r = VerifySshSignature(armored, kCommit, {Ed25519().line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(r.error().message(), "the SSH signature by key " + Ed25519().fingerprint +
                                     " was made for another namespace than \"git\"");
  // It is a good signature, only not for commits.
  EXPECT_TRUE(VerifySshSignature(armored, kCommit, {Ed25519().line}, "file").ok());
}

TEST(Sshsig, ErrorsNeverQuoteTheMessage) {
  const std::string secret_message = kCommit + "password=hunter2\n";
  const std::string good = SignWithSshKeygen(Ed25519(), secret_message);
  for (const auto& [armored, message] : std::vector<std::pair<std::string, std::string>>{
           {good, secret_message + "x"},
           {SignWithSshKeygen(OtherEd25519(), secret_message), secret_message},
           {good.substr(0, 100), secret_message}}) {
    auto r = VerifySshSignature(armored, message, {Ed25519().line});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message().find("hunter2"), std::string::npos) << r.error().message();
  }
}

TEST(Sshsig, TrustedLinesMayHavePrincipalsOptionsAndComments) {
  const std::string armored = SignWithSshKeygen(Ed25519(), kCommit);
  std::stringstream fields(Ed25519().line);
  std::string type, base64;
  fields >> type >> base64;
  const std::vector<std::pair<std::string, std::string>> lines_and_identities = {
      {type + " " + base64, ""},
      {"alice@example.com " + type + " " + base64, ""},
      {"alice@example.com " + type + " " + base64 + " Alice Smith", "Alice Smith"},
      {"alice@example.com namespaces=\"git\" " + type + "\t" + base64 + "  Alice  ", "Alice"},
      {"  " + type + " " + base64 + " laptop\r\n", "laptop"},
  };
  for (const auto& [line, identity] : lines_and_identities) {
    auto signer = VerifySshSignature(armored, kCommit, {line});
    ASSERT_TRUE(signer.ok()) << line << ": " << signer.error().message();
    EXPECT_EQ(signer->identity, identity) << line;
    EXPECT_EQ(signer->fingerprint, Ed25519().fingerprint);
  }
}

// allowed_signers restrictions: a key limited to other namespaces does not sign commits, and a
// limit this verifier does not enforce (validity dates, certificate authorities) makes the line
// unusable rather than trusted without it.
TEST(Sshsig, AllowedSignersRestrictionsAreHonouredOrRefused) {
  const std::string armored = SignWithSshKeygen(Ed25519(), kCommit);
  std::stringstream fields(Ed25519().line);
  std::string type, base64;
  fields >> type >> base64;
  const std::string key = type + " " + base64;
  EXPECT_TRUE(VerifySshSignature(armored, kCommit, {"a@x namespaces=\"file,git\" " + key}).ok());
  for (const std::string& line :
       {"a@x namespaces=\"file\" " + key, "a@x namespaces=\"gitlab\" " + key,
        "a@x valid-after=\"20300101\" " + key, "a@x valid-before=\"20200101\" " + key,
        "a@x cert-authority " + key}) {
    auto r = VerifySshSignature(armored, kCommit, {line});
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized) << line;
  }
}

// An entry may be a whole allowed_signers file: comments and blank lines are skipped, lines that
// cannot be read are counted in the message (a typo in a key otherwise looks like "not trusted").
TEST(Sshsig, AnEntryMayHoldManyLines) {
  const std::string armored = SignWithSshKeygen(Ed25519(), kCommit);
  const std::string file = "# release signers\n\nbob@example.com " + Rsa().line + "\n" +
                           "alice@example.com " + Ed25519().line + "\n";
  auto signer = VerifySshSignature(armored, kCommit, {file});
  ASSERT_TRUE(signer.ok()) << signer.error().message();
  EXPECT_EQ(signer->identity, "ed25519@example.com");

  auto r = VerifySshSignature(
      armored, kCommit, {"# comment\nssh-ed25519 AAAA!!!! typo\n", "no key here", Rsa().line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "signed by SSH key " + Ed25519().fingerprint +
                                     " which is not trusted (2 trusted key lines were not "
                                     "understood)");
}

TEST(Sshsig, TruncatedOrGarbledArmorIsInvalidArgument) {
  const std::string armored = SignWithSshKeygen(Ed25519(), kCommit);
  const std::string blob = Dearmor(armored);
  std::vector<std::string> bad = {
      "",
      "hello",
      "-----BEGIN SSH SIGNATURE-----\n",
      "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
      "-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----\n",
      armored + "trailing",
      armored + armored,
      "x" + armored,
      // Another armor of the same length around a good SSHSIG body.
      "-----BEGIN PGP SIGNATURE-----" + armored.substr(29),
      armored.substr(0, armored.size() / 2),
  };
  // Every prefix of the armor, and of the blob inside it: each length field then points past
  // the end of the data somewhere.
  for (size_t n = 0; n < armored.size() - 1; ++n) bad.push_back(armored.substr(0, n));
  for (size_t n = 0; n < blob.size(); ++n) bad.push_back(Armor(blob.substr(0, n)));
  for (const auto& text : bad) {
    auto r = VerifySshSignature(text, kCommit, {Ed25519().line});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(r.error().message().rfind("the SSH signature is malformed: ", 0), 0u)
        << r.error().message();
  }
  // Whitespace around and inside the armor is not garbage.
  std::string spaced = armored;
  spaced.insert(40, " \n\t");
  EXPECT_TRUE(VerifySshSignature("\n  " + spaced + "\n\n", kCommit, {Ed25519().line}).ok());
}

// Each length field in turn claims far more bytes than there are.
TEST(Sshsig, LengthFieldsPastTheEndAreRefused) {
  const std::string blob = Dearmor(SignWithSshKeygen(Ed25519(), kCommit));
  for (size_t at = 6; at + 4 <= blob.size(); ++at) {
    for (uint32_t length : {0xffffffffu, 0x80000000u, uint32_t(blob.size())}) {
      std::string bad = blob;
      bad.replace(at, 4, U32(length));
      auto r = VerifySshSignature(Armor(bad), kCommit, {Ed25519().line});
      EXPECT_FALSE(r.ok()) << at;
    }
  }
}

TEST(Sshsig, TheBlobHeaderIsChecked) {
  auto expect_malformed = [](const Sshsig& sig, const std::string& detail) {
    auto r = VerifySshSignature(sig.Armored(), kCommit, {Ed25519().line});
    ASSERT_FALSE(r.ok()) << detail;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "the SSH signature is malformed: " + detail);
  };
  const Sshsig good = ParsedSignature(Ed25519());
  ASSERT_TRUE(VerifySshSignature(good.Armored(), kCommit, {Ed25519().line}).ok());
  Sshsig sig = good;
  sig.magic = "SSHSIH";
  expect_malformed(sig, "no SSHSIG magic");
  sig = good;
  sig.version = 2;
  expect_malformed(sig, "unsupported version 2");
  sig = good;
  sig.hash_algorithm = "sha384";  // not one PROTOCOL.sshsig allows
  expect_malformed(sig, "unsupported hash algorithm");

  auto r = VerifySshSignature(Armor(good.Blob() + '\0'), kCommit, {Ed25519().line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "the SSH signature is malformed: trailing data");
}

TEST(Sshsig, OversizedArmorIsRefusedBeforeDecoding) {
  std::string armored = SignWithSshKeygen(Ed25519(), kCommit);
  ASSERT_TRUE(VerifySshSignature(armored, kCommit, {Ed25519().line}).ok());
  armored.insert(40, std::string(64 << 10, '\n'));  // still a good signature, only too long
  auto r = VerifySshSignature(armored, kCommit, {Ed25519().line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "the SSH signature is malformed: longer than 65536 bytes");
}

// The signature blob: its type must be the key's, its encoding exact. Each altered signature
// would otherwise verify (Ed25519 bytes do not depend on the type string) or be misread.
TEST(Sshsig, TheSignatureBlobMustMatchTheKey) {
  const Sshsig good = ParsedSignature(Ed25519());
  auto parts = Strings(good.signature);  // "ssh-ed25519", 64 bytes
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_EQ(parts[1].size(), 64u);
  auto verify_with = [&](const std::string& signature_blob) {
    Sshsig sig = good;
    sig.signature = signature_blob;
    return VerifySshSignature(sig.Armored(), kCommit, {Ed25519().line});
  };
  ASSERT_TRUE(verify_with(Join(parts)).ok());
  for (const auto& [blob, message] : std::vector<std::pair<std::string, std::string>>{
           {Join({"ecdsa-sha2-nistp256", parts[1]}),
            "its signature type does not match key type ssh-ed25519"},
           {Join({"ssh-ed25519", parts[1].substr(0, 63)}), "an Ed25519 signature is 64 bytes"},
           {Join({"ssh-ed25519", parts[1] + '\0'}), "an Ed25519 signature is 64 bytes"},
           {Join(parts) + Str(""), "unreadable signature blob"},
           {Str("ssh-ed25519"), "unreadable signature blob"},
       }) {
    auto r = verify_with(blob);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << message;
    EXPECT_EQ(r.error().message(), "the SSH signature is malformed: " + message);
  }
}

TEST(Sshsig, EcdsaSignaturesAreReadExactly) {
  const Key& key = P256();
  const Sshsig good = ParsedSignature(key);
  auto parts = Strings(good.signature);  // type, (mpint r, mpint s)
  ASSERT_EQ(parts.size(), 2u);
  auto rs = Strings(parts[1]);
  ASSERT_EQ(rs.size(), 2u);
  auto verify_with = [&](const std::string& r, const std::string& s, const std::string& extra) {
    Sshsig sig = good;
    sig.signature = Join({parts[0], Join({r, s}) + extra});
    return VerifySshSignature(sig.Armored(), kCommit, {key.line});
  };
  ASSERT_TRUE(verify_with(rs[0], rs[1], "").ok());
  // A negative r (sign bit set) is no ECDSA signature; read as a magnitude it would be another
  // number. Trailing bytes after s have no place either.
  for (const auto& r : {verify_with("\xff" + rs[0], rs[1], ""), verify_with(rs[0], rs[1], "x"),
                        verify_with(rs[0], "", ""), verify_with(rs[0], rs[1].substr(1), "")}) {
    ASSERT_FALSE(r.ok());
  }
  for (const auto& r : {verify_with("\xff" + rs[0], rs[1], ""), verify_with(rs[0], rs[1], "x")}) {
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "the SSH signature is malformed: unreadable ECDSA signature");
  }
  Sshsig other_type = good;
  other_type.signature = Join({"ecdsa-sha2-nistp384", parts[1]});
  auto r = VerifySshSignature(other_type.Armored(), kCommit, {key.line});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

// Trusted keys are read strictly too: a blob with bytes after the key, or whose curve is not
// its type's, is no key, even when the signature's blob is byte-equal to it.
TEST(Sshsig, TrustedKeyBlobsAreReadExactly) {
  Sshsig sig = ParsedSignature(Ed25519());
  sig.public_key += Str("extra");
  auto r = VerifySshSignature(sig.Armored(), kCommit, {KeyLine(sig.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("cannot be used: not an ssh-ed25519 key"), std::string::npos)
      << r.error().message();

  const Key& p256 = P256();
  Sshsig ecdsa = ParsedSignature(p256);
  auto key_parts = Strings(ecdsa.public_key);
  ASSERT_EQ(key_parts.at(1), "nistp256");
  key_parts[1] = "nistp384";
  ecdsa.public_key = Join(key_parts);
  r = VerifySshSignature(ecdsa.Armored(), kCommit, {KeyLine(ecdsa.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("its curve does not match its type"), std::string::npos)
      << r.error().message();

  ecdsa = ParsedSignature(p256);
  ecdsa.public_key += Str("");
  r = VerifySshSignature(ecdsa.Armored(), kCommit, {KeyLine(ecdsa.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not an ecdsa-sha2-nistp256 key"), std::string::npos)
      << r.error().message();

  Sshsig rsa = ParsedSignature(Rsa());
  rsa.public_key += Str("");
  r = VerifySshSignature(rsa.Armored(), kCommit, {KeyLine(rsa.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not an ssh-rsa key"), std::string::npos);
}

TEST(Sshsig, RsaSha256AndSha512SignaturesVerify) {
  Pkey key = RsaKey(2048);
  ASSERT_TRUE(key);
  for (const auto& [type, digest] :
       {std::pair{"rsa-sha2-256", "SHA256"}, {"rsa-sha2-512", "SHA512"}}) {
    Sshsig sig = RsaSshsig(key.get(), type, RsaSign(key.get(), digest, kCommit, "git"));
    auto signer = VerifySshSignature(sig.Armored(), kCommit, {KeyLine(sig.public_key)});
    ASSERT_TRUE(signer.ok()) << type << ": " << signer.error().message();
    EXPECT_EQ(signer->identity, "made@example.com");
    // Verified with the digest the type names, not another.
    Sshsig swapped = sig;
    swapped.signature = Join({type == std::string("rsa-sha2-256") ? "rsa-sha2-512" : "rsa-sha2-256",
                              Strings(sig.signature)[1]});
    EXPECT_FALSE(VerifySshSignature(swapped.Armored(), kCommit, {KeyLine(sig.public_key)}).ok());
  }
}

// A good RSA signature with SHA-1 (the "ssh-rsa" signature type) is refused: OpenSSH stopped
// accepting them, and SHA-1 collisions are practical.
TEST(Sshsig, RsaSha1SignaturesAreRefused) {
  Pkey key = RsaKey(2048);
  ASSERT_TRUE(key);
  Sshsig sig = RsaSshsig(key.get(), "ssh-rsa", RsaSign(key.get(), "SHA1", kCommit, "git"));
  auto r = VerifySshSignature(sig.Armored(), kCommit, {KeyLine(sig.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(r.error().message().find("uses SHA-1 (ssh-rsa), which is refused"), std::string::npos)
      << r.error().message();
}

TEST(Sshsig, RsaKeysUnder1024BitsAreRefused) {
  Pkey key = RsaKey(768);
  ASSERT_TRUE(key);
  Sshsig sig = RsaSshsig(key.get(), "rsa-sha2-512", RsaSign(key.get(), "SHA512", kCommit, "git"));
  auto r = VerifySshSignature(sig.Armored(), kCommit, {KeyLine(sig.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(r.error().message().find("is an RSA key of 768 bits; at least 1024 are required"),
            std::string::npos)
      << r.error().message();
}

// Some signers drop an RSA signature's leading zero bytes; OpenSSL wants the modulus' length.
TEST(Sshsig, RsaSignaturesShorterThanTheModulusAreAccepted) {
  Pkey key = RsaKey(1024);
  ASSERT_TRUE(key);
  std::string message, raw;
  for (int i = 0; i < 10000 && (raw.empty() || raw[0] != '\0'); ++i) {
    message = kCommit + std::to_string(i);
    raw = RsaSign(key.get(), "SHA512", message, "git");
  }
  ASSERT_EQ(raw[0], '\0') << "no signature with a leading zero byte in 10000 tries";
  Sshsig sig = RsaSshsig(key.get(), "rsa-sha2-512", raw.substr(1));
  auto signer = VerifySshSignature(sig.Armored(), message, {KeyLine(sig.public_key)});
  EXPECT_TRUE(signer.ok()) << signer.error().message();

  Sshsig too_long = RsaSshsig(key.get(), "rsa-sha2-512", '\0' + raw);
  auto r = VerifySshSignature(too_long.Armored(), message, {KeyLine(sig.public_key)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "the SSH signature is malformed: the RSA signature is longer than the key");
}

// A failed verification leaves nothing on OpenSSL's per-thread error queue, where a later TLS
// call on the same thread would find it.
TEST(Sshsig, FailuresLeaveNoOpenSslErrorsBehind) {
  ERR_clear_error();
  EXPECT_FALSE(
      VerifySshSignature(SignWithSshKeygen(Rsa(), kCommit), kCommit + "x", {Rsa().line}).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  const Key& p256 = P256();
  EXPECT_FALSE(
      VerifySshSignature(SignWithSshKeygen(p256, kCommit), kCommit + "x", {p256.line}).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Signer, Describe) {
  EXPECT_EQ((Signer{"ssh", "SHA256:abc", "alice@example.com"}.Describe()),
            "SSH key SHA256:abc (alice@example.com)");
  EXPECT_EQ((Signer{"ssh", "SHA256:abc", ""}.Describe()), "SSH key SHA256:abc");
  EXPECT_EQ((Signer{"openpgp", "0123ABCD", "Alice <alice@example.com>"}.Describe()),
            "OpenPGP key 0123ABCD (Alice <alice@example.com>)");
  EXPECT_EQ((Signer{"openpgp", "0123ABCD", ""}.Describe()), "OpenPGP key 0123ABCD");
}

TEST(VerifySignature, DispatchesOnTheArmorHeader) {
  const std::string ssh = SignWithSshKeygen(Ed25519(), kCommit);
  TrustedKeys keys;
  keys.ssh = {Ed25519().line};
  auto signer = VerifySignature(ssh, kCommit, keys);
  ASSERT_TRUE(signer.ok()) << signer.error().message();
  EXPECT_EQ(signer->Describe(), "SSH key " + Ed25519().fingerprint + " (ed25519@example.com)");

  EXPECT_TRUE(VerifySignature("\n" + ssh, kCommit, keys).ok());  // as a header's value may start

  // In git's namespace only.
  auto file = VerifySignature(SignWithSshKeygen(Ed25519(), kCommit, "file"), kCommit, keys);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message().find("namespace"), std::string::npos);

  auto no_ssh = VerifySignature(ssh, kCommit, TrustedKeys{});
  ASSERT_FALSE(no_ssh.ok());
  EXPECT_EQ(no_ssh.error().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(no_ssh.error().message(), "no trusted SSH keys");

  const std::string pgp = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
  auto no_pgp = VerifySignature(pgp, kCommit, keys);
  ASSERT_FALSE(no_pgp.ok());
  EXPECT_EQ(no_pgp.error().code(), ErrorCode::kUnauthorized);
  EXPECT_EQ(no_pgp.error().message(), "no trusted OpenPGP keys");

  for (const std::string& text :
       {std::string(), std::string("hello"), std::string("-----BEGIN SSH SIGNATURE")}) {
    auto r = VerifySignature(text, kCommit, keys);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "unknown signature format");
  }
}

}  // namespace
}  // namespace plumbline::verify
