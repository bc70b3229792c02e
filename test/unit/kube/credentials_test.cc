// Credential sources: token files that rotate, exec plugins run for real as child processes.
#include "kube/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace plumbline::kube {
namespace {

namespace fs = std::filesystem;

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/plumbline-creds-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Script(const std::string& body) {
    std::string path = dir_ + "/plugin-" + std::to_string(++scripts_) + ".sh";
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    return path;
  }

  Config ExecConfig(const std::string& command) {
    Config config;
    config.server = "https://127.0.0.1:6443";
    config.has_exec = true;
    config.exec.api_version = "client.authentication.k8s.io/v1";
    config.exec.command = command;
    return config;
  }

  std::string dir_;
  int scripts_ = 0;
};

TEST_F(CredentialsTest, TokenFileIsReReadWhenItChanges) {
  std::string path = dir_ + "/token";
  std::ofstream(path) << "first\n";
  Config config;
  config.token_file = path;
  auto creds = NewCredentials(config);
  EXPECT_EQ(*creds->Authorization(), "Bearer first");
  std::ofstream(path) << "second-and-longer\n";
  EXPECT_EQ(*creds->Authorization(), "Bearer second-and-longer");
}

TEST_F(CredentialsTest, StaticTokenAndBasicAuth) {
  Config token;
  token.token = "abc";
  EXPECT_EQ(*NewCredentials(token)->Authorization(), "Bearer abc");
  Config basic;
  basic.username = "admin";
  basic.password = "pw";
  EXPECT_EQ(*NewCredentials(basic)->Authorization(), "Basic YWRtaW46cHc=");
  EXPECT_EQ(*NewCredentials(Config{})->Authorization(), "");
}

TEST_F(CredentialsTest, ExecPluginTokenIsCachedUntilInvalidated) {
  std::string counter = dir_ + "/runs";
  Config config = ExecConfig(Script(
      "echo run >> " + counter +
      "\n"
      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"tok\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}'\n"));
  auto creds = NewCredentials(config);
  EXPECT_EQ(*creds->Authorization(), "Bearer tok");
  EXPECT_EQ(*creds->Authorization(), "Bearer tok");
  auto runs = [&] {
    std::ifstream in(counter);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  };
  EXPECT_EQ(runs(), 1);
  creds->Invalidate();  // after a 401
  EXPECT_EQ(*creds->Authorization(), "Bearer tok");
  EXPECT_EQ(runs(), 2);
}

TEST_F(CredentialsTest, ExpiredExecTokenIsRefreshed) {
  std::string counter = dir_ + "/runs";
  Config config = ExecConfig(Script(
      "echo run >> " + counter +
      "\n"
      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"tok\",\"expirationTimestamp\":\"2000-01-01T00:00:00Z\"}}'\n"));
  auto creds = NewCredentials(config);
  ASSERT_TRUE(creds->Authorization().ok());
  ASSERT_TRUE(creds->Authorization().ok());
  std::ifstream in(counter);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  EXPECT_EQ(n, 2);
}

TEST_F(CredentialsTest, ExecPluginSeesExecInfoAndArgs) {
  Config config = ExecConfig(Script(
      "test \"$1\" = --flag || exit 5\n"
      "echo \"$KUBERNETES_EXEC_INFO\" | grep -q '\"server\":\"https://127.0.0.1:6443\"' || exit 6\n"
      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"clientCertificateData\":\"CERT\",\"clientKeyData\":\"KEY\"}}'\n"));
  config.exec.args = {"--flag"};
  config.exec.provide_cluster_info = true;
  auto cred = RunExecPlugin(config.exec, config);
  ASSERT_TRUE(cred.ok()) << cred.error().message();
  EXPECT_EQ(cred->client_cert_pem, "CERT");
  EXPECT_EQ(cred->client_key_pem, "KEY");
  EXPECT_TRUE(cred->token.empty());
}

TEST_F(CredentialsTest, ExecPluginFailuresAreClear) {
  Config failing = ExecConfig(Script("echo 'login expired' >&2\nexit 1\n"));
  auto r1 = RunExecPlugin(failing.exec, failing);
  ASSERT_FALSE(r1.ok());
  EXPECT_NE(r1.error().message().find("exited with code 1: login expired"), std::string::npos)
      << r1.error().message();

  Config garbage = ExecConfig(Script("echo not json\n"));
  auto r2 = RunExecPlugin(garbage.exec, garbage);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message().find("did not print an ExecCredential"), std::string::npos);

  Config missing = ExecConfig(dir_ + "/no-such-plugin");
  missing.exec.install_hint = "brew install the-plugin";
  auto r3 = RunExecPlugin(missing.exec, missing);
  ASSERT_FALSE(r3.ok());
  EXPECT_NE(r3.error().message().find("brew install the-plugin"), std::string::npos);

  Config wrong_version = ExecConfig(Script(
      "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"t\"}}'\n"));
  auto r4 = RunExecPlugin(wrong_version.exec, wrong_version);
  ASSERT_FALSE(r4.ok());
  EXPECT_NE(r4.error().message().find("expected \"client.authentication.k8s.io/v1\""),
            std::string::npos);
}

}  // namespace
}  // namespace plumbline::kube
