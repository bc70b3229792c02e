// Signed commits verified before apply (spec.verify), end to end: commits and tags signed with
// real SSH and OpenPGP keys (ssh-keygen, gpg), served by the git daemon, verified by the
// in-process controller against the real control plane (SSH in-process, OpenPGP by gpgv).
#include <filesystem>

#include <gtest/gtest.h>

#include "support/cli_runner.h"
#include "support/control_plane.h"
#include "support/gitops_env.h"
#include "support/metrics_text.h"
#include "support/process.h"
#include "support/signing.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;
using testing::Ran;
using testing::SigningKey;

class TrustTest : public GitOpsTest {
 protected:
  void SetUp() override {
    GitOpsTest::SetUp();
    keys_dir_ = GitOpsEnvironment::Get()->repos_dir() + "/../keys-" + namespace_;
  }
  void TearDown() override {
    for (const auto& key : pgp_keys_) testing::StopGpgAgent(key);
    GitOpsTest::TearDown();
    std::filesystem::remove_all(keys_dir_);
  }
  SigningKey Ssh(const std::string& who) {
    return testing::NewSshSigningKey(keys_dir_ + "/" + who, who + "@example.com");
  }
  SigningKey Pgp(const std::string& who) {
    pgp_keys_.push_back(
        testing::NewOpenPgpSigningKey(keys_dir_ + "/" + who, who + " <" + who + "@example.com>"));
    return pgp_keys_.back();
  }
  Json Spec(const std::string& url, const std::string& mode = "HEAD") {
    return {{"source", {{"repoURL", url}, {"path", "app"}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"},
            {"verify", {{"mode", mode}, {"secretRef", {{"name", "trusted"}}}}}};
  }
  void WriteConfig(GitRepo& repo, const std::string& v) {
    repo.Write("app/cm.yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
               "data: {v: \"" +
                   v + "\"}\n");
  }
  std::string Signed(GitRepo& repo, const std::string& v, const SigningKey& key) {
    WriteConfig(repo, v);
    return testing::CommitSigned(repo.dir(), "config v" + v, key);
  }
  std::string Unsigned(GitRepo& repo, const std::string& v) {
    WriteConfig(repo, v);
    return repo.Commit("config v" + v);
  }
  std::string Value() {
    Json cm = Live("v1", "ConfigMap", namespace_, "settings");
    return cm.is_null() ? "" : cm["data"].value("v", "");
  }
  // Waits until `sha` is refused (Ready=False and SourceVerified=False, VerificationFailed), with
  // a Warning Event, and the message holding `part`; then checks that nothing of it was applied.
  void ExpectRefused(const std::string& sha, const std::string& part, const std::string& live) {
    ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
      return StatusOf(a).value("lastAttemptedRevision", "") == sha &&
             Cond(a, "Ready", "reason") == "VerificationFailed" &&
             Cond(a, "SourceVerified") == "False";
    })) << GetApp("web").dump(2);
    const Json app = GetApp("web");
    EXPECT_NE(Cond(app, "Ready", "message").find(part), std::string::npos)
        << Cond(app, "Ready", "message");
    EXPECT_EQ(Cond(app, "SourceVerified", "reason"), "VerificationFailed");
    EXPECT_TRUE(Eventually([&] { return WarnedWith("VerificationFailed", part); }))
        << "no Warning Event naming " << part;
    EXPECT_EQ(Value(), live) << "nothing of a refused revision may be applied";
    EXPECT_NE(StatusOf(app).value("lastAppliedRevision", ""), sha);
  }
  double Failures() {
    return testing::MetricSum(GitOpsEnvironment::Get()->metrics().Scrape(),
                              "plumbline_verification_failures_total",
                              {{"namespace", namespace_}, {"name", "web"}})
        .value_or(-1);
  }
  Ran Plumbline(std::vector<std::string> args) {
    args.insert(args.end(),
                {"--kubeconfig", testing::ControlPlane::Get()->kubeconfig(), "-n", namespace_});
    if (args[0] == "revert") {
      args.insert(args.end(),
                  {"--cache-dir", GitOpsEnvironment::Get()->repos_dir() + "/../cli-" + namespace_});
    }
    return testing::RunCli(args);
  }

  std::string keys_dir_;
  std::vector<SigningKey> pgp_keys_;
};

