// OpenPGP verification with the real gpgv, over keys and signatures made by gpg at test time in a
// private GNUPGHOME (its agent is stopped afterwards). A fake gpgv (a shell script) covers what
// the real one never prints, to show that every status check counts.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "verify/signature.h"

namespace plumbline::verify {
namespace {

std::string MakeTempDir(const std::string& parent, const std::string& prefix) {
  std::string name = parent + "/" + prefix + "XXXXXX";
  if (mkdtemp(name.data()) == nullptr) return "";
  return name;
}

// A directory of the test's own (common/temp_dir.h), removed however the test ends.
std::unique_ptr<TempDir> ScopedDir(const std::string& prefix) {
  auto dir = TempDir::Create(::testing::TempDir(), prefix);
  EXPECT_TRUE(dir.ok()) << dir.error().message();
  return dir.ok() ? std::move(*dir) : nullptr;
}

// $TMPDIR set for a while, as it was afterwards.
struct ScopedTmpdir {
  explicit ScopedTmpdir(const std::string& value) {
    if (const char* old = getenv("TMPDIR")) saved = old;
    setenv("TMPDIR", value.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (saved) {
      setenv("TMPDIR", saved->c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }
  std::optional<std::string> saved;
};

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// gpg in its own home. Keys are made on first use: each test is its own process under ctest.
class Gpg {
 public:
  Gpg() {
    // Under /tmp, not $TMPDIR: the agent's socket path must stay short.
    home_ = MakeTempDir("/tmp", "plumbline-gpg-test-");
  }
  ~Gpg() {
    (void)Run({"gpgconf", "--kill", "all"});
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }
  const std::string& home() const { return home_; }

  Result<SubprocessResult> Run(std::vector<std::string> argv, const std::string& input = "") {
    SubprocessOptions options;
    options.extra_env = {{"GNUPGHOME", home_}, {"LANG", "C"}};
    options.timeout = std::chrono::seconds(120);  // an RSA key on a busy machine
    if (!input.empty()) {
      WriteFile(home_ + "/input", input);
      argv.push_back(home_ + "/input");
    }
    return RunSubprocess(argv, options);
  }

  // Output on success, or a test failure with gpg's complaint.
  std::string Must(const std::vector<std::string>& argv, const std::string& input = "") {
    auto r = Run(argv, input);
    EXPECT_TRUE(r.ok() && r->exit_code == 0)
        << argv[1] << ": " << (r.ok() ? r->err : r.error().message());
    return r.ok() ? r->out : "";
  }

  // A new primary key for `uid` ("Alice <alice@example.com>"), once; returns its fingerprint.
  std::string Key(const std::string& uid, const std::string& algo = "ed25519",
                  const std::string& expire = "never", const std::vector<std::string>& extra = {}) {
    if (auto it = fingerprints_.find(uid); it != fingerprints_.end()) return it->second;
    std::vector<std::string> argv = {"gpg",          "--batch", "--pinentry-mode", "loopback",
                                     "--passphrase", "",        "--utf8-strings"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--quick-gen-key", uid, algo, "sign", expire});
    Must(argv);
    const auto found = Fingerprints(uid);
    return fingerprints_[uid] = found.empty() ? "" : found[0];
  }

  // The fingerprints of the key for `who`, primary first, as gpg prints them.
  std::vector<std::string> Fingerprints(const std::string& who) {
    std::vector<std::string> out;
    std::istringstream lines(Must({"gpg", "--utf8-strings", "--with-colons",
                                   "--with-subkey-fingerprint", "--fingerprint", who}));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("fpr:", 0) == 0) {
        line.pop_back();  // the trailing ':'
        out.push_back(line.substr(line.rfind(':') + 1));
      }
    }
    return out;
  }

  std::string Export(const std::vector<std::string>& who) {
    std::vector<std::string> argv = {"gpg", "--armor", "--export"};
    argv.insert(argv.end(), who.begin(), who.end());
    return Must(argv);
  }

  std::string Sign(const std::vector<std::string>& signers, const std::string& message,
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {"gpg", "--batch", "--armor", "--detach-sign", "-o", "-"};
    for (const auto& s : signers) argv.insert(argv.end(), {"-u", s});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Must(argv, message);
  }

 private:
  std::string home_;
  std::map<std::string, std::string> fingerprints_;
};

const char kCommit[] =
    "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    "author Alice <alice@example.com> 1700000000 +0000\n"
    "committer Alice <alice@example.com> 1700000000 +0000\n"
    "\n"
    "Deploy v1\n";

class OpenPgpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gpg_ = new Gpg(); }
  static void TearDownTestSuite() {
    delete gpg_;
    gpg_ = nullptr;
  }
  void SetUp() override { ASSERT_FALSE(gpg_->home().empty()); }

