// End-to-end GitOps tests: the controller against a real kube-apiserver + etcd and a real
// git daemon.
#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/gitops_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  plumbline::testing::AddControlPlaneEnvironment();
  plumbline::testing::AddGitOpsEnvironment();
  return RUN_ALL_TESTS();
}
