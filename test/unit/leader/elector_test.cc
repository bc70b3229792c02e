#include "leader/elector.h"

#include <gtest/gtest.h>

namespace plumbline::leader {
namespace {

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

}  // namespace
}  // namespace plumbline::leader
