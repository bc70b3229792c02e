// The control plane failing under the controller in the middle of applying 300 objects:
// kube-apiserver killed and started again, and etcd frozen (SIGSTOP) for 20 s. The controller
// rides each out without a restart of its own and converges with nothing lost, nothing wrongly
// pruned and the inventory exact.
#include <thread>

#include "integration/process/fault_fixture.h"

namespace plumbline {
namespace {

using testing::ControlPlane;
using testing::Eventually;

class ControlPlaneFaultTest : public testing::FaultTest {
 protected:
  static constexpr int kObjects = 300;

  // A pruning Application of 300 ConfigMaps, started and caught in the middle of its apply.
  // Returns the commit; `applied` is how many objects were live when this returned.
  std::string StartMidApply(size_t* applied) {
    const std::string url = daemon_->Url(namespace_ + "-many");
    testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-many");
    const std::string sha = CommitConfigMaps(repo, kObjects, "300 ConfigMaps");
    // Not Plumbline's: must survive.
    EXPECT_TRUE(client_->Apply(ConfigMap("bystander", {{"owner", "someone else"}})).ok());
    StartRoomyReplica("replica-fault");
    EXPECT_TRUE(Eventually([&] { return Holder() == "replica-fault"; }));
    ApplyPruningApp(url, "2s");
    // The client's rate limit makes 300 applies take seconds: strike once some are in.
    EXPECT_TRUE(Eventually([&] { return Managed().size() >= 30; }, std::chrono::seconds(60)));
    *applied = Managed().size();
    return sha;
  }

  void ExpectConverged(const std::string& sha, const char* fault,
                       std::chrono::steady_clock::time_point since, size_t at_fault) {
    ASSERT_TRUE(Eventually([&] { return ConvergedTo(sha, ConfigMapNames(0, kObjects)); },
                           std::chrono::seconds(180)))
        << Managed().size() << " objects, inventory " << Inventory().size() << "\n"
        << replicas_["replica-fault"]->Log();
    std::printf("%s at %zu of %d objects: converged %.1f s after the fault began\n", fault,
                at_fault, kObjects, SecondsSince(since));
    EXPECT_TRUE(client_->Get(ConfigMaps(), namespace_, "bystander").ok());
    // It rode the fault out: the same process, still the leader.
    EXPECT_FALSE(replicas_["replica-fault"]->Wait(std::chrono::milliseconds(0)).has_value())
        << replicas_["replica-fault"]->Log();
    EXPECT_EQ(Holder(), "replica-fault");
  }
};

TEST_F(ControlPlaneFaultTest, KubeApiserverKilledAndRestartedMidApplyLosesNothing) {
  size_t at_fault = 0;
  const std::string sha = StartMidApply(&at_fault);
  ASSERT_LT(at_fault, size_t(kObjects)) << "the apply ended before the fault";
  const auto began = std::chrono::steady_clock::now();
  ControlPlane::Get()->RestartApiServer();
  std::printf("kube-apiserver back after %.1f s\n", SecondsSince(began));
  ExpectConverged(sha, "kube-apiserver killed and restarted", began, at_fault);
}

TEST_F(ControlPlaneFaultTest, EtcdFrozenForTwentySecondsMidApplyLosesNothing) {
  size_t at_fault = 0;
  const std::string sha = StartMidApply(&at_fault);
  ASSERT_LT(at_fault, size_t(kObjects)) << "the apply ended before the fault";
  const pid_t etcd = ControlPlane::Get()->EtcdPid();
  ASSERT_GT(etcd, 0);
  const auto began = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(etcd, SIGSTOP), 0);
  // The fault's length is the scenario, not a wait for behaviour.
  std::this_thread::sleep_for(std::chrono::seconds(20));
  ASSERT_EQ(kill(etcd, SIGCONT), 0);
  ExpectConverged(sha, "etcd frozen for 20 s", began, at_fault);
}

}  // namespace
}  // namespace plumbline
