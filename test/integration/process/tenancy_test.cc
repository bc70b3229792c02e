// Multi-tenant lockdown with the real binary: --default-service-account makes an Application that
// names no ServiceAccount act as that ServiceAccount of its own namespace (so it can do what its
// namespace's RBAC allows, nothing more), and --no-cross-namespace-refs refuses an Application
// that deploys outside its namespace (Stalled, with an Event).
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
                {"spec", {{"source", {{"repoURL", url}, {"path", "app"}}},
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
  Apply({{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
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
  Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "Role"},
         {"metadata", {{"name", "tenant"}, {"namespace", namespace_}}},
         {"rules", {{{"apiGroups", {""}}, {"resources", {"configmaps"}},
                     {"verbs", {"get", "list", "watch", "create", "update", "patch", "delete"}}}}}});
  Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "RoleBinding"},
         {"metadata", {{"name", "tenant"}, {"namespace", namespace_}}},
         {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"},
                      {"name", "tenant"}}},
         {"subjects", {{{"kind", "ServiceAccount"}, {"name", "tenant"},
                        {"namespace", namespace_}}}}});
  ASSERT_TRUE(Eventually([&] { return AppliedAt(sha) && LiveValue() == "1"; },
                         std::chrono::seconds(60)))
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
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first) && LiveValue() == "1"; },
                         std::chrono::seconds(60)))
      << App().dump(2);
  EXPECT_EQ(Cond("Stalled"), "");

  // A manifest that names another namespace: Stalled until git changes, nothing applied.
  repo.Write("app/elsewhere.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                                   "metadata: {name: elsewhere, namespace: " + other + "}\n");
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

}  // namespace
}  // namespace plumbline
