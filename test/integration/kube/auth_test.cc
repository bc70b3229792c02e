// Authentication and authorization against the real API server: every kubeconfig credential
// form, impersonation, and a server that is not there.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli.h"
#include "common/base64.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "support/control_plane.h"
#include "support/kube_test.h"
#include "support/process.h"
#include "yaml/yaml_json.h"

namespace plumbline {
namespace {

using testing::ControlPlane;
using testing::KubeTest;
using testing::ReadFile;
using testing::WriteFile;

namespace fs = std::filesystem;

// The control plane's server URL and CA, from its kubeconfig.
struct ServerInfo {
  std::string server;
  std::string ca_data;  // base64
};

ServerInfo Server() {
  auto doc = yaml::ParseDocument(ReadFile(ControlPlane::Get()->kubeconfig()), "kubeconfig");
  EXPECT_TRUE(doc.ok());
  const Json& cluster = (*doc)["clusters"][0]["cluster"];
  return {cluster["server"], cluster["certificate-authority-data"]};
}

std::string AdminToken() {
  std::string token = ReadFile(ControlPlane::Get()->dir() + "/pki/admin.token");
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  return token;
}

// A kubeconfig whose only user is `user_yaml` (indented under `user:`).
std::string Kubeconfig(const std::string& server, const std::string& ca_data,
                       const std::string& user_yaml) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
         "clusters:\n- name: k\n  cluster:\n    server: " +
         server + "\n    certificate-authority-data: " + ca_data +
         "\nusers:\n- name: u\n  user:\n" + user_yaml +
         "contexts:\n- name: c\n  context: {cluster: k, user: u}\n";
}

class AuthTest : public KubeTest {
 protected:
  void SetUp() override {
    KubeTest::SetUp();
    if (ControlPlane::Get()->dir().empty()) GTEST_SKIP() << "needs the control plane's pki";
    dir_ = fs::temp_directory_path() / ("plumbline-auth-" + namespace_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    KubeTest::TearDown();
  }

  // Loads `kubeconfig_text` and asks the server who we are able to list namespaces as.
  Result<Json> ListNamespacesWith(const std::string& kubeconfig_text) {
    std::string path = dir_ + "/kubeconfig";
    WriteFile(path, kubeconfig_text);
    auto config = kube::LoadKubeconfig({path}, "");
    if (!config.ok()) return config.error();
    auto client = kube::Client::Create(*config);
    if (!client.ok()) return client.error();
    auto ns = (*client)->Resource({"", "v1", "Namespace"});
    if (!ns.ok()) return ns.error();
    auto list = (*client)->ListPage(*ns, "", {});
    if (!list.ok()) return list.error();
    return Json(list->items.size());
  }

  std::string dir_;
};

TEST_F(AuthTest, ClientCertificateFromFiles) {
  std::string pki = ControlPlane::Get()->dir() + "/pki";
  ServerInfo s = Server();
  auto result = ListNamespacesWith(Kubeconfig(
      s.server, s.ca_data,
      "    client-certificate: " + pki + "/admin.crt\n    client-key: " + pki + "/admin.key\n"));
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_GE(result->get<int>(), 1);
}

TEST_F(AuthTest, CaFromAFileAndBearerToken) {
  std::string pki = ControlPlane::Get()->dir() + "/pki";
  ServerInfo s = Server();
  std::string text =
      "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
      "clusters:\n- name: k\n  cluster:\n    server: " +
      s.server + "\n    certificate-authority: " + pki +
      "/ca.crt\n"
      "users:\n- name: u\n  user:\n    token: " +
      AdminToken() +
      "\n"
      "contexts:\n- name: c\n  context: {cluster: k, user: u}\n";
  auto result = ListNamespacesWith(text);
  ASSERT_TRUE(result.ok()) << result.error().message();
}

TEST_F(AuthTest, TokenFileIsReReadWhenItRotates) {
  ServerInfo s = Server();
  std::string token_file = dir_ + "/token";
  WriteFile(token_file, "not-a-valid-token\n");
  std::string path = dir_ + "/kubeconfig";
  WriteFile(path, Kubeconfig(s.server, s.ca_data, "    tokenFile: " + token_file + "\n"));
  auto config = kube::LoadKubeconfig({path}, "");
  ASSERT_TRUE(config.ok()) << config.error().message();
  auto client = kube::Client::Create(*config);
  ASSERT_TRUE(client.ok());
  auto first = (*client)->GetPath("/api/v1/namespaces");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), ErrorCode::kUnauthorized) << first.error().message();