TEST_F(TrustTest, OnlyCommitsSignedByATrustedSshKeyAreApplied) {
  std::string url;
  GitRepo repo = NewRepo("ssh-signed", &url);
  const SigningKey alice = Ssh("alice"), mallory = Ssh("mallory");
  ApplySecret("trusted", {{"alice.pub", "# release managers\n" + alice.public_key + "\n"}});
  const std::string v1 = Signed(repo, "1", alice);
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", v1)) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "1");
  Json app = GetApp("web");
  EXPECT_EQ(Cond(app, "SourceVerified"), "True");
  EXPECT_EQ(Cond(app, "SourceVerified", "reason"), "Verified");
  EXPECT_NE(Cond(app, "SourceVerified", "message").find(alice.fingerprint), std::string::npos)
      << Cond(app, "SourceVerified", "message");
  EXPECT_NE(Cond(app, "SourceVerified", "message").find("alice@example.com"), std::string::npos);
  EXPECT_EQ(Failures(), 0);

  // An unsigned commit: refused, nothing applied, the cluster keeps v1.
  const std::string v2 = Unsigned(repo, "2");
  ExpectRefused(v2, "commit " + v2.substr(0, 12), "1");
  EXPECT_NE(Cond(GetApp("web"), "Ready", "message").find("is not signed"), std::string::npos);
  EXPECT_GE(Failures(), 1);

  // Signed, by a key the Application does not trust: the message names that key.
  const std::string v3 = Signed(repo, "3", mallory);
  ExpectRefused(v3, mallory.fingerprint, "1");
  EXPECT_NE(Cond(GetApp("web"), "Ready", "message").find("not trusted"), std::string::npos);

  // A forged commit: alice's signature over another tree (the content of v3). Her key is
  // trusted, the signature does not match.
  const std::string v4 = Signed(repo, "4", alice);
  std::string raw = testing::MustRun({"git", "cat-file", "commit", v4}, repo.dir());
  const std::string v3_tree =
      testing::MustRun({"git", "rev-parse", v3 + "^{tree}"}, repo.dir()).substr(0, 40);
  raw.replace(raw.find("tree ") + 5, 40, v3_tree);
  testing::WriteFile(repo.dir() + "/../forged-" + namespace_, raw);
  const std::string forged = testing::MustRun({"git", "hash-object", "-t", "commit", "-w",
                                               repo.dir() + "/../forged-" + namespace_},
                                              repo.dir())
                                 .substr(0, 40);
  testing::MustRun({"git", "reset", "-q", "--hard", forged}, repo.dir());
  ExpectRefused(forged, "does not match", "1");

  // A signed commit on top is applied again.
  const std::string v5 = Signed(repo, "5", alice);
  ASSERT_TRUE(ReadyAt("web", v5)) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "5");
  EXPECT_EQ(Cond(GetApp("web"), "SourceVerified"), "True");
}

// Keys that cannot be read are the Secret's problem, not the commit's: nothing is applied, but
// no unverified commit is counted (nor alerted on). A private key is refused by name.
TEST_F(TrustTest, KeysThatCannotBeUsedApplyNothingAndAreNotCountedAsUnverifiedCommits) {
  std::string url;
  GitRepo repo = NewRepo("bad-keys", &url);
  const SigningKey alice = Ssh("alice");
  const std::string v1 = Signed(repo, "1", alice);
  ApplyApp("web", Spec(url));  // the Secret "trusted" does not exist yet
  auto refused_with = [&](const std::string& part) {
    return WaitApp("web", [&](const Json& a) {
      return Cond(a, "Ready", "reason") == "VerificationFailed" &&
             Cond(a, "SourceVerified") == "False" &&
             Cond(a, "Ready", "message").find(part) != std::string::npos;
    });
  };
  ASSERT_TRUE(refused_with("cannot read the trusted keys")) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "");
  ApplySecret("trusted", {{"alice", testing::ReadFile(alice.key)}});
  ASSERT_TRUE(refused_with("holds a private key in alice")) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "");
  EXPECT_EQ(Failures(), 0) << "a key problem is not an unverified commit";

  ApplySecret("trusted", {{"alice", alice.public_key}});
  ASSERT_TRUE(ReadyAt("web", v1)) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "1");
}

