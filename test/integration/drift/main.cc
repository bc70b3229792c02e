// Drift, metrics and alerts end to end: the controller against a real kube-apiserver + etcd,
// a real git daemon and a real Prometheus.
#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/gitops_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  plumbline::testing::AddControlPlaneEnvironment();
  // Rollouts never finish here (no kubelet); re-checking them would wake Applications up and
  // hide whether the watches did. Only watches and intervals wake the controller in these tests.
  plumbline::testing::AddGitOpsEnvironment(std::chrono::hours(1));
  return RUN_ALL_TESTS();
}
