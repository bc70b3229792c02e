// Tests of the controller as a process (leader election, shutdown, probes, in-cluster
// credentials): a control plane whose kube-apiserver audits every write.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "integration/process/audit_log.h"
#include "support/control_plane.h"
#include "support/gitops_env.h"
#include "support/process.h"

namespace plumbline::testing {
namespace {
std::string g_audit_log;
}  // namespace

const std::string& AuditLogPath() { return g_audit_log; }

}  // namespace plumbline::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  char tmpl[] = "/tmp/plumbline-audit-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  plumbline::testing::WriteFile(dir + "/policy.yaml", R"(apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
)");
  plumbline::testing::g_audit_log = dir + "/audit.log";
  plumbline::testing::ControlPlaneOptions options;
  options.with_controller_manager = true;  // fills in deploy/'s aggregated ClusterRole
  options.apiserver_args = {"--audit-policy-file=" + dir + "/policy.yaml",
                            "--audit-log-path=" + plumbline::testing::g_audit_log,
                            "--audit-log-mode=blocking"};
  plumbline::testing::AddControlPlaneEnvironment(options);
  plumbline::testing::AddApplicationCrdEnvironment();
  int result = RUN_ALL_TESTS();
  std::filesystem::remove_all(dir);
  return result;
}