TEST_F(TrustTest, OpenPgpSignedCommitsAreVerifiedWithGpgv) {
  std::string url;
  GitRepo repo = NewRepo("pgp-signed", &url);
  const SigningKey bob = Pgp("bob"), eve = Pgp("eve");
  ApplySecret("trusted", {{"bob.asc", bob.public_key}});
  const std::string v1 = Signed(repo, "1", bob);
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", v1)) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "1");
  const std::string verified = Cond(GetApp("web"), "SourceVerified", "message");
  EXPECT_NE(verified.find(bob.fingerprint), std::string::npos) << verified;
  EXPECT_NE(verified.find("bob@example.com"), std::string::npos) << verified;

  const std::string v2 = Signed(repo, "2", eve);
  // gpgv names the signing key by its long key id: the fingerprint's last 16 digits.
  ExpectRefused(v2, eve.fingerprint.substr(eve.fingerprint.size() - 16), "1");
  EXPECT_NE(Cond(GetApp("web"), "Ready", "message").find("not trusted"), std::string::npos);
}

TEST_F(TrustTest, TagModesVerifyTheAnnotatedTagAndTheCommit) {
  std::string url;
  GitRepo repo = NewRepo("tags", &url);
  const SigningKey alice = Ssh("alice");
  ApplySecret("trusted", {{"keys", alice.public_key}});
  // An unsigned commit under a tag that alice signed: mode Tag trusts the tag.
  const std::string v1 = Unsigned(repo, "1");
  testing::TagAnnotated(repo.dir(), "v1", &alice);
  Json spec = Spec(url, "Tag");
  spec["source"]["revision"] = "v1";
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", v1)) << GetApp("web").dump(2);
  EXPECT_NE(Cond(GetApp("web"), "SourceVerified", "message").find("tag v1"), std::string::npos);

  // TagAndHEAD wants the commit signed too.
  spec["verify"]["mode"] = "TagAndHEAD";
  ApplyApp("web", spec);
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return Cond(a, "Ready", "reason") == "VerificationFailed" &&
           Cond(a, "Ready", "message").find("commit " + v1.substr(0, 12)) != std::string::npos;
  })) << GetApp("web").dump(2);

  // An unsigned annotated tag, and a lightweight one, under mode Tag.
  const std::string v2 = Signed(repo, "2", alice);
  testing::TagAnnotated(repo.dir(), "v2", nullptr);
  spec["verify"]["mode"] = "Tag";
  spec["source"]["revision"] = "v2";
  ApplyApp("web", spec);
  ExpectRefused(v2, "tag v2 is not signed", "1");
  const std::string v3 = Signed(repo, "3", alice);
  testing::MustRun({"git", "tag", "v3"}, repo.dir());
  spec["source"]["revision"] = "v3";
  ApplyApp("web", spec);
  ExpectRefused(v3, "needs spec.source.revision to name an annotated tag", "1");

  // Both signed: TagAndHEAD applies.
  const std::string v4 = Signed(repo, "4", alice);
  testing::TagAnnotated(repo.dir(), "v4", &alice);
  spec["verify"]["mode"] = "TagAndHEAD";
  spec["source"]["revision"] = "v4";
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", v4)) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "4");

  // A signed tag object moved under another name: its signature covers the name it was made
  // with, so "prod" pointing at the tag object "v2-rc" is refused.
  const std::string rc = Signed(repo, "5", alice);
  testing::TagAnnotated(repo.dir(), "v2-rc", &alice);
  const std::string tag_object =
      testing::MustRun({"git", "rev-parse", "refs/tags/v2-rc"}, repo.dir()).substr(0, 40);
  testing::MustRun({"git", "update-ref", "refs/tags/prod", tag_object}, repo.dir());
  spec["verify"]["mode"] = "Tag";
  spec["source"]["revision"] = "prod";
  ApplyApp("web", spec);
  ExpectRefused(rc, "points at a tag object named \"v2-rc\"", "4");
}

