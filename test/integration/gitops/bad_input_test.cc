// Bad input gets a clear error and changes nothing (PRODUCT §3.6, §3.8).
#include <gtest/gtest.h>

#include "support/gitops_env.h"

namespace plumbline {
namespace {

using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;

std::string ConfigMapYaml(const std::string& name, const std::string& value) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name +
         "\ndata:\n  color: " + value + "\n";
}

class BadInputTest : public GitOpsTest {
 protected:
  Json Spec(const std::string& url) {
    return {{"source", {{"repoURL", url}, {"path", "app"}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"},
            {"prune", true}};
  }
  std::string Color(const std::string& name) {
    Json cm = Live("v1", "ConfigMap", namespace_, name);
    return cm.is_null() ? "<missing>" : cm["data"].value("color", "");
  }
  bool FailedAt(const std::string& app, const std::string& sha, const std::string& reason) {
    return WaitApp(app, [&](const Json& a) {
      return StatusOf(a).value("lastAttemptedRevision", "") == sha && Cond(a, "Ready") == "False" &&
             Cond(a, "Ready", "reason") == reason;
    });
  }
};

TEST_F(BadInputTest, InvalidYamlIsRenderFailedNamingFileAndLineAndChangesNothing) {
  std::string url;
  GitRepo repo = NewRepo("badyaml", &url);
  repo.Write("app/a.yaml", ConfigMapYaml("a", "blue"));
  repo.Write("app/b.yaml", ConfigMapYaml("b", "blue"));
  std::string good = repo.Commit("good");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", good));

  // One file changes a value, another breaks: nothing may be applied or pruned.
  repo.Write("app/a.yaml", ConfigMapYaml("a", "green"));
  repo.Remove("app/b.yaml");
  repo.Write("app/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [\n");
  std::string bad = repo.Commit("bad");
  ASSERT_TRUE(FailedAt("web", bad, "RenderFailed"));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("app/broken.yaml:"), std::string::npos) << message;
  EXPECT_EQ(Color("a"), "blue");
  EXPECT_EQ(Color("b"), "blue");
  EXPECT_EQ(GetApp("web")["status"]["lastAppliedRevision"], good);

  repo.Remove("app/broken.yaml");
  std::string fixed = repo.Commit("fix");
  ASSERT_TRUE(ReadyAt("web", fixed));
  EXPECT_EQ(Color("a"), "green");
  EXPECT_EQ(Color("b"), "<missing>");
}

TEST_F(BadInputTest, ADuplicateObjectIsRenderFailed) {
  std::string url;
  GitRepo repo = NewRepo("dup", &url);
  repo.Write("app/one.yaml", ConfigMapYaml("same", "blue"));
  repo.Write("app/two.yaml", ConfigMapYaml("same", "green"));
  std::string sha = repo.Commit("twice");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(FailedAt("web", sha, "RenderFailed"));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("defined twice"), std::string::npos) << message;
  EXPECT_NE(message.find("app/one.yaml:1"), std::string::npos) << message;
  EXPECT_NE(message.find("app/two.yaml:1"), std::string::npos) << message;
  EXPECT_EQ(Color("same"), "<missing>");
}

TEST_F(BadInputTest, APathThatLeavesTheRepositoryIsStalled) {
  std::string url;
  GitRepo repo = NewRepo("escape", &url);
  repo.Write("app/a.yaml", ConfigMapYaml("a", "blue"));
  repo.Commit("one");
  Json spec = Spec(url);
  spec["source"]["path"] = "../..";
  ApplyApp("web", spec);
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) { return Cond(a, "Stalled") == "True"; }));
  Json app = GetApp("web");
  EXPECT_EQ(Cond(app, "Ready"), "False");
  EXPECT_NE(Cond(app, "Stalled", "message").find("leaves the repository"), std::string::npos);
  EXPECT_EQ(Color("a"), "<missing>");

  // A spec change un-stalls it.
  spec["source"]["path"] = "app";
  ApplyApp("web", spec);
  ASSERT_TRUE(ReadyAt("web", repo.Head()));
  EXPECT_EQ(Cond(GetApp("web"), "Stalled"), "");
}