  WriteFile(token_file, AdminToken() + "\n");  // the token rotates under the same client
  auto second = (*client)->GetPath("/api/v1/namespaces");
  EXPECT_TRUE(second.ok()) << second.error().message();
}

TEST_F(AuthTest, ExecCredentialPluginToken) {
  ServerInfo s = Server();
  std::string plugin = dir_ + "/credential-plugin.sh";
  WriteFile(plugin,
            "#!/bin/sh\n"
            "# A real plugin checks what it is asked; so does this one.\n"
            "echo \"$KUBERNETES_EXEC_INFO\" | grep -q '\"interactive\":false' || exit 3\n"
            "cat <<EOF\n"
            "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"" +
                AdminToken() +
                "\","
                "\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}\n"
                "EOF\n");
  chmod(plugin.c_str(), 0755);
  auto result = ListNamespacesWith(Kubeconfig(
      s.server, s.ca_data,
      "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: " + plugin +
          "\n      interactiveMode: Never\n"));
  ASSERT_TRUE(result.ok()) << result.error().message();
}

TEST_F(AuthTest, ImpersonatingAServiceAccountWithoutRightsIsForbidden) {
  auto as_nobody = client_->Impersonate({"system:serviceaccount:" + namespace_ + ":nobody", {}});
  auto cms = client_->Resource({"", "v1", "ConfigMap"});
  ASSERT_TRUE(cms.ok());
  auto list = as_nobody->List(*cms, namespace_);
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(kube::IsForbidden(list.error())) << list.error().message();
  EXPECT_EQ(list.error().http_status(), 403);
  // The API's own message names who was refused what.
  EXPECT_NE(list.error().message().find("system:serviceaccount:" + namespace_ + ":nobody"),
            std::string::npos)
      << list.error().message();

  auto applied = as_nobody->Apply(ConfigMap("x", {{"k", "v"}}));
  ASSERT_FALSE(applied.ok());
  EXPECT_TRUE(kube::IsForbidden(applied.error()));
  // The admin client beside it is unaffected.
  EXPECT_TRUE(client_->List(*cms, namespace_).ok());
}

TEST_F(AuthTest, ADeadPortGivesAClearErrorInBoundedTime) {
  ServerInfo s = Server();
  // Port 1 on loopback: nothing listens there, so the connection is refused.
  std::string path = dir_ + "/kubeconfig";
  WriteFile(path,
            Kubeconfig("https://127.0.0.1:1", s.ca_data, "    token: " + AdminToken() + "\n"));
  auto config = kube::LoadKubeconfig({path}, "");
  ASSERT_TRUE(config.ok());
  kube::ClientOptions options;
  options.request_timeout = std::chrono::seconds(5);
  auto client = kube::Client::Create(*config, options);
  ASSERT_TRUE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto result = (*client)->GetPath("/version");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message().find("cannot reach https://127.0.0.1:1"), std::string::npos)
      << result.error().message();
  EXPECT_LT(took, std::chrono::seconds(30));  // bounded by the request timeout, not forever
}

TEST_F(AuthTest, VersionCommandPrintsTheServerVersion) {
  std::stringstream out, err;
  int rc = cli::Main({"version", "--server", "--kubeconfig", ControlPlane::Get()->kubeconfig()},
                     out, err);
  ASSERT_EQ(rc, 0) << err.str();
  EXPECT_NE(out.str().find("Client Version: v"), std::string::npos);
  // hack/versions.env pins the API server version.
  std::string pinned;
  std::stringstream versions(ReadFile(std::string(PLUMBLINE_SOURCE_DIR) + "/hack/versions.env"));
  for (std::string line; std::getline(versions, line);) {
    if (line.rfind("KUBERNETES_VERSION=", 0) == 0) pinned = line.substr(19);
  }
  ASSERT_FALSE(pinned.empty());
  EXPECT_NE(out.str().find("Server Version: " + pinned + "\n"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace plumbline
