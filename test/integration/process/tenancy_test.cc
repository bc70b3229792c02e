// Multi-tenant lockdown with the real binary: --default-service-account makes an Application that
// names no ServiceAccount act as that ServiceAccount of its own namespace (so it can do what its
// namespace's RBAC allows, nothing more), and --no-cross-namespace-refs refuses an Application
// that deploys outside its namespace (Stalled, with an Event).
#include <cstdio>

#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

class TenancyTest : public testing::ProcessTest {
 protected:
  Json App() {
    auto app = client_->Get(apps_, namespace_, "web");
    return app.ok() ? *app : Json();
  }
  std::string Cond(const std::string& type, const char* field = "status") {
    Json app = App();
    if (!app.is_object() || !app.contains("status")) return "";
    for (const auto& c : app["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == type) return c.value(field, "");
    }
    return "";
  }
  void ApplyAppTo(const std::string& url, const std::string& destination) {
    Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata", {{"name", "web"}, {"namespace", namespace_}}},
                {"spec",
                 {{"source", {{"repoURL", url}, {"path", "app"}}},
                  {"destination", {{"namespace", destination}}},
                  {"interval", "1s"}}}};
    ASSERT_TRUE(client_->Apply(app).ok());
  }
  bool HasWarning(const std::string& reason) {
    auto events = client_->Resource({"", "v1", "Event"});
    if (!events.ok()) return false;
    auto list = client_->List(*events, namespace_);
    if (!list.ok()) return false;
    for (const auto& e : list->items) {
      if (e["involvedObject"].value("name", "") == "web" && e.value("type", "") == "Warning" &&
          e.value("reason", "") == reason) {
        return true;
      }
    }
    return false;
  }
  void Apply(const Json& object) {
    auto applied = client_->Apply(object);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }
  testing::GitRepo NewRepo(const std::string& name, std::string* url) {
    *url = daemon_->Url(namespace_ + "-" + name);
    return testing::GitRepo(dir_ + "/repos/" + namespace_ + "-" + name);
  }
  // A namespace besides the test's own, deleted by the test's TearDown below.
  std::string OtherNamespace() {
    other_ = namespace_ + "-other";
    Apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", other_}}}});
    return other_;
  }
  void TearDown() override {
    if (!other_.empty()) {
      auto namespaces = client_->Resource({"", "v1", "Namespace"});
      if (namespaces.ok()) (void)client_->Delete(*namespaces, "", other_);
    }
    ProcessTest::TearDown();
  }
  std::string other_;
};

TEST_F(TenancyTest, ADefaultServiceAccountCanApplyOnlyWhatItsNamespaceGrantsIt) {
  Apply({{"apiVersion", "v1"},
         {"kind", "ServiceAccount"},
         {"metadata", {{"name", "tenant"}, {"namespace", namespace_}}}});
  StartReplica("replica-tenancy", {"--default-service-account", "tenant"});
  std::string url;
  testing::GitRepo repo = NewRepo("web", &url);
  const std::string sha = CommitConfig(repo, "1");
  ApplyAppTo(url, namespace_);

  // The controller itself may do anything (it runs as the admin here); the ServiceAccount, which
  // no RBAC names yet, may not.
  ASSERT_TRUE(Eventually([&] { return Cond("Ready", "reason") == "ApplyFailed"; },
                         std::chrono::seconds(60)))
      << App().dump(2) << replicas_["replica-tenancy"]->Log();
  const std::string message = Cond("Ready", "message");
  EXPECT_NE(message.find("forbidden"), std::string::npos) << message;
  EXPECT_NE(message.find("system:serviceaccount:" + namespace_ + ":tenant"), std::string::npos)
      << message;
  EXPECT_EQ(LiveValue(), "");

  // The namespace's owner grants it ConfigMaps: the same Application now applies.
  Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"},
         {"kind", "Role"},
         {"metadata", {{"name", "tenant"}, {"namespace", namespace_}}},
         {"rules",
          {{{"apiGroups", {""}},
            {"resources", {"configmaps"}},
            {"verbs", {"get", "list", "watch", "create", "update", "patch", "delete"}}}}}});
  Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"},
         {"kind", "RoleBinding"},
         {"metadata", {{"name", "tenant"}, {"namespace", namespace_}}},
         {"roleRef",
          {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "tenant"}}},
         {"subjects",
          {{{"kind", "ServiceAccount"}, {"name", "tenant"}, {"namespace", namespace_}}}}});
  ASSERT_TRUE(
      Eventually([&] { return AppliedAt(sha) && LiveValue() == "1"; }, std::chrono::seconds(60)))
      << App().dump(2);
  EXPECT_EQ(Cond("Ready"), "True");
}

