#include "common/subprocess.h"

#include <gtest/gtest.h>

namespace plumbline {
namespace {

TEST(Subprocess, CapturesOutputExitCodeAndEnvironment) {
  SubprocessOptions options;
  options.extra_env = {{"PLUMBLINE_TEST_VAR", "hello"}};
  auto r = RunSubprocess({"sh", "-c", "echo $PLUMBLINE_TEST_VAR; echo oops >&2; exit 3"}, options);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, "hello\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(Subprocess, AMissingProgramIsAnError) {
  auto r = RunSubprocess({"plumbline-no-such-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot run plumbline-no-such-program"), std::string::npos);
}

TEST(Subprocess, KillsAProgramThatRunsPastTheTimeout) {
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto r = RunSubprocess({"sleep", "30"}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
}  // namespace plumbline