TEST_F(BadInputTest, AnUnknownKindIsApplyFailedWithTheApisMessage) {
  std::string url;
  GitRepo repo = NewRepo("unknown", &url);
  repo.Write("app/a.yaml", ConfigMapYaml("a", "blue"));
  repo.Write("app/z.yaml", "apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g\n");
  std::string sha = repo.Commit("unknown kind");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(FailedAt("web", sha, "ApplyFailed"));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("Gizmo"), std::string::npos) << message;
  EXPECT_NE(message.find("no matches for kind"), std::string::npos) << message;
  // The other object is still applied.
  EXPECT_EQ(Color("a"), "blue");
}

TEST_F(BadInputTest, AStoppedGitServerIsFetchFailedAndRecoveryNeedsNoRestart) {
  std::string url;
  GitRepo repo = NewRepo("down", &url);
  repo.Write("app/a.yaml", ConfigMapYaml("a", "blue"));
  std::string sha = repo.Commit("one");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", sha));

  auto& daemon = GitOpsEnvironment::Get()->daemon();
  daemon.Stop();
  ASSERT_TRUE(
      WaitApp("web", [&](const Json& a) { return Cond(a, "Ready", "reason") == "FetchFailed"; }));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find(url), std::string::npos) << message;
  EXPECT_EQ(Color("a"), "blue");  // untouched

  repo.Write("app/a.yaml", ConfigMapYaml("a", "green"));
  std::string next = repo.Commit("while down");
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(ReadyAt("web", next));
  EXPECT_EQ(Color("a"), "green");
}

TEST_F(BadInputTest, AnImmutableFieldIsApplyFailedUnlessTheObjectAsksToBeRecreated) {
  std::string url;
  GitRepo repo = NewRepo("immutable", &url);
  auto immutable = [](const std::string& name, const std::string& value, bool force) {
    return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" +
           (force ? "  annotations: {plumbline.dev/force: enabled}\n" : "") +
           "immutable: true\ndata:\n  color: " + value + "\n";
  };
  repo.Write("app/plain.yaml", immutable("plain", "blue", false));
  repo.Write("app/forced.yaml", immutable("forced", "blue", true));
  std::string first = repo.Commit("immutable");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", first));
  std::string forced_uid = Live("v1", "ConfigMap", namespace_, "forced")["metadata"]["uid"];

  repo.Write("app/plain.yaml", immutable("plain", "green", false));
  repo.Write("app/forced.yaml", immutable("forced", "green", true));
  std::string second = repo.Commit("change immutable data");
  ASSERT_TRUE(FailedAt("web", second, "ApplyFailed"));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("ConfigMap " + namespace_ + "/plain"), std::string::npos) << message;
  EXPECT_NE(message.find("immutable"), std::string::npos) << message;
  EXPECT_EQ(Color("plain"), "blue");
  // The annotated one was deleted and created again with the new data.
  EXPECT_EQ(Color("forced"), "green");
  EXPECT_NE(Live("v1", "ConfigMap", namespace_, "forced")["metadata"]["uid"], forced_uid);
}

TEST_F(BadInputTest, AGitServerThatNeverAnswersTimesOut) {
  // Accepts connections and never says a word.
  int port = testing::FreePort();
  testing::BackgroundProcess silent;
  ASSERT_TRUE(
      silent
          .Start({"python3", "-c",
                  "import socket,time\n"
                  "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                  "s.bind(('127.0.0.1'," +
                      std::to_string(port) +
                      ")); s.listen(16)\n"
                      "held=[]\n"
                      "while True: held.append(s.accept())\n"},
                 GitOpsEnvironment::Get()->repos_dir() + "/../silent.log")
          .ok());
  ASSERT_TRUE(testing::Eventually([&] { return testing::PortOpen(port); }));
  Json spec = Spec("git://127.0.0.1:" + std::to_string(port) + "/nothing");
  spec["timeout"] = "2s";
  ApplyApp("web", spec);
  ASSERT_TRUE(
      WaitApp("web", [&](const Json& a) { return Cond(a, "Ready", "reason") == "FetchFailed"; }));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("timed out"), std::string::npos) << message;
}

}  // namespace
}  // namespace plumbline
