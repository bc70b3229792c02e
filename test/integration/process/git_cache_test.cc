// Tenant isolation of the git cache, against the real binary: a cached commit is served only to
// an Application whose own credentials the remote accepted for that URL, and file:// URLs (the
// cache directory among them) are refused unless the operator allows local repositories.
#include <filesystem>

#include "common/base64.h"
#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::BackgroundProcess;
using testing::ControllerProcess;
using testing::Eventually;
using testing::MustRun;

class GitCacheTest : public testing::ProcessTest {
 protected:
  void SetUp() override {
    ProcessTest::SetUp();
    if (HasFatalFailure()) return;
    tenant_b_ = namespace_ + "-b";
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", tenant_b_}}}};
    ASSERT_TRUE(client_->Apply(ns).ok());
  }

  void TearDown() override {
    // Tenant B's Applications go while the controller runs, so that their finalizers are done.
    for (const std::string& ns : {namespace_, tenant_b_}) {
      auto list = client_->List(apps_, ns);
      if (!list.ok()) continue;
      for (const auto& app : list->items) (void)client_->Delete(apps_, ns, app["metadata"]["name"]);
    }
    if (controller_) {
      EXPECT_TRUE(Eventually([&] {
        auto left = client_->List(apps_, tenant_b_);
        return left.ok() && left->items.empty();
      })) << controller_->Log();
    }
    if (auto ns = client_->Resource({"", "v1", "Namespace"}); ns.ok()) {
      (void)client_->Delete(*ns, "", tenant_b_);
    }
    https_.reset();
    controller_.reset();
    ProcessTest::TearDown();
  }

  // `plumbline run` for every namespace (tenants A and B), with its git cache under the test's
  // directory.
  void StartController(std::vector<std::string> extra = {}) {
    if (controller_) {
      controller_->Signal(SIGTERM);
      ASSERT_TRUE(controller_->Wait(std::chrono::seconds(30)).has_value());
    }
    std::vector<std::string> args{"--kubeconfig",
                                  testing::ControlPlane::Get()->kubeconfig(),
                                  "--controller-namespace",
                                  namespace_,
                                  "--metrics-addr",
                                  "0",
                                  "--health-addr",
                                  "0",
                                  "--cache-dir",
                                  CacheDir()};
    args.insert(args.end(), extra.begin(), extra.end());
    controller_ = std::make_unique<ControllerProcess>(dir_ + "/controller.log", args);
    ASSERT_TRUE(controller_->Start());
  }

  std::string CacheDir() const { return dir_ + "/cache"; }

  // A git smart-HTTP server over TLS that serves the test's repositories only to alice:s3cret
  // (test/support/scripts/git_https_server.py), like a private repository of a forge.
  void StartPrivateServer() {
    const std::string d = dir_ + "/tls";
    std::filesystem::create_directories(d);
    testing::WriteFile(d + "/ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    MustRun({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             d + "/server.key", "-out", d + "/server.crt", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"});
    https_port_ = testing::FreePort();
    https_ = std::make_unique<BackgroundProcess>();
    ASSERT_TRUE(https_
                    ->Start({"python3",
                             std::string(PLUMBLINE_SOURCE_DIR) +
                                 "/test/support/scripts/git_https_server.py",
                             std::to_string(https_port_), dir_ + "/repos", d + "/server.crt",
                             d + "/server.key", "alice:s3cret", "tenant-a-token"},
                            d + "/server.log")
                    .ok());
    ASSERT_TRUE(Eventually([&] { return testing::PortOpen(https_port_); }));
  }

  std::string PrivateUrl(const std::string& repo) const {
    return "https://localhost:" + std::to_string(https_port_) + "/" + repo;
  }
  std::string Ca() const { return testing::ReadFile(dir_ + "/tls/server.crt"); }

  void ApplySecret(const std::string& ns, const std::string& name,
                   const std::map<std::string, std::string>& data) {
    Json encoded = Json::object();
    for (const auto& [k, v] : data) encoded[k] = Base64Encode(v);
    Json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", {{"name", name}, {"namespace", ns}}},
                   {"data", encoded}};
    ASSERT_TRUE(client_->Apply(secret).ok());
  }

  // An Application of tenant `ns` that deploys `path` of `url` at `revision` into `ns`.
  void ApplyTenantApp(const std::string& ns, const std::string& name, const std::string& url,
                      const std::string& revision, const std::string& secret = "") {
    Json source = {{"repoURL", url}, {"revision", revision}, {"path", "app"}};
    if (!secret.empty()) source["secretRef"] = {{"name", secret}};
    Json app = {
        {"apiVersion", "plumbline.dev/v1alpha1"},
        {"kind", "Application"},
        {"metadata", {{"name", name}, {"namespace", ns}}},
        {"spec", {{"source", source}, {"destination", {{"namespace", ns}}}, {"interval", "1h"}}}};
    auto applied = client_->Apply(app);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }

  // The Ready condition of an Application once it has one that settles it: True, or False with
  // a failure reason (not Progressing). Null on timeout.
  Json SettledReady(const std::string& ns, const std::string& name) {
    Json ready = Json::object();
    Eventually(
        [&] {
          auto app = client_->Get(apps_, ns, name);
          if (!app.ok() || !app->contains("status")) return false;
          for (const auto& c : (*app)["status"].value("conditions", Json::array())) {
            if (c.value("type", "") != "Ready" || c.value("reason", "") == "Progressing") continue;
            if (c.value("status", "") == "Unknown") continue;
            ready = c;
            return true;
          }
          return false;
        },
        std::chrono::seconds(60));
    return ready;
  }

  bool ConfigMapExists(const std::string& ns, const std::string& name) {
    return client_->Get(ConfigMaps(), ns, name).ok();
  }

  std::string tenant_b_;
  int https_port_ = 0;
  std::unique_ptr<BackgroundProcess> https_;
  std::unique_ptr<ControllerProcess> controller_;
};

