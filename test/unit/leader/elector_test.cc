#include "leader/elector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_kube_client.h"

namespace plumbline::leader {
namespace {

using namespace std::chrono_literals;
using plumbline::testing::FakeClock;
using plumbline::testing::FakeKubeClient;

TEST(ElectorOptions, TheDeadlineMustFallBetweenRetryAndLease) {
  ElectorOptions ok;
  ok.identity = "a";
  EXPECT_TRUE(Validate(ok).ok());

  ElectorOptions no_identity = ok;
  no_identity.identity = "";
  EXPECT_FALSE(Validate(no_identity).ok());

  ElectorOptions deadline_past_lease = ok;
  deadline_past_lease.renew_deadline = deadline_past_lease.lease_duration;
  auto s = Validate(deadline_past_lease);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("lease duration must be longer"), std::string::npos);

  ElectorOptions thin_margin = ok;  // 15 s lease, 14 s deadline, 2 s retry
  thin_margin.renew_deadline = std::chrono::seconds(14);
  EXPECT_FALSE(Validate(thin_margin).ok());

  ElectorOptions retry_past_deadline = ok;
  retry_past_deadline.retry_period = retry_past_deadline.renew_deadline;
  EXPECT_FALSE(Validate(retry_past_deadline).ok());
}

// The lease arithmetic on a clock the test moves: real time only paces the retries (1 ms), so
// each test runs in milliseconds and never depends on how fast the machine is.
class ElectorTest : public ::testing::Test {
 protected:
  ElectorOptions Options(const std::string& identity) {
    ElectorOptions o;
    o.ns = "plumbline-system";
    o.identity = identity;
    o.lease_duration = 15s;
    o.renew_deadline = 10s;
    o.retry_period = 1ms;  // real time between attempts; the lease is measured on clock_
    return o;
  }
  // A Lease as another replica would write it.
  void HeldBy(const std::string& holder) {
    Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", "plumbline-leader"}, {"namespace", "plumbline-system"}}},
                  {"spec", {{"holderIdentity", holder}, {"leaseDurationSeconds", 15}}}};
    if (auto live = Lease()) lease["metadata"] = (*live)["metadata"];
    kube_.Put(lease);
  }
  std::optional<Json> Lease() {
    return kube_.Stored("coordination.k8s.io/v1", "Lease", "plumbline-system", "plumbline-leader");
  }
  std::string Holder() {
    auto lease = Lease();
    return lease ? (*lease)["spec"].value("holderIdentity", "") : "";
  }
  // Returns once the elector has read the Lease `n` more times.
  void WaitForReads(int n) {
    const int target = kube_.Count("get") + n;
    for (int i = 0; i < 20000 && kube_.Count("get") < target; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_GE(kube_.Count("get"), target);
  }
  // Runs Acquire() in the background; the future is true once it leads.
  std::future<bool> AcquireInBackground(Elector& elector) {
    return std::async(std::launch::async, [&elector] { return elector.Acquire(); });
  }

  FakeKubeClient kube_;
  FakeClock clock_;
  std::ostringstream logs_;
  log::Logger log_{logs_, log::Format::kText};
};

TEST_F(ElectorTest, AFreeLeaseIsTakenAtOnceAndFencesWritesAfterTheRenewDeadline) {
  Elector elector(kube_, Options("a"), log_, clock_);
  EXPECT_FALSE(elector.MayWrite().ok());  // not leading yet
  ASSERT_TRUE(elector.Acquire());
  EXPECT_EQ(Holder(), "a");
  EXPECT_EQ(kube_.Count("create"), 1);
  EXPECT_TRUE(elector.MayWrite().ok());

  // No renewal runs (StartRenewing was not called): the fence closes at the deadline exactly.
  clock_.Advance(10s - 1ms);
  EXPECT_TRUE(elector.MayWrite().ok());
  clock_.Advance(1ms);
  Status fenced = elector.MayWrite();
  ASSERT_FALSE(fenced.ok());
  EXPECT_NE(fenced.error().message().find("could not renew"), std::string::npos);
}

TEST_F(ElectorTest, ALeaseHeldByAnotherIsTakenOnlyAfterItsDurationPassesWithoutRenewal) {
  HeldBy("b");
  Elector elector(kube_, Options("a"), log_, clock_);
  auto leading = AcquireInBackground(elector);
  WaitForReads(3);
  clock_.Advance(14s);  // the holder's record has not changed for 14 s of our time
  WaitForReads(3);
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(kube_.Count("update"), 0);

  clock_.Advance(1s);  // 15 s: the lease duration
  const bool done = leading.wait_for(10s) == std::future_status::ready;
  elector.Stop();  // ends Acquire if it is still waiting
  EXPECT_TRUE(done);
  EXPECT_TRUE(leading.get());
  EXPECT_EQ(Holder(), "a");
  EXPECT_EQ((*Lease())["spec"].value("leaseTransitions", 0), 1);
}

TEST_F(ElectorTest, AHolderThatKeepsRenewingKeepsTheLeaseHoweverLongWeWait) {
  HeldBy("b");
  Elector elector(kube_, Options("a"), log_, clock_);
  auto leading = AcquireInBackground(elector);
  for (int i = 0; i < 6; ++i) {
    WaitForReads(2);
    clock_.Advance(10s);  // 60 s in all, four lease durations
    HeldBy("b");          // b renews: a new resourceVersion
  }
  WaitForReads(2);
  EXPECT_EQ(Holder(), "b");
  EXPECT_EQ(leading.wait_for(0s), std::future_status::timeout);
  elector.Stop();
  EXPECT_FALSE(leading.get());
}

TEST_F(ElectorTest, RenewalFailuresPastTheDeadlineLoseLeadershipOnce) {
  Elector elector(kube_, Options("a"), log_, clock_);
  ASSERT_TRUE(elector.Acquire());
  kube_.SetInterceptor([](const std::string& verb, const std::string&) -> std::optional<Error> {
    if (verb == "update") return Error(ErrorCode::kUnavailable, "apiserver is restarting");
    return std::nullopt;
  });
  std::atomic<int> lost{0};
  elector.StartRenewing([&] { ++lost; });
  WaitForReads(3);
  clock_.Advance(9s);  // failures within the deadline: still leading
  WaitForReads(3);
  EXPECT_EQ(lost.load(), 0);
  EXPECT_TRUE(elector.MayWrite().ok());

  clock_.Advance(1s);
  for (int i = 0; i < 10000 && lost.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(lost.load(), 1);
  EXPECT_FALSE(elector.MayWrite().ok());
  // Losing is final: a renewal that would now succeed does not restore the fence.
  kube_.SetInterceptor(nullptr);
  clock_.Advance(1s);
  EXPECT_FALSE(elector.MayWrite().ok());
  elector.Stop();
  EXPECT_EQ(lost.load(), 1);
}

TEST_F(ElectorTest, ALeaseTakenByAnotherReplicaEndsLeadershipAtTheNextRenewal) {
  Elector elector(kube_, Options("a"), log_, clock_);
  ASSERT_TRUE(elector.Acquire());
  std::atomic<int> lost{0};
  HeldBy("b");  // e.g. an operator forced it
  elector.StartRenewing([&] { ++lost; });
  for (int i = 0; i < 10000 && lost.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(lost.load(), 1);
  EXPECT_FALSE(elector.MayWrite().ok());
  EXPECT_EQ(Holder(), "b");
  EXPECT_NE(logs_.str().find("another replica holds the lease"), std::string::npos);
}

TEST_F(ElectorTest, ReleaseHandsTheLeaseOverAndClosesTheFence) {
  Elector a(kube_, Options("a"), log_, clock_);
  ASSERT_TRUE(a.Acquire());
  a.Release();
  EXPECT_EQ(Holder(), "");
  EXPECT_FALSE(a.MayWrite().ok());

  // The next candidate takes it at once, on a clock that has not moved.
  Elector b(kube_, Options("b"), log_, clock_);
  ASSERT_TRUE(b.Acquire());
  EXPECT_EQ(Holder(), "b");
}

}  // namespace
}  // namespace plumbline::leader