TEST_F(TenancyTest, NoCrossNamespaceRefsRefusesAnotherNamespaceAsStalled) {
  const std::string other = OtherNamespace();
  StartReplica("replica-tenancy", {"--no-cross-namespace-refs"});
  std::string url;
  testing::GitRepo repo = NewRepo("web", &url);
  const std::string first = CommitConfig(repo, "1");

  // Another namespace as the destination: refused before anything is fetched.
  ApplyAppTo(url, other);
  ASSERT_TRUE(Eventually([&] { return Cond("Stalled") == "True"; }, std::chrono::seconds(60)))
      << App().dump(2) << replicas_["replica-tenancy"]->Log();
  EXPECT_EQ(Cond("Stalled", "reason"), "CrossNamespaceRef");
  EXPECT_EQ(Cond("Ready"), "False");
  EXPECT_NE(Cond("Stalled", "message").find(other), std::string::npos)
      << Cond("Stalled", "message");
  EXPECT_TRUE(Eventually([&] { return HasWarning("CrossNamespaceRef"); }));
  auto cm = client_->Get(ConfigMaps(), other, "settings");
  EXPECT_FALSE(cm.ok());

  // Its own namespace: applied.
  ApplyAppTo(url, namespace_);
  ASSERT_TRUE(
      Eventually([&] { return AppliedAt(first) && LiveValue() == "1"; }, std::chrono::seconds(60)))
      << App().dump(2);
  EXPECT_EQ(Cond("Stalled"), "");

  // A manifest that names another namespace: Stalled until git changes, nothing applied.
  repo.Write("app/elsewhere.yaml",
             "apiVersion: v1\nkind: ConfigMap\n"
             "metadata: {name: elsewhere, namespace: " +
                 other + "}\n");
  const std::string second = repo.Commit("elsewhere");
  ASSERT_TRUE(Eventually([&] { return Cond("Stalled") == "True"; }, std::chrono::seconds(60)))
      << App().dump(2);
  EXPECT_EQ(Cond("Stalled", "reason"), "CrossNamespaceRef");
  EXPECT_NE(Cond("Stalled", "message").find("app/elsewhere.yaml"), std::string::npos)
      << Cond("Stalled", "message");
  EXPECT_FALSE(client_->Get(ConfigMaps(), other, "elsewhere").ok());
  EXPECT_EQ(App()["status"].value("lastAttemptedRevision", ""), second);

  repo.Remove("app/elsewhere.yaml");
  const std::string third = repo.Commit("back home");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(third); }, std::chrono::seconds(60)))
      << App().dump(2);
  EXPECT_EQ(Cond("Stalled"), "");
}

// The controller watches Secrets only to wake the Applications that name them. Another tenant's
// Secrets, however many and large, must cost it no memory (before: 60 Secrets of 0.9 MiB took
// the peak from 27 to 145 MiB, and every change to one was read whole).
TEST_F(TenancyTest, SecretsNoApplicationNamesCostTheControllerNoMemory) {
  auto secrets = client_->Resource({"", "v1", "Secret"});
  ASSERT_TRUE(secrets.ok());
  const std::string filler(900 * 1024, 's');
  auto secret = [&](int i, const std::string& version) {
    return Json{
        {"apiVersion", "v1"},
        {"kind", "Secret"},
        {"metadata", {{"name", "unrelated-" + std::to_string(i)}, {"namespace", namespace_}}},
        {"stringData", {{"blob", version + filler}}}};
  };
  constexpr int kSecrets = 60;
  for (int i = 0; i < kSecrets; ++i) Apply(secret(i, "1"));

  auto& controller = StartReplica("replica-tenancy");
  std::string url;
  testing::GitRepo repo = NewRepo("web", &url);
  const std::string first = CommitConfig(repo, "1");
  ApplyAppTo(url, namespace_);
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); }, std::chrono::seconds(60)))
      << App().dump(2) << controller.Log();
  // Every Secret changes while the controller watches; then one more commit goes through.
  for (int i = 0; i < kSecrets; ++i) Apply(secret(i, "2"));
  const std::string second = CommitConfig(repo, "2");
  ASSERT_TRUE(
      Eventually([&] { return AppliedAt(second) && LiveValue() == "2"; }, std::chrono::seconds(60)))
      << App().dump(2);

  const long peak_kib = testing::ProcStatusKib(controller.pid(), "VmHWM");
  std::printf(
      "controller peak RSS with %d unrelated Secrets of 0.9 MiB (%.0f MiB of data): "
      "%ld MiB\n",
      kSecrets, kSecrets * 0.9, peak_kib / 1024);
  // Reading the Secrets once would take the peak well past this; the controller's own work
  // peaks near 30 MiB.
  if (testing::kRssBoundsApply) {
    EXPECT_LT(peak_kib, 48 * 1024);
  }
}

}  // namespace
}  // namespace plumbline
