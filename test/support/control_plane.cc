#include "support/control_plane.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/subprocess.h"

namespace plumbline::testing {
namespace {
ControlPlane* g_instance = nullptr;
const std::string kScript = std::string(PLUMBLINE_SOURCE_DIR) + "/hack/local-cluster.sh";
}  // namespace

ControlPlane* ControlPlane::Get() { return g_instance; }

ControlPlane* AddControlPlaneEnvironment(ControlPlaneOptions options) {
  g_instance = new ControlPlane(options);
  ::testing::AddGlobalTestEnvironment(g_instance);  // takes ownership
  return g_instance;
}

void ControlPlane::SetUp() {
  if (const char* external = std::getenv("PLUMBLINE_TEST_KUBECONFIG"); external && *external) {
    kubeconfig_ = external;
    return;
  }
  char tmpl[] = "/tmp/plumbline-cp-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  std::vector<std::string> argv = {kScript, "up",          "--dir",
                                   dir_,    "--owner-pid", std::to_string(getpid())};
  if (options_.with_controller_manager) argv.push_back("--with-controller-manager");
  for (const auto& arg : options_.apiserver_args) {
    argv.push_back("--apiserver-arg");
    argv.push_back(arg);
  }
  SubprocessOptions opts;
  opts.timeout = std::chrono::minutes(60);  // the first run builds the binaries
  auto run = RunSubprocess(argv, opts);
  ASSERT_TRUE(run.ok()) << run.error().message();
  ASSERT_EQ(run->exit_code, 0) << "local-cluster.sh up failed:\n" << run->err;
  owned_ = true;
  std::string out = run->out;
  auto pos = out.rfind("export KUBECONFIG=");
  ASSERT_NE(pos, std::string::npos) << out;
  kubeconfig_ = out.substr(pos + std::string("export KUBECONFIG=").size());
  while (!kubeconfig_.empty() && std::isspace(static_cast<unsigned char>(kubeconfig_.back()))) {
    kubeconfig_.pop_back();
  }
}

void ControlPlane::RestartApiServer() {
  ASSERT_TRUE(owned_) << "the control plane is not this binary's";
  SubprocessOptions opts;
  opts.timeout = std::chrono::minutes(3);
  auto run = RunSubprocess({kScript, "restart-apiserver", "--dir", dir_}, opts);
  ASSERT_TRUE(run.ok()) << run.error().message();
  ASSERT_EQ(run->exit_code, 0) << "local-cluster.sh restart-apiserver failed:\n" << run->err;
}

pid_t ControlPlane::EtcdPid() const {
  if (!owned_) return -1;
  std::ifstream in(dir_ + "/etcd.pid");
  pid_t pid = -1;
  in >> pid;
  return pid;
}

void ControlPlane::TearDown() {
  if (!owned_) return;
  auto run = RunSubprocess({kScript, "down", "--dir", dir_});
  EXPECT_TRUE(run.ok() && run->exit_code == 0)
      << "local-cluster.sh down failed: " << (run.ok() ? run->err : run.error().message());
}

}  // namespace plumbline::testing