TEST_F(TrustTest, AKeyRotatedInTheSecretTakesEffectWithoutARestart) {
  std::string url;
  GitRepo repo = NewRepo("rotation", &url);
  const SigningKey old_key = Ssh("old"), new_key = Ssh("new");
  ApplySecret("trusted", {{"old.pub", old_key.public_key}});
  const std::string v1 = Signed(repo, "1", old_key);
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", v1));
  const std::string v2 = Signed(repo, "2", new_key);
  ExpectRefused(v2, new_key.fingerprint, "1");

  // The new key is added: the commit it signed is applied.
  ApplySecret("trusted", {{"old.pub", old_key.public_key}, {"new.pub", new_key.public_key}});
  ASSERT_TRUE(ReadyAt("web", v2)) << GetApp("web").dump(2);
  EXPECT_EQ(Value(), "2");

  // The old key is retired: what it signs from now on is refused.
  ApplySecret("trusted", {{"new.pub", new_key.public_key}});
  const std::string v3 = Signed(repo, "3", old_key);
  ExpectRefused(v3, old_key.fingerprint, "2");
}

TEST_F(TrustTest, RevertWithASigningKeyKeepsAVerifiedApplicationDeploying) {
  std::string url;
  GitRepo repo = NewRepo("signed-revert", &url);
  testing::MustRun({"git", "config", "receive.denyCurrentBranch", "updateInstead"}, repo.dir());
  const SigningKey alice = Ssh("alice");
  const SigningKey carol = Pgp("carol");
  ApplySecret("trusted", {{"alice.pub", alice.public_key}, {"carol.asc", carol.public_key}});
  Signed(repo, "1", alice);
  const std::string v2 = Signed(repo, "2", alice);
  Json spec = Spec(url);
  spec["interval"] = "1h";  // the revert's own sync request reconciles
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", v2));

  // Signed with an SSH key: pushed, verified and rolled back.
  Ran reverted = Plumbline({"revert", "web", "--signing-key", alice.key, "--timeout", "60s"});
  ASSERT_EQ(reverted.code, 0) << reverted.out << reverted.err;
  EXPECT_EQ(Value(), "1");
  const std::string revert_sha = repo.Head();
  EXPECT_EQ(StatusOf(GetApp("web")).value("lastAppliedRevision", ""), revert_sha);
  EXPECT_EQ(Cond(GetApp("web"), "SourceVerified"), "True");
  // git itself agrees that the revert is signed by alice.
  const std::string allowed = keys_dir_ + "/allowed_signers";
  testing::WriteFile(allowed, "alice@example.com " + alice.public_key + "\n");
  testing::MustRun(
      {"git", "-c", "gpg.ssh.allowedSignersFile=" + allowed, "verify-commit", revert_sha},
      repo.dir());

  // Signed with an OpenPGP key through gpg (a program that uses the key's home directory).
  const std::string v3 = Signed(repo, "3", alice);
  Ran synced = Plumbline({"sync", "web", "--wait", "--timeout", "60s"});
  ASSERT_EQ(synced.code, 0) << synced.out << synced.err;
  ASSERT_EQ(Value(), "3");
  Ran pgp =
      Plumbline({"revert", "web", "--signing-format", "openpgp", "--signing-key", carol.fingerprint,
                 "--signing-program", carol.gpg_program, "--timeout", "60s"});
  ASSERT_EQ(pgp.code, 0) << pgp.out << pgp.err;
  EXPECT_EQ(Value(), "1");
  EXPECT_NE(Cond(GetApp("web"), "SourceVerified", "message").find(carol.fingerprint),
            std::string::npos);

  // Without a key the revert is pushed unsigned, with a warning, and the controller refuses it.
  const std::string v4 = Signed(repo, "4", alice);
  synced = Plumbline({"sync", "web", "--wait", "--timeout", "60s"});
  ASSERT_EQ(synced.code, 0) << synced.out << synced.err;
  Ran unsigned_revert = Plumbline({"revert", "web", "--timeout", "30s"});
  EXPECT_NE(unsigned_revert.code, 0) << unsigned_revert.out;
  EXPECT_NE(unsigned_revert.err.find("--signing-key"), std::string::npos) << unsigned_revert.err;
  EXPECT_EQ(Value(), "4");
  EXPECT_EQ(Cond(GetApp("web"), "Ready", "reason"), "VerificationFailed");
}

}  // namespace
}  // namespace plumbline
