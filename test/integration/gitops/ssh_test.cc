// git over ssh against a real sshd: a key from the Application's Secret, and known_hosts checked.
#include <gtest/gtest.h>

#include "support/gitops_env.h"
#include "support/sshd.h"

namespace plumbline {
namespace {

using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;
using testing::SshServer;

class SshTest : public GitOpsTest {
 protected:
  static void SetUpTestSuite() {
    server_ = new SshServer(GitOpsEnvironment::Get()->repos_dir() + "/../sshd");
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.error().message();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void CreateSecret(const std::string& name, const std::string& known_hosts) {
    ApplySecret(name, {{"identity", server_->client_key()}, {"known_hosts", known_hosts}});
  }

  Json Spec(const std::string& url, const std::string& secret) {
    return {{"source", {{"repoURL", url}, {"path", "app"}, {"secretRef", {{"name", secret}}}}},
            {"destination", {{"namespace", namespace_}}},
            {"interval", "1s"}};
  }

  static SshServer* server_;
};

SshServer* SshTest::server_ = nullptr;

TEST_F(SshTest, FetchesWithTheSecretsKeyWhenTheHostKeyIsKnown) {
  std::string unused;
  GitRepo repo = NewRepo("ssh-ok", &unused);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: over-ssh}\n");
  std::string sha = repo.Commit("one");
  CreateSecret("deploy-key", server_->known_hosts());
  ApplyApp("web", Spec(server_->Url(repo.dir()), "deploy-key"));
  ASSERT_TRUE(ReadyAt("web", sha));
  EXPECT_FALSE(Live("v1", "ConfigMap", namespace_, "over-ssh").is_null());
}

TEST_F(SshTest, AWrongHostKeyIsFetchFailedWithAClearMessage) {
  std::string unused;
  GitRepo repo = NewRepo("ssh-wrong", &unused);
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: never}\n");
  repo.Commit("one");
  CreateSecret("deploy-key", server_->wrong_known_hosts());
  ApplyApp("web", Spec(server_->Url(repo.dir()), "deploy-key"));
  ASSERT_TRUE(
      WaitApp("web", [&](const Json& a) { return Cond(a, "Ready", "reason") == "FetchFailed"; }));
  std::string message = Cond(GetApp("web"), "Ready", "message");
  EXPECT_NE(message.find("host key verification failed"), std::string::npos) << message;
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "never").is_null());

  // Fixing the Secret is picked up without touching the Application.
  CreateSecret("deploy-key", server_->known_hosts());
  ASSERT_TRUE(ReadyAt("web", repo.Head()));
}

}  // namespace
}  // namespace plumbline
