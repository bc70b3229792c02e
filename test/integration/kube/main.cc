// Tests of the Kubernetes API client against a real kube-apiserver + etcd.
#include <gtest/gtest.h>

#include "support/control_plane.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  plumbline::testing::AddControlPlaneEnvironment();
  return RUN_ALL_TESTS();
}
