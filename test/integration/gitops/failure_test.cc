// Every failure of a reconcile shows in the Application's conditions and in a Warning Event,
// never only in the log: manifests that break the controller's own handling (bytes that are not
// UTF-8, fields of the wrong type) and commits whose metadata is not UTF-8.
#include <gtest/gtest.h>

#include "common/redact.h"
#include "support/gitops_env.h"

namespace plumbline {
namespace {

using testing::GitOpsTest;
using testing::GitRepo;

class FailureTest : public GitOpsTest {
 protected:
  Json Spec(const std::string& url) {
    return {{"source", {{"repoURL", url}, {"path", "app"}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"}};
  }
  // Waits for Ready=False with `reason` at `sha`, and a Warning Event with that reason.
  void ExpectVisibleFailure(const std::string& sha, const std::string& reason,
                            const std::string& message_part) {
    ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
      return StatusOf(a).value("lastAttemptedRevision", "") == sha && Cond(a, "Ready") == "False" &&
             Cond(a, "Ready", "reason") == reason;
    })) << GetApp("web").dump(2, ' ', false, Json::error_handler_t::replace);
    const std::string message = Cond(GetApp("web"), "Ready", "message");
    EXPECT_TRUE(IsValidUtf8(message));
    EXPECT_NE(message.find(message_part), std::string::npos) << message;
    ASSERT_TRUE(testing::Eventually([&] { return !Warnings(reason, "web").empty(); }))
        << "no Warning Event " << reason;
    EXPECT_NE(Warnings(reason, "web")[0].find(message_part), std::string::npos)
        << Warnings(reason, "web")[0];
  }
};

TEST_F(FailureTest, BytesThatAreNotUtf8AreRenderFailedNamingTheFile) {
  std::string url;
  GitRepo repo = NewRepo("latin1", &url);
  repo.Write("app/a.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
             "data: {color: blue}\n");
  const std::string good = repo.Commit("good");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", good));

  // "café" in Latin-1: 0xE9 is not UTF-8.
  repo.Write("app/b.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
             "data: {color: \"caf\xe9\"}\n");
  const std::string bad = repo.Commit("latin-1");
  ExpectVisibleFailure(bad, "RenderFailed", "app/b.yaml");
  EXPECT_NE(Cond(GetApp("web"), "Ready", "message").find("UTF-8"), std::string::npos);
  EXPECT_EQ(GetApp("web")["status"]["lastAppliedRevision"], good);
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "b").is_null());
}

TEST_F(FailureTest, AKindThatIsNotAStringIsRenderFailedNamingTheFile) {
  std::string url;
  GitRepo repo = NewRepo("kind5", &url);
  repo.Write("app/a.yaml", "apiVersion: v1\nkind: 5\nmetadata: {name: a}\n");
  const std::string sha = repo.Commit("kind 5");
  ApplyApp("web", Spec(url));
  ExpectVisibleFailure(sha, "RenderFailed", "app/a.yaml");
}

TEST_F(FailureTest, AFieldOfTheWrongTypeIsAVisibleFailure) {
  std::string url;
  GitRepo repo = NewRepo("annotations", &url);
  // Annotations must be a map; the controller reads its own from it before applying.
  repo.Write("app/a.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, annotations: 5}\n");
  const std::string sha = repo.Commit("annotations 5");
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(WaitApp("web", [&](const Json& a) {
    return StatusOf(a).value("lastAttemptedRevision", "") == sha && Cond(a, "Ready") == "False";
  }));
  const std::string reason = Cond(GetApp("web"), "Ready", "reason");
  EXPECT_TRUE(reason == "RenderFailed" || reason == "ApplyFailed") << reason;
  EXPECT_TRUE(testing::Eventually([&] { return !Warnings(reason, "web").empty(); }));
}

TEST_F(FailureTest, ACommitMessageThatIsNotUtf8IsAppliedAndRecordedReadably) {
  std::string url;
  GitRepo repo = NewRepo("message", &url);
  repo.Write("app/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  // A Latin-1 message, as git keeps it when told that is the encoding (otherwise git itself
  // converts the message to UTF-8).
  testing::MustRun({"git", "-C", repo.dir(), "add", "-A"});
  testing::MustRun({"git", "-C", repo.dir(), "-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q",
                    "-m", "caf\xe9 au lait"});
  const std::string sha = repo.Head();
  ApplyApp("web", Spec(url));
  ASSERT_TRUE(ReadyAt("web", sha))
      << GetApp("web").dump(2, ' ', false, Json::error_handler_t::replace);
  const Json history = GetApp("web")["status"]["history"];
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0].value("message", ""), "caf\xef\xbf\xbd au lait");
}

}  // namespace
}  // namespace plumbline
