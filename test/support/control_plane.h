// A GoogleTest environment that starts one real control plane (etcd + kube-apiserver, via
// hack/local-cluster.sh) for the whole test binary and stops it at the end.
//
// Set PLUMBLINE_TEST_KUBECONFIG to run against a control plane that is already up instead.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace plumbline::testing {

struct ControlPlaneOptions {
  bool with_controller_manager = false;
  std::vector<std::string> apiserver_args;  // extra kube-apiserver flags
};

class ControlPlane : public ::testing::Environment {
 public:
  explicit ControlPlane(ControlPlaneOptions options = {}) : options_(options) {}
  void SetUp() override;
  void TearDown() override;

  // The one registered instance (nullptr before SetUp).
  static ControlPlane* Get();
  const std::string& kubeconfig() const { return kubeconfig_; }
  // The control plane's directory (certificates under pki/), "" when reusing an external one.
  const std::string& dir() const { return dir_; }

  // Fault injection (only on a control plane this binary started).
  // Kills kube-apiserver and starts it again on the same port; returns once it is ready.
  void RestartApiServer();
  // The etcd process, to pause (SIGSTOP) and resume (SIGCONT); -1 when not ours.
  pid_t EtcdPid() const;

 private:
  ControlPlaneOptions options_;
  std::string dir_;
  std::string kubeconfig_;
  bool owned_ = false;
};

// Registers the environment; call from main() before RUN_ALL_TESTS.
ControlPlane* AddControlPlaneEnvironment(ControlPlaneOptions options = {});

}  // namespace plumbline::testing
