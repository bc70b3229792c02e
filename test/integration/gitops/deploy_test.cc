// Deploy by merging, roll back by reverting, prune (PRODUCT §3, §4).
#include <gtest/gtest.h>

#include "support/gitops_env.h"

namespace plumbline {
namespace {

using testing::GitOpsTest;
using testing::GitRepo;

std::string ConfigMapYaml(const std::string& name, const std::string& value,
                          const std::string& annotations = "") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" + annotations +
         "data:\n  color: " + value + "\n";
}

const char* kServiceYaml = R"(apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
)";

class DeployTest : public GitOpsTest {
 protected:
  Json Spec(const std::string& url, bool prune) {
    return {{"source", {{"repoURL", url}, {"revision", "main"}, {"path", "app"}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"},
            {"prune", prune}};
  }
  std::string Color() {
    Json cm = Live("v1", "ConfigMap", namespace_, "settings");
    return cm.is_null() ? "<missing>" : cm["data"].value("color", "");
  }
  bool HasService() { return !Live("v1", "Service", namespace_, "web").is_null(); }
};

TEST_F(DeployTest, AMergedCommitIsAppliedAndRecordedInHistory) {
  std::string url;
  GitRepo repo = NewRepo("deploy", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  std::string first = repo.Commit("first");
  ApplyApp("web", Spec(url, true));
  ASSERT_TRUE(ReadyAt("web", first));
  EXPECT_EQ(Color(), "blue");
  Json cm = Live("v1", "ConfigMap", namespace_, "settings");
  EXPECT_EQ(cm["metadata"]["labels"]["plumbline.dev/name"], "web");
  EXPECT_EQ(cm["metadata"]["labels"]["plumbline.dev/namespace"], namespace_);

  // "Merging a pull request": a commit that changes a value and adds a Service.
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "green"));
  repo.Write("app/service.yaml", kServiceYaml);
  std::string second = repo.Commit("green, with a service");
  ASSERT_TRUE(ReadyAt("web", second));
  EXPECT_EQ(Color(), "green");
  EXPECT_TRUE(HasService());

  Json app = GetApp("web");
  const Json& history = app["status"]["history"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["revision"], second);
  EXPECT_EQ(history[0]["author"], "Dev Eloper <dev@example.com>");
  EXPECT_EQ(history[0]["created"], 1);     // the Service
  EXPECT_EQ(history[0]["configured"], 1);  // the ConfigMap
  EXPECT_EQ(history[1]["revision"], first);
  EXPECT_EQ(app["status"]["inventory"].size(), 2u);
  EXPECT_EQ(app["status"]["observedGeneration"], app["metadata"]["generation"]);
}

TEST_F(DeployTest, ARevertRollsBackAndPrunesWhenPruneIsOn) {
  std::string url;
  GitRepo repo = NewRepo("revert", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  repo.Commit("first");
  ApplyApp("web", Spec(url, true));
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "green"));
  repo.Write("app/service.yaml", kServiceYaml);
  std::string change = repo.Commit("change");
  ASSERT_TRUE(ReadyAt("web", change));
  ASSERT_TRUE(HasService());

  std::string revert = repo.Revert(change);
  ASSERT_TRUE(ReadyAt("web", revert));
  EXPECT_EQ(Color(), "blue");
  EXPECT_FALSE(HasService());
  EXPECT_EQ(GetApp("web")["status"]["history"][0]["deleted"], 1);
}

TEST_F(DeployTest, ARevertLeavesRemovedObjectsWhenPruneIsOff) {
  std::string url;
  GitRepo repo = NewRepo("revert-noprune", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  repo.Commit("first");
  ApplyApp("web", Spec(url, false));
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "green"));
  repo.Write("app/service.yaml", kServiceYaml);
  std::string change = repo.Commit("change");
  ASSERT_TRUE(ReadyAt("web", change));

  std::string revert = repo.Revert(change);
  ASSERT_TRUE(ReadyAt("web", revert));
  EXPECT_EQ(Color(), "blue");
  EXPECT_TRUE(HasService());
  // No longer managed: it left the inventory.
  EXPECT_EQ(GetApp("web")["status"]["inventory"].size(), 1u);
}

