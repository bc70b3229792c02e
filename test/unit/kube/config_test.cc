// kubeconfig parsing: every auth form, merged files, and bad files with clear errors.
#include "kube/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/base64.h"

namespace plumbline::kube {
namespace {

namespace fs = std::filesystem;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/plumbline-kubeconfig-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << content;
    return path;
  }

  std::string dir_;
};

constexpr char kCa[] = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
constexpr char kCert[] = "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n";
constexpr char kKey[] = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

TEST_F(KubeconfigTest, EmbeddedDataCertificates) {
  std::string path = Write("config", std::string(R"(
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.1.2.3:6443/
    certificate-authority-data: )") + Base64Encode(kCa) +
                                         R"(
users:
- name: dev-user
  user:
    client-certificate-data: )" + Base64Encode(kCert) +
                                         R"(
    client-key-data: )" + Base64Encode(kKey) +
                                         R"(
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: apps}
)");
  auto config = LoadKubeconfig({path}, "");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://10.1.2.3:6443");  // trailing slash dropped
  EXPECT_EQ(config->context, "dev");
  EXPECT_EQ(config->default_namespace, "apps");
  EXPECT_EQ(config->ca_pem, kCa);
  EXPECT_EQ(config->client_cert_pem, kCert);
  EXPECT_EQ(config->client_key_pem, kKey);
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, FilePathsAreRelativeToTheKubeconfig) {
  Write("sub/ca.crt", kCa);
  Write("sub/client.crt", kCert);
  Write("sub/client.key", kKey);
  std::string path = Write("sub/config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://h:1", certificate-authority: ca.crt}}]
users: [{name: u, user: {client-certificate: client.crt, client-key: client.key}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  auto config = LoadKubeconfig({path}, "");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->ca_pem, kCa);
  EXPECT_EQ(config->client_cert_pem, kCert);
  EXPECT_EQ(config->client_key_pem, kKey);
}

TEST_F(KubeconfigTest, TokenTokenFileBasicAuthAndInsecure) {
  std::string path = Write("config", R"(
current-context: token
clusters: [{name: k, cluster: {server: "https://h:1", insecure-skip-tls-verify: true}}]
users:
- {name: t, user: {token: abc123}}
- {name: f, user: {tokenFile: secrets/token}}
- {name: b, user: {username: admin, password: s3cret}}
contexts:
- {name: token, context: {cluster: k, user: t}}
- {name: file, context: {cluster: k, user: f}}
- {name: basic, context: {cluster: k, user: b}}
)");
  auto token = LoadKubeconfig({path}, "");
  ASSERT_TRUE(token.ok()) << token.error().message();
  EXPECT_EQ(token->token, "abc123");
  EXPECT_TRUE(token->insecure_skip_tls_verify);
  auto file = LoadKubeconfig({path}, "file");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->token_file, dir_ + "/secrets/token");
  auto basic = LoadKubeconfig({path}, "basic");
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->username, "admin");
  EXPECT_EQ(basic->password, "s3cret");
}

TEST_F(KubeconfigTest, ExecPlugin) {
  std::string path = Write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://h:1"}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/get-token
      args: [--cluster, prod]
      env: [{name: REGION, value: eu}]
      provideClusterInfo: true
      installHint: install get-token
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  auto config = LoadKubeconfig({path}, "");
  ASSERT_TRUE(config.ok()) << config.error().message();
  ASSERT_TRUE(config->has_exec);
  EXPECT_EQ(config->exec.api_version, "client.authentication.k8s.io/v1");
  EXPECT_EQ(config->exec.command, dir_ + "/bin/get-token");
  EXPECT_EQ(config->exec.args, (std::vector<std::string>{"--cluster", "prod"}));
  ASSERT_EQ(config->exec.env.size(), 1u);
  EXPECT_EQ(config->exec.env[0].first, "REGION");
  EXPECT_TRUE(config->exec.provide_cluster_info);
  EXPECT_EQ(config->exec.install_hint, "install get-token");
}

TEST_F(KubeconfigTest, MergesFilesFirstOneWins) {
  std::string a = Write("a", R"(
current-context: from-a
clusters: [{name: shared, cluster: {server: "https://a:1"}}]
contexts:
- {name: from-a, context: {cluster: shared}}
- {name: only-b-cluster, context: {cluster: b-cluster}}
)");
  std::string b = Write("b", R"(
current-context: from-b
clusters:
- {name: shared, cluster: {server: "https://b:1"}}
- {name: b-cluster, cluster: {server: "https://b:2"}}
contexts: [{name: from-b, context: {cluster: shared}}]
)");
  std::string missing = dir_ + "/does-not-exist";
  auto merged = LoadKubeconfig({missing, a, b}, "");
  ASSERT_TRUE(merged.ok()) << merged.error().message();
  EXPECT_EQ(merged->context, "from-a");
  EXPECT_EQ(merged->server, "https://a:1");  // "shared" comes from the first file
  auto other = LoadKubeconfig({a, b}, "only-b-cluster");
  ASSERT_TRUE(other.ok()) << other.error().message();
  EXPECT_EQ(other->server, "https://b:2");  // entries from later files still merge in
  auto b_first = LoadKubeconfig({b, a}, "");
  ASSERT_TRUE(b_first.ok());
  EXPECT_EQ(b_first->server, "https://b:1");
}

