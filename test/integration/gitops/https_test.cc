// git over HTTPS against a real TLS server running `git http-backend`: username/password,
// a bearer token, and the Application's own CA.
#include <gtest/gtest.h>

#include "support/gitops_env.h"

namespace plumbline {
namespace {

using testing::BackgroundProcess;
using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;
using testing::MustRun;
using testing::ReadFile;

class HttpsTest : public GitOpsTest {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(GitOpsEnvironment::Get()->repos_dir() + "/../https");
    std::string d = *dir_;
    MustRun({"mkdir", "-p", d});
    MustRun({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key",
             "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=plumbline-test-git-ca"});
    MustRun({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key",
             "-out", d + "/server.csr", "-subj", "/CN=localhost"});
    testing::WriteFile(d + "/ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    MustRun({"openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey",
             d + "/ca.key", "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile",
             d + "/ext"});
    port_ = testing::FreePort();
    server_ = new BackgroundProcess();
    Status started = server_->Start(
        {"python3", std::string(PLUMBLINE_SOURCE_DIR) + "/test/support/scripts/git_https_server.py",
         std::to_string(port_), GitOpsEnvironment::Get()->repos_dir(), d + "/server.crt",
         d + "/server.key", "alice:s3cret", "tok-123"},
        d + "/server.log");
    ASSERT_TRUE(started.ok());
    ASSERT_TRUE(testing::Eventually([] { return testing::PortOpen(port_); }));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  std::string Url(const std::string& repo_dir) {
    return "https://localhost:" + std::to_string(port_) + "/" +
           repo_dir.substr(repo_dir.rfind('/') + 1);
  }

  Json Spec(const std::string& url, const std::string& secret) {
    return {{"source", {{"repoURL", url}, {"path", "app"}, {"secretRef", {{"name", secret}}}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"}};
  }

  std::string Ca() { return ReadFile(*dir_ + "/ca.crt"); }

  static std::string* dir_;
  static int port_;
  static BackgroundProcess* server_;
};

std::string* HttpsTest::dir_ = nullptr;
int HttpsTest::port_ = 0;
BackgroundProcess* HttpsTest::server_ = nullptr;

TEST_F(HttpsTest, UsernameAndPasswordWithTheApplicationsCa) {
  std::string unused;
  GitRepo repo = NewRepo("https-basic", &unused);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: over-https}\n");
  std::string sha = repo.Commit("one");
  ApplySecret("creds", {{"username", "alice"}, {"password", "s3cret"}, {"ca.crt", Ca()}});
  ApplyApp("web", Spec(Url(repo.dir()), "creds"));
  ASSERT_TRUE(ReadyAt("web", sha));
  EXPECT_FALSE(Live("v1", "ConfigMap", namespace_, "over-https").is_null());
}

TEST_F(HttpsTest, BearerToken) {
  std::string unused;
  GitRepo repo = NewRepo("https-bearer", &unused);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: with-token}\n");
  std::string sha = repo.Commit("one");
  ApplySecret("token", {{"bearerToken", "tok-123"}, {"ca.crt", Ca()}});
  ApplyApp("web", Spec(Url(repo.dir()), "token"));
  ASSERT_TRUE(ReadyAt("web", sha));
}

TEST_F(HttpsTest, AWrongPasswordOrAnUntrustedServerIsFetchFailed) {
  std::string unused;
  GitRepo repo = NewRepo("https-bad", &unused);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: never}\n");
  repo.Commit("one");
  ApplySecret("wrong", {{"username", "alice"}, {"password", "nope"}, {"ca.crt", Ca()}});
  ApplyApp("wrong-password", Spec(Url(repo.dir()), "wrong"));
  ApplySecret("no-ca", {{"username", "alice"}, {"password", "s3cret"}});
  ApplyApp("no-ca", Spec(Url(repo.dir()), "no-ca"));
  ASSERT_TRUE(WaitApp("wrong-password",
                      [&](const Json& a) { return Cond(a, "Ready", "reason") == "FetchFailed"; }));
  EXPECT_NE(Cond(GetApp("wrong-password"), "Ready", "message").find("authentication"),
            std::string::npos)
      << Cond(GetApp("wrong-password"), "Ready", "message");
  ASSERT_TRUE(
      WaitApp("no-ca", [&](const Json& a) { return Cond(a, "Ready", "reason") == "FetchFailed"; }));
  std::string message = Cond(GetApp("no-ca"), "Ready", "message");
  EXPECT_NE(message.find("certificate"), std::string::npos) << message;
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "never").is_null());
}

}  // namespace
}  // namespace plumbline
