#include "common/subprocess.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>

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

// Output past the bound is an error and the program is stopped: a truncated render read as whole
// would miss objects, and missing objects are pruned.
TEST(Subprocess, OutputPastTheBoundIsAnErrorNotATruncatedResult) {
  SubprocessOptions options;
  options.max_output_bytes = 1000;
  options.timeout = std::chrono::seconds(20);
  auto flood = RunSubprocess({"sh", "-c", "head -c 5000 /dev/zero; exit 0"}, options);
  ASSERT_FALSE(flood.ok());
  EXPECT_EQ(flood.error().message(), "sh printed more than 1000 bytes");
  auto endless = RunSubprocess({"yes"}, options);
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.error().message(), "yes printed more than 1000 bytes");
  auto fits = RunSubprocess({"sh", "-c", "head -c 1000 /dev/zero"}, options);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->out.size(), 1000u);
}

// Without the parent's environment the program sees only what it is given.
TEST(Subprocess, AProgramCanBeGivenOnlyItsOwnEnvironment) {
  setenv("PLUMBLINE_PARENT_SECRET", "parent", 1);
  SubprocessOptions options;
  options.inherit_env = false;
  options.extra_env = {{"ONLY", "this"}};
  auto r = RunSubprocess({"/usr/bin/env"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "ONLY=this\n");
  unsetenv("PLUMBLINE_PARENT_SECRET");
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

// Closing its output is not exiting: the deadline still holds.
TEST(Subprocess, AProgramThatClosesItsOutputAndRunsOnIsStoppedAtTheDeadline) {
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = RunSubprocess({"sh", "-c", "exec >&- 2>&-; exec sleep 30"}, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// What the program started goes with it (kustomize runs git for remote bases).
TEST(Subprocess, ATimeoutStopsWhatTheProgramStartedToo) {
  char dir[] = "/tmp/plumbline-subprocess-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string pid_file = std::string(dir) + "/pid";
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(300);
  auto r = RunSubprocess({"sh", "-c", "sleep 30 & echo $! > " + pid_file + "; wait"}, options);
  ASSERT_FALSE(r.ok());
  std::ifstream in(pid_file);
  int pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  // Gone, or a zombie waiting for whoever adopted it: not running either way.
  auto running = [pid] {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
  };
  for (int i = 0; i < 500 && running(); ++i) usleep(10000);
  EXPECT_FALSE(running()) << "the grandchild sleep " << pid << " outlived the timeout";
  kill(pid, SIGKILL);
  std::remove(pid_file.c_str());
  rmdir(dir);
}

// A program that exits by itself may leave what it started on purpose: local-cluster.sh starts
// the control plane's daemons in the background and exits. Killing its group on a normal exit
// killed a daemon that had not yet left the group (kube-controller-manager, in CI).
TEST(Subprocess, WhatAProgramLeavesRunningOnANormalExitIsLeftAlone) {
  auto r = RunSubprocess({"sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const int pid = std::stoi(r->out);
  ASSERT_GT(pid, 0);
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  const bool alive =
      static_cast<bool>(std::getline(stat, line)) && line.find(") Z") == std::string::npos;
  EXPECT_TRUE(alive) << "the background sleep " << pid << " was killed";
  kill(pid, SIGKILL);
}

}  // namespace
}  // namespace plumbline
