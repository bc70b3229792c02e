// The GitOps end-to-end scenario again, with the controller holding exactly the rights that
// deploy/ grants its ServiceAccount: every request it makes impersonates that account. The
// control plane runs kube-controller-manager, which fills in deploy/'s aggregated ClusterRole.
#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/gitops_env.h"

namespace {

// Waits until RBAC lets the ServiceAccount do what the controller starts with, including the
// aggregated manager role that kube-controller-manager fills in.
void InstallDeployRbac(plumbline::kube::Client& admin) {
  plumbline::testing::ApplyDeployRbac(admin);
  if (::testing::Test::HasFatalFailure()) return;
  auto as_controller = admin.Impersonate({plumbline::testing::kControllerUser, {}});
  auto configmaps = admin.Resource({"", "v1", "ConfigMap"});
  auto apps = admin.Resource({"plumbline.dev", "v1alpha1", "Application"});
  ASSERT_TRUE(configmaps.ok() && apps.ok());
  ASSERT_TRUE(plumbline::testing::Eventually(
      [&] {
        return as_controller->List(*configmaps, "default").ok() &&
               as_controller->List(*apps, "").ok();
      },
      std::chrono::seconds(60)))
      << "deploy/'s RBAC never let the ServiceAccount list ConfigMaps and Applications";
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // That test fakes a finished rollout by writing the Deployment's status; here
  // kube-controller-manager's Deployment controller owns that status and overwrites it.
  if (::testing::GTEST_FLAG(filter) == "*") {
    ::testing::GTEST_FLAG(filter) =
        "-LifecycleTest.ReadyWaitsForTheDeploymentRolloutAndFollowsItsStatus";
  }
  plumbline::testing::ControlPlaneOptions plane;
  plane.with_controller_manager = true;
  plumbline::testing::AddControlPlaneEnvironment(plane);
  plumbline::testing::GitOpsOptions options;
  options.controller_user = plumbline::testing::kControllerUser;
  options.install = InstallDeployRbac;
  plumbline::testing::AddGitOpsEnvironment(options);
  return RUN_ALL_TESTS();
}