  static std::string KeyId(const std::string& fingerprint) {
    return fingerprint.size() == 40 ? fingerprint.substr(24) : "(no key)";
  }

  static Gpg* gpg_;
};
Gpg* OpenPgpTest::gpg_ = nullptr;

TEST_F(OpenPgpTest, VerifiesASignatureByATrustedKey) {
  const std::string fpr = gpg_->Key("Alice <alice@example.com>");
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit, {gpg_->Export({"alice@example.com"})});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->format, "openpgp");
  EXPECT_EQ(fpr.size(), 40u);
  EXPECT_EQ(r->fingerprint, fpr);
  EXPECT_EQ(r->identity, "Alice <alice@example.com>");
}

// gpg escapes '%' in status lines (as %25); the identity is the user id as written.
TEST_F(OpenPgpTest, TheIdentityIsTheUserIdAsWritten) {
  const std::string uid = "Zo\xc3\xab 100% <zoe@example.com>";
  const std::string fpr = gpg_->Key(uid);
  const std::string sig = gpg_->Sign({"zoe@example.com"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit, {gpg_->Export({"zoe@example.com"})});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->fingerprint, fpr);
  EXPECT_EQ(r->identity, uid);
}

TEST_F(OpenPgpTest, ATamperedMessageIsUnauthorized) {
  const std::string fpr = gpg_->Key("Alice <alice@example.com>");
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  std::string tampered = kCommit;
  tampered.replace(tampered.find("v1"), 2, "v2");
  auto r = VerifyOpenPgpSignature(sig, tampered, {gpg_->Export({"alice@example.com"})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(r.error().message().find("by key " + fpr + " does not match the commit"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().message().find("Deploy"), std::string::npos);
}

TEST_F(OpenPgpTest, ASignatureByAKeyNotTrustedNamesTheKey) {
  gpg_->Key("Alice <alice@example.com>");
  const std::string carol = gpg_->Key("Carol <carol@example.com>");
  const std::string sig = gpg_->Sign({"carol@example.com"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit, {gpg_->Export({"alice@example.com"})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(r.error().message().find(KeyId(carol)), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("not trusted"), std::string::npos) << r.error().message();
}

TEST_F(OpenPgpTest, AnEmptyTrustedListTrustsNothing) {
  const std::string alice = gpg_->Key("Alice <alice@example.com>");
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(r.error().message().find(KeyId(alice)), std::string::npos) << r.error().message();
}

// One armored block with two keys (an RSA one second, the signer), after another entry.
TEST_F(OpenPgpTest, FindsTheSignerAmongSeveralKeysInOneBlock) {
  gpg_->Key("Alice <alice@example.com>");
  gpg_->Key("Carol <carol@example.com>");
  const std::string bob = gpg_->Key("Bob <bob@example.com>", "rsa3072");
  const std::string block = gpg_->Export({"carol@example.com", "bob@example.com"});
  ASSERT_EQ(block.find("BEGIN PGP PUBLIC KEY BLOCK"), block.rfind("BEGIN PGP PUBLIC KEY BLOCK"));
  const std::string sig = gpg_->Sign({"bob@example.com"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit, {gpg_->Export({"alice@example.com"}), block});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->fingerprint, bob);
  EXPECT_EQ(r->identity, "Bob <bob@example.com>");
}

// A signature made by a signing subkey names the certificate: its primary key.
TEST_F(OpenPgpTest, ASigningSubkeyIsReportedByItsPrimaryKey) {
  const std::string dave = gpg_->Key("Dave <dave@example.com>");
  gpg_->Must({"gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
              "--quick-add-key", dave, "ed25519", "sign", "never"});
  const auto fprs = gpg_->Fingerprints("dave@example.com");
  ASSERT_EQ(fprs.size(), 2u);
  const std::string sig = gpg_->Sign({fprs[1] + "!"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit, {gpg_->Export({"dave@example.com"})});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->fingerprint, dave);
  EXPECT_NE(r->fingerprint, fprs[1]);
}

TEST_F(OpenPgpTest, ExpiredAndRevokedKeysAreUnauthorized) {
  // Made and used in 2020, valid for a day: a signature from when the key was good.
  gpg_->Key("Old <old@example.com>", "ed25519", "1d", {"--faked-system-time", "20200101T000000"});
  const std::string old_sig =
      gpg_->Sign({"old@example.com"}, kCommit, {"--faked-system-time", "20200101T010000"});
  auto expired = VerifyOpenPgpSignature(old_sig, kCommit, {gpg_->Export({"old@example.com"})});
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos)
      << expired.error().message();

  const std::string rev = gpg_->Key("Rev <rev@example.com>");
  const std::string rev_sig = gpg_->Sign({"rev@example.com"}, kCommit);
  // gpg keeps a revocation certificate for each new key, its armor line escaped with ':'.
  std::ifstream in(gpg_->home() + "/openpgp-revocs.d/" + rev + ".rev");
  std::string cert((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(cert.find(":-----BEGIN"), std::string::npos);
  cert.erase(cert.find(":-----BEGIN"), 1);
  gpg_->Must({"gpg", "--batch", "--import"}, cert);
  auto revoked = VerifyOpenPgpSignature(rev_sig, kCommit, {gpg_->Export({"rev@example.com"})});
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(revoked.error().message().find("revoked"), std::string::npos)
      << revoked.error().message();
}

// Git makes one signature; two, even both trusted, are not a commit's signature.
TEST_F(OpenPgpTest, SeveralSignaturesAreRefused) {
  gpg_->Key("Alice <alice@example.com>");
  gpg_->Key("Carol <carol@example.com>");
  const std::string sig = gpg_->Sign({"alice@example.com", "carol@example.com"}, kCommit);
  auto r = VerifyOpenPgpSignature(sig, kCommit,
                                  {gpg_->Export({"alice@example.com", "carol@example.com"})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnauthorized);
}

TEST_F(OpenPgpTest, GarbageIsRefusedWithoutACrash) {
  gpg_->Key("Alice <alice@example.com>");
  const std::string key = gpg_->Export({"alice@example.com"});
  const std::string good = gpg_->Sign({"alice@example.com"}, kCommit);
  // A signed message (its own literal data) dressed as a detached signature.
  std::string message =
      gpg_->Must({"gpg", "--batch", "--armor", "--sign", "-u", "alice@example.com", "-o", "-"},
                 "something else");
  for (const char* label : {"BEGIN PGP MESSAGE", "END PGP MESSAGE"}) {
    std::string l(label);
    message.replace(message.find(l), l.size(), l.substr(0, l.find(' ') + 5) + "SIGNATURE");
  }
  // Refused before gpgv runs (which would refuse it too, as "not a detached signature").
  auto dressed = VerifyOpenPgpSignature(message, "something else", {key});
  ASSERT_FALSE(dressed.ok());
  EXPECT_EQ(dressed.error().code(), ErrorCode::kInvalidArgument) << dressed.error().message();
  std::string bad_crc = good;
  bad_crc[bad_crc.find("\n=") + 2] ^= 1;
  std::string truncated = good.substr(0, good.size() / 2) + "\n-----END PGP SIGNATURE-----\n";
  const std::string kHead = "-----BEGIN PGP SIGNATURE-----\n\n";
  const std::string kTail = "\n-----END PGP SIGNATURE-----\n";
  for (const std::string& sig : std::vector<std::string>{
           "", "hello", good.substr(0, 40), kHead + "AAAA" + kTail, kHead + "!!!!" + kTail,
           kHead + kTail, kHead + "iQEzBAABCAAdFiEE" + kTail, kHead + "/////////w==" + kTail,
           message, bad_crc, truncated, std::string(70 << 10, 'A'),
           "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"}) {
    auto r = VerifyOpenPgpSignature(sig, kCommit, {key});
    ASSERT_FALSE(r.ok()) << sig;
    EXPECT_TRUE(r.error().code() == ErrorCode::kInvalidArgument ||
                r.error().code() == ErrorCode::kUnauthorized)
        << r.error().message();
    EXPECT_LT(r.error().message().size(), 500u);
  }
}

TEST_F(OpenPgpTest, AMalformedKeyNamesItsEntry) {
  gpg_->Key("Alice <alice@example.com>");
  const std::string key = gpg_->Export({"alice@example.com"});
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  const std::string private_key =
      gpg_->Must({"gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--armor",
                  "--export-secret-keys", "alice@example.com"});
  std::string bad_base64 = key;
  bad_base64.insert(bad_base64.find("\n\n") + 2, "!");
  for (const std::string& bad :
       std::vector<std::string>{"", "ssh-ed25519 AAAA", bad_base64, private_key,
                                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\niQEzBAABCAAd\n-----END "
                                "PGP PUBLIC KEY BLOCK-----",
                                key.substr(0, key.size() / 2), std::string(2 << 20, 'A')}) {
    auto r = VerifyOpenPgpSignature(sig, kCommit, {key, bad});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().message();
    if (bad.size() < (1 << 20)) {
      EXPECT_NE(r.error().message().find("trusted OpenPGP key 2 of 2"), std::string::npos)
          << r.error().message();
    }
    EXPECT_EQ(r.error().message().find("PRIVATE"), std::string::npos) << r.error().message();
  }
}

TEST_F(OpenPgpTest, AMissingGpgvIsAnInternalError) {
  gpg_->Key("Alice <alice@example.com>");
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  VerifyOptions options;
  options.gpgv_path = "/nonexistent/plumbline-gpgv";
  auto r = VerifyOpenPgpSignature(sig, kCommit, {gpg_->Export({"alice@example.com"})}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
  EXPECT_NE(r.error().message().find("/nonexistent/plumbline-gpgv"), std::string::npos);
}

// Every check counts, shown with a gpgv that prints what it is told (the real one never prints
// GOODSIG without VALIDSIG, or both and then fails).
TEST_F(OpenPgpTest, SuccessNeedsGoodsigValidsigAndExitCodeZero) {
  gpg_->Key("Alice <alice@example.com>");
  const std::string key = gpg_->Export({"alice@example.com"});
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  const auto scoped = ScopedDir("plumbline-fake-gpgv-");
  ASSERT_NE(scoped, nullptr);
  const std::string& dir = scoped->path();
  ASSERT_FALSE(dir.empty());
  const std::string kFpr = "118476D36DBA31049006C3969D04129550B29859";
  const std::string kNew = "[GNUPG:] NEWSIG\n";
  const std::string kGood = "[GNUPG:] GOODSIG 9D04129550B29859 Alice <alice@example.com>\n";
  const std::string kValid =
      "[GNUPG:] VALIDSIG " + kFpr + " 2026-12-06 1796553344 0 4 0 22 8 00 " + kFpr + "\n";
  auto fake = [&](const std::string& out, int code) {
    const std::string path = dir + "/gpgv";
    WriteFile(dir + "/out", out);
    WriteFile(path, "#!/bin/sh\n/bin/cat '" + dir + "/out'\necho 'complaint' >&2\nexit " +
                        std::to_string(code) + "\n");
    chmod(path.c_str(), 0755);
    VerifyOptions options;
    options.gpgv_path = path;
    return VerifyOpenPgpSignature(sig, kCommit, {key}, options);
  };
  auto all = fake(kNew + kGood + kValid, 0);
  ASSERT_TRUE(all.ok()) << all.error().message();
  EXPECT_EQ(all->fingerprint, kFpr);
  EXPECT_FALSE(fake(kNew + kGood + kValid, 1).ok());
  EXPECT_FALSE(fake(kNew + kGood, 0).ok());
  EXPECT_FALSE(fake(kNew + kValid, 0).ok());
  EXPECT_FALSE(fake("", 0).ok());
  EXPECT_FALSE(fake(kNew + kGood + kValid + kNew + kGood + kValid, 0).ok());
  // Status lines count only at the start of a line.
  EXPECT_FALSE(fake(kNew + "x" + kGood + "x" + kValid, 0).ok());
  auto failed = fake(kNew + kGood + kValid, 2);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnauthorized);
  EXPECT_NE(failed.error().message().find("complaint"), std::string::npos);
}

// Whatever the outcome, the private directory (keyring, signature, commit) is gone; it is made
// under $TMPDIR.
TEST_F(OpenPgpTest, LeavesNothingInTheTemporaryDirectory) {
  gpg_->Key("Alice <alice@example.com>");
  gpg_->Key("Carol <carol@example.com>");
  const std::string key = gpg_->Export({"alice@example.com"});
  const std::string sig = gpg_->Sign({"alice@example.com"}, kCommit);
  const std::string untrusted = gpg_->Sign({"carol@example.com"}, kCommit);
  const auto scoped_tmp = ScopedDir("plumbline-tmpdir-");
  ASSERT_NE(scoped_tmp, nullptr);
  const std::string& tmp = scoped_tmp->path();
  ASSERT_FALSE(tmp.empty());
  const auto scoped_bin = ScopedDir("plumbline-fake-gpgv-");
  ASSERT_NE(scoped_bin, nullptr);
  const std::string& bin = scoped_bin->path();
  ASSERT_FALSE(bin.empty());
  const ScopedTmpdir scoped_env(tmp);
  VerifyOptions missing;
  missing.gpgv_path = "/nonexistent/plumbline-gpgv";
  // A gpgv that leaves files of its own in its home directory, and one that never finishes.
  VerifyOptions litter;
  litter.gpgv_path = bin + "/litter";
  WriteFile(litter.gpgv_path, "#!/bin/sh\necho \"$4\" > '" + bin +
                                  "/home'\n/bin/mkdir -p \"$4/sub\"\n/bin/touch \"$4/sub/f\"\n");
  chmod(litter.gpgv_path.c_str(), 0755);
  VerifyOptions slow;
  slow.gpgv_path = bin + "/slow";
  slow.timeout = std::chrono::milliseconds(300);
  WriteFile(slow.gpgv_path, "#!/bin/sh\nexec /bin/sleep 10\n");
  chmod(slow.gpgv_path.c_str(), 0755);
  EXPECT_TRUE(VerifyOpenPgpSignature(sig, kCommit, {key}).ok());
  EXPECT_FALSE(VerifyOpenPgpSignature(sig, "other", {key}).ok());
  EXPECT_FALSE(VerifyOpenPgpSignature(untrusted, kCommit, {key}).ok());
  EXPECT_FALSE(VerifyOpenPgpSignature(sig, kCommit, {key}, missing).ok());
  EXPECT_FALSE(VerifyOpenPgpSignature(sig, kCommit, {key}, litter).ok());
  auto timed_out = VerifyOpenPgpSignature(sig, kCommit, {key}, slow);
  EXPECT_EQ(timed_out.ok() ? ErrorCode::kOk : timed_out.error().code(), ErrorCode::kTimeout);
  EXPECT_FALSE(VerifyOpenPgpSignature(sig, kCommit, {key, "junk"}).ok());
  EXPECT_TRUE(std::filesystem::is_empty(tmp));
  // The directory was made there, not elsewhere.
  std::ifstream home_file(bin + "/home");
  std::string home;
  std::getline(home_file, home);
  EXPECT_EQ(home.rfind(tmp + "/plumbline-gpgv-", 0), 0u) << home;
}

}  // namespace
}  // namespace plumbline::verify