TEST_F(GitCacheTest, ACachedCommitIsServedOnlyToCredentialsTheServerAccepts) {
  StartPrivateServer();
  testing::GitRepo repo(dir_ + "/repos/private");
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: private-config}\n"
             "data: {owner: tenant-a}\n");
  const std::string sha = repo.Commit("tenant A's private config");
  StartController();

  // Tenant A, with its credentials, pins the commit: it is fetched into the cache.
  ApplySecret(namespace_, "creds",
              {{"username", "alice"}, {"password", "s3cret"}, {"ca.crt", Ca()}});
  ApplyTenantApp(namespace_, "a", PrivateUrl("private"), sha, "creds");
  Json a = SettledReady(namespace_, "a");
  ASSERT_EQ(a.value("status", ""), "True") << a.dump() << controller_->Log();
  ASSERT_TRUE(ConfigMapExists(namespace_, "private-config"));

  // Tenant B names the same URL and commit with a Secret that trusts the server but holds no
  // credentials: the server refuses, and so must the cache.
  ApplySecret(tenant_b_, "ca-only", {{"ca.crt", Ca()}});
  ApplyTenantApp(tenant_b_, "b", PrivateUrl("private"), sha, "ca-only");
  Json b = SettledReady(tenant_b_, "b");
  EXPECT_EQ(b.value("status", ""), "False") << b.dump();
  EXPECT_EQ(b.value("reason", ""), "FetchFailed") << b.dump();
  EXPECT_NE(b.value("message", "").find("credentials"), std::string::npos) << b.dump();
  EXPECT_FALSE(ConfigMapExists(tenant_b_, "private-config"));

  // With the server down, a tenant without any Secret gets nothing from the cache either.
  https_->Stop();
  ApplyTenantApp(tenant_b_, "b-offline", PrivateUrl("private"), sha);
  Json offline = SettledReady(tenant_b_, "b-offline");
  EXPECT_EQ(offline.value("status", ""), "False") << offline.dump();
  EXPECT_EQ(offline.value("reason", ""), "FetchFailed") << offline.dump();
  EXPECT_FALSE(ConfigMapExists(tenant_b_, "private-config"));
  EXPECT_EQ(controller_->Wait(std::chrono::milliseconds(0)), std::nullopt) << controller_->Log();
}

TEST_F(GitCacheTest, FileUrlsAreRefusedAndTheCacheIsNeverARemote) {
  StartPrivateServer();
  testing::GitRepo repo(dir_ + "/repos/private");
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: private-config}\n"
             "data: {owner: tenant-a}\n");
  repo.Commit("tenant A's private config");
  MustRun({"git", "-C", repo.dir(), "tag", "v1"});
  StartController();
  ApplySecret(namespace_, "creds",
              {{"username", "alice"}, {"password", "s3cret"}, {"ca.crt", Ca()}});
  ApplyTenantApp(namespace_, "a", PrivateUrl("private"), "main", "creds");
  Json a = SettledReady(namespace_, "a");
  ASSERT_EQ(a.value("status", ""), "True") << a.dump() << controller_->Log();

  // Tenant B points a file:// URL at the cached copy of A's repository (the cache directory is
  // the flag's default in a real install, so its layout is no secret).
  std::string cached;
  for (const auto& entry : std::filesystem::directory_iterator(CacheDir())) {
    if (entry.is_directory() && entry.path().extension() == ".git") cached = entry.path().string();
  }
  ASSERT_FALSE(cached.empty()) << "no repository in the cache";
  ApplyTenantApp(tenant_b_, "b", "file://" + cached, "v1");
  Json b = SettledReady(tenant_b_, "b");
  EXPECT_EQ(b.value("status", ""), "False") << b.dump();
  EXPECT_EQ(b.value("reason", ""), "FetchFailed") << b.dump();
  EXPECT_NE(b.value("message", "").find("--allow-local-repos"), std::string::npos) << b.dump();
  EXPECT_FALSE(ConfigMapExists(tenant_b_, "private-config"));

  // An operator who allows local repositories (a demo, a test) gets them, but never the cache.
  testing::GitRepo local(dir_ + "/local");
  local.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: local-config}\n");
  const std::string local_sha = local.Commit("local");
  StartController({"--allow-local-repos"});
  ApplyTenantApp(namespace_, "local", "file://" + local.dir(), "main");
  Json l = SettledReady(namespace_, "local");
  EXPECT_EQ(l.value("status", ""), "True") << l.dump() << controller_->Log();
  EXPECT_TRUE(ConfigMapExists(namespace_, "local-config"));
  ASSERT_TRUE(Eventually(
      [&] {
        auto app = client_->Get(apps_, tenant_b_, "b");
        if (!app.ok()) return false;
        for (const auto& c : (*app)["status"].value("conditions", Json::array())) {
          if (c.value("type", "") == "Ready" &&
              c.value("message", "").find("inside the git cache") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(60)))
      << client_->Get(apps_, tenant_b_, "b")->dump();
  EXPECT_FALSE(ConfigMapExists(tenant_b_, "private-config"));
}

}  // namespace
}  // namespace plumbline
