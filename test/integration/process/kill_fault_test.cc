// The controller SIGKILLed in the middle of applying 300 objects, and again in the middle of
// pruning 200 of them, then restarted: it converges with nothing lost, nothing wrongly pruned and
// the inventory exact.
#include "integration/process/fault_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

class KillFaultTest : public testing::FaultTest {
 protected:
  void Kill() {
    replicas_["replica-kill"]->Signal(SIGKILL);
    ASSERT_TRUE(replicas_["replica-kill"]->Wait(std::chrono::seconds(30)).has_value());
  }
};

TEST_F(KillFaultTest, ASigkillMidApplyAndMidPruneLosesNothingAfterARestart) {
  constexpr int kObjects = 300, kKept = 100;
  const std::string url = daemon_->Url(namespace_ + "-many");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-many");
  const std::string all = CommitConfigMaps(repo, kObjects, "300 ConfigMaps");
  // Not Plumbline's: must survive every prune.
  ASSERT_TRUE(client_->Apply(ConfigMap("bystander", {{"owner", "someone else"}})).ok());

  StartRoomyReplica("replica-kill");
  ASSERT_TRUE(Eventually([&] { return Holder() == "replica-kill"; }));
  ApplyPruningApp(url, "2s");

  // Mid-apply: the client's rate limit makes 300 applies take seconds.
  ASSERT_TRUE(Eventually([&] { return !Managed().empty(); }, std::chrono::seconds(60)));
  Kill();
  const size_t at_kill = Managed().size();
  ASSERT_LT(at_kill, size_t(kObjects)) << "the apply ended before the kill: nothing was in flight";
  auto restarted = std::chrono::steady_clock::now();
  StartRoomyReplica("replica-kill");
  ASSERT_TRUE(Eventually([&] { return ConvergedTo(all, ConfigMapNames(0, kObjects)); },
                         std::chrono::seconds(120)))
      << Managed().size() << " objects, inventory " << Inventory().size();
  std::printf("SIGKILL mid-apply at %zu of %d objects: converged %.1f s after the restart\n",
              at_kill, kObjects, SecondsSince(restarted));

  // Mid-prune: git drops 200 objects.
  for (int i = kKept; i < kObjects; ++i) repo.Remove("app/cm" + std::to_string(i) + ".yaml");
  const std::string kept = repo.Commit("keep 100");
  ASSERT_TRUE(
      Eventually([&] { return Managed().size() < size_t(kObjects); }, std::chrono::seconds(60)));
  Kill();
  const size_t at_prune_kill = Managed().size();
  ASSERT_GT(at_prune_kill, size_t(kKept))
      << "the prune ended before the kill: nothing was in flight";
  restarted = std::chrono::steady_clock::now();
  StartRoomyReplica("replica-kill");
  ASSERT_TRUE(Eventually([&] { return ConvergedTo(kept, ConfigMapNames(0, kKept)); },
                         std::chrono::seconds(120)))
      << Managed().size() << " objects, inventory " << Inventory().size();
  std::printf("SIGKILL mid-prune at %zu objects left of %d: converged %.1f s after the restart\n",
              at_prune_kill, kObjects, SecondsSince(restarted));
  EXPECT_TRUE(client_->Get(ConfigMaps(), namespace_, "bystander").ok());
}

}  // namespace
}  // namespace plumbline
