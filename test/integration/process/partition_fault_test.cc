// The leader cut off from the API server by a network partition while it keeps running (a TCP
// proxy between it and the API server drops every byte both ways), so another replica takes the
// Lease over. The API server's audit log proves that the old leader wrote nothing once the new
// one began, during the partition or after it healed, and the old leader gives up and exits.
//
// Bytes sent into the partition are dropped, not delayed: a write that left the old leader
// before its renew deadline and that a real network delivered only after the takeover is a
// hazard no lease fences (the API server has no fencing token); see the issue-11 note.
#include "integration/process/fault_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

using PartitionFaultTest = testing::FaultTest;

TEST_F(PartitionFaultTest, APartitionedLeaderWritesNothingAfterAnotherTakesOver) {
  auto& old_leader = StartReplica("replica-a", {}, ProxiedKubeconfig());
  ASSERT_TRUE(Eventually([&] { return Holder() == "replica-a"; }));
  const std::string url = daemon_->Url(namespace_ + "-web");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string first = CommitConfig(repo, "1");
  ApplyApp(url, "1s");  // a reconcile (and a status write) every second
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); }, std::chrono::seconds(60)))
      << old_leader.Log();
  StartReplica("replica-b");

  ASSERT_EQ(kill(proxy_.pid(), SIGUSR2), 0);
  ASSERT_TRUE(Eventually([&] { return LastProxyCount("partition") == 1; }));
  const auto partitioned = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return Holder() == "replica-b"; }, std::chrono::seconds(60)))
      << replicas_["replica-b"]->Log();
  std::printf("partitioned leader replaced after %.1f s (lease 15 s, renew deadline 10 s)\n",
              SecondsSince(partitioned));
  const std::string second = CommitConfig(repo, "2");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(second) && LiveValue() == "2"; },
                         std::chrono::seconds(60)));

  // Healed: the old leader can reach the API server again, with work queued and a lost lease.
  ASSERT_EQ(kill(proxy_.pid(), SIGUSR2), 0);
  ASSERT_TRUE(Eventually([&] { return LastProxyCount("partition") == 0; }));
  auto code = old_leader.Wait(std::chrono::seconds(90));
  ASSERT_TRUE(code.has_value()) << "the old leader kept running:\n" << old_leader.Log();
  EXPECT_EQ(*code, 1) << old_leader.Log();
  EXPECT_NE(old_leader.Log().find("lost leadership"), std::string::npos) << old_leader.Log();
  const std::string third = CommitConfig(repo, "3");
  ASSERT_TRUE(
      Eventually([&] { return AppliedAt(third) && LiveValue() == "3"; }, std::chrono::seconds(60)));
  ExpectOneWriterAtATime("replica-a", "replica-b");
}

}  // namespace
}  // namespace plumbline