TEST_F(DeployTest, DeletingAFilePrunesItsObjectsButNotThoseMarkedPruneDisabled) {
  std::string url;
  GitRepo repo = NewRepo("prune", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  repo.Write("app/keep.yaml",
             ConfigMapYaml("keep", "red", "  annotations:\n    plumbline.dev/prune: disabled\n"));
  repo.Write("app/service.yaml", kServiceYaml);
  std::string first = repo.Commit("three objects");
  ApplyApp("web", Spec(url, true));
  ASSERT_TRUE(ReadyAt("web", first));
  ASSERT_TRUE(HasService());

  repo.Remove("app/service.yaml");
  repo.Remove("app/keep.yaml");
  std::string second = repo.Commit("remove two");
  ASSERT_TRUE(ReadyAt("web", second));
  EXPECT_FALSE(HasService());
  EXPECT_FALSE(Live("v1", "ConfigMap", namespace_, "keep").is_null());
  EXPECT_EQ(Color(), "blue");
  EXPECT_EQ(GetApp("web")["status"]["inventory"].size(), 1u);
}

TEST_F(DeployTest, AnEmptyRenderDoesNotPruneEverythingUnlessAllowed) {
  std::string url;
  GitRepo repo = NewRepo("empty", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  std::string first = repo.Commit("one object");
  ApplyApp("web", Spec(url, true));
  ASSERT_TRUE(ReadyAt("web", first));

  repo.Remove("app/settings.yaml");
  repo.Write("app/README.md", "nothing here\n");
  std::string empty = repo.Commit("empty the path");
  ASSERT_TRUE(WaitApp("web", [&](const Json& app) {
    return StatusOf(app).value("lastAttemptedRevision", "") == empty &&
           Cond(app, "Ready", "reason") == "RenderFailed";
  }));
  EXPECT_NE(Cond(GetApp("web"), "Ready", "message").find("allowEmpty"), std::string::npos);
  EXPECT_EQ(Color(), "blue");

  Json spec = Spec(url, true);
  spec["allowEmpty"] = true;
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", empty));
  EXPECT_EQ(Color(), "<missing>");
}

// Removing an app's last file deletes its directory in git: retiring an app through git needs
// no placeholder file, only allowEmpty.
TEST_F(DeployTest, ADeletedPathIsRefusedAndWithAllowEmptyPrunes) {
  std::string url;
  GitRepo repo = NewRepo("deleted-path", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  repo.Write("other/kept.yaml", ConfigMapYaml("kept", "red"));
  std::string first = repo.Commit("one object");
  ApplyApp("web", Spec(url, true));
  ASSERT_TRUE(ReadyAt("web", first));

  repo.Remove("app/settings.yaml");
  std::string gone = repo.Commit("retire the app");
  ASSERT_TRUE(WaitApp("web", [&](const Json& app) {
    return StatusOf(app).value("lastAttemptedRevision", "") == gone &&
           Cond(app, "Ready", "reason") == "RenderFailed";
  }));
  const std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("path \"app\" does not exist"), std::string::npos) << message;
  EXPECT_NE(message.find("allowEmpty"), std::string::npos) << message;
  EXPECT_EQ(Color(), "blue");

  Json spec = Spec(url, true);
  spec["allowEmpty"] = true;
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", gone));
  EXPECT_EQ(Color(), "<missing>");
  EXPECT_EQ(StatusOf(GetApp("web")).value("inventory", Json::array()).size(), 0u);
}

TEST_F(DeployTest, DeletingTheApplicationDeletesItsObjectsOnlyWithPrune) {
  std::string url;
  GitRepo repo = NewRepo("delete", &url);
  repo.Write("app/settings.yaml", ConfigMapYaml("settings", "blue"));
  std::string sha = repo.Commit("one");
  repo.Write("other/kept.yaml", ConfigMapYaml("kept", "red"));
  sha = repo.Commit("two");
  ApplyApp("pruned", Spec(url, true));
  Json keep_spec = Spec(url, false);
  keep_spec["source"]["path"] = "other";
  ApplyApp("orphaned", keep_spec);
  ASSERT_TRUE(ReadyAt("pruned", sha));
  ASSERT_TRUE(ReadyAt("orphaned", sha));

  auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  ASSERT_TRUE(apps.ok());
  ASSERT_TRUE(client_->Delete(*apps, namespace_, "pruned").ok());
  ASSERT_TRUE(client_->Delete(*apps, namespace_, "orphaned").ok());
  ASSERT_TRUE(testing::Eventually(
      [&] { return GetApp("pruned").is_null() && GetApp("orphaned").is_null(); }));
  EXPECT_EQ(Color(), "<missing>");
  EXPECT_FALSE(Live("v1", "ConfigMap", namespace_, "kept").is_null());
}

}  // namespace
}  // namespace plumbline