TEST_F(KubeconfigTest, KubeconfigEnvironmentVariableListsFiles) {
  std::string a = Write("a", "clusters: [{name: k, cluster: {server: \"https://a:1\"}}]\n");
  std::string b = Write("b", "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n");
  setenv("KUBECONFIG", (a + ":" + b).c_str(), 1);
  auto config = LoadDefaultConfig("", "");
  unsetenv("KUBECONFIG");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://a:1");
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* context;
  const char* expected;  // a part of the error message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadKubeconfigTest : public KubeconfigTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadKubeconfigTest, GivesAClearError) {
  const BadCase& c = GetParam();
  std::string path = Write("config", c.yaml);
  auto config = LoadKubeconfig({path}, c.context);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().message().find(c.expected), std::string::npos)
      << "message: " << config.error().message();
}

constexpr char kGoodTail[] = R"(
clusters: [{name: k, cluster: {server: "https://h:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)";

INSTANTIATE_TEST_SUITE_P(
    Kubeconfig, BadKubeconfigTest,
    ::testing::Values(
        BadCase{"InvalidYaml", "clusters: [\n  - name: k\n    cluster: {server: \n", "", "config:"},
        BadCase{"NoCurrentContext", kGoodTail, "", "no current-context"},
        BadCase{"UnknownContext", kGoodTail, "prod", "context \"prod\" not found"},
        BadCase{"MissingCluster",
                "current-context: c\ncontexts: [{name: c, context: {cluster: nope}}]\n", "",
                "cluster \"nope\" not found"},
        BadCase{"MissingUser",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\"}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: ghost}}]\n",
                "", "user \"ghost\" not found"},
        BadCase{"NoServer",
                "current-context: c\nclusters: [{name: k, cluster: {}}]\n"
                "contexts: [{name: c, context: {cluster: k}}]\n",
                "", "has no server"},
        BadCase{"ServerWithoutScheme",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"h:6443\"}}]\n"
                "contexts: [{name: c, context: {cluster: k}}]\n",
                "", "must start with https://"},
        BadCase{"BadBase64",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\", "
                "certificate-authority-data: \"!!!\"}}]\n"
                "contexts: [{name: c, context: {cluster: k}}]\n",
                "", "certificate-authority-data is not valid base64"},
        BadCase{"MissingCaFile",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\", "
                "certificate-authority: /nonexistent/ca.crt}}]\n"
                "contexts: [{name: c, context: {cluster: k}}]\n",
                "", "cannot read cluster \"k\" certificate-authority \"/nonexistent/ca.crt\""},
        BadCase{"CertWithoutKey",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\"}}]\n"
                "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                "", "needs both a client certificate and a client key"},
        BadCase{"ExecWithoutCommand",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\"}}]\n"
                "users: [{name: u, user: {exec: {apiVersion: "
                "client.authentication.k8s.io/v1}}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                "", "exec needs a command"},
        BadCase{"AuthProvider",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\"}}]\n"
                "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                "", "auth-provider plugins are not supported"},
        // Found by test/fuzz/kubeconfig_fuzz.cc: these threw out of LoadKubeconfig.
        BadCase{"InsecureNotABoolean",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\", "
                "insecure-skip-tls-verify: \"falsy\"}}]\n"
                "contexts: [{name: c, context: {cluster: k}}]\n",
                "", "\"insecure-skip-tls-verify\" must be true or false"},
        BadCase{"ProvideClusterInfoNotABoolean",
                "current-context: c\nclusters: [{name: k, cluster: {server: \"https://h\"}}]\n"
                "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
                "command: x, provideClusterInfo: [1]}}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
                "", "\"provideClusterInfo\" must be true or false"},
        BadCase{"ClustersNotAList", "clusters: {a: b}\n", "", "\"clusters\" must be a list"},
        BadCase{"NotAMap", "- just\n- a list\n", "", "must be a YAML map"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST_F(KubeconfigTest, NoFileAtAllIsAnError) {
  auto config = LoadKubeconfig({dir_ + "/nope", dir_ + "/nope2"}, "");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message().find("no kubeconfig file found"), std::string::npos);
  auto flag = LoadDefaultConfig(dir_ + "/nope", "");
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.error().message().find("does not exist"), std::string::npos);
}

TEST_F(KubeconfigTest, InClusterFromEnvironmentAndServiceAccountFiles) {
  InClusterPaths paths{Write("sa/token", "tok\n"), Write("sa/ca.crt", kCa),
                       Write("sa/namespace", "plumbline-system\n")};
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = LoadInClusterConfig(paths);
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_EQ(config->server, "https://10.0.0.1:443");
  EXPECT_EQ(config->token_file, paths.token_file);
  EXPECT_EQ(config->ca_pem, kCa);
  EXPECT_EQ(config->default_namespace, "plumbline-system");

  auto outside = LoadInClusterConfig(paths);
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

}  // namespace
}  // namespace plumbline::kube
