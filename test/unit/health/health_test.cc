#include "health/health.h"

#include <gtest/gtest.h>

namespace plumbline::health {
namespace {

Json Deployment(int replicas, const Json& status, int generation = 2) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", "web"}, {"generation", generation}}},
          {"spec", {{"replicas", replicas}}},
          {"status", status}};
}

TEST(Health, DeploymentRollout) {
  EXPECT_EQ(Assess(Deployment(2, {{"observedGeneration", 1}})).state, State::kProgressing);
  EXPECT_EQ(Assess(Deployment(2, {{"observedGeneration", 2},
                                  {"replicas", 2},
                                  {"updatedReplicas", 1},
                                  {"availableReplicas", 2}}))
                .state,
            State::kProgressing);
  Assessment waiting = Assess(Deployment(2, {{"observedGeneration", 2},
                                             {"replicas", 2},
                                             {"updatedReplicas", 2},
                                             {"availableReplicas", 1}}));
  EXPECT_EQ(waiting.state, State::kProgressing);
  EXPECT_EQ(waiting.message, "1 of 2 updated replicas available");
  EXPECT_EQ(Assess(Deployment(2, {{"observedGeneration", 2},
                                  {"replicas", 2},
                                  {"updatedReplicas", 2},
                                  {"availableReplicas", 2}}))
                .state,
            State::kHealthy);
  Json stuck = {
      {"observedGeneration", 2},
      {"conditions",
       {{{"type", "Progressing"}, {"status", "False"}, {"reason", "ProgressDeadlineExceeded"}}}}};
  EXPECT_EQ(Assess(Deployment(2, stuck)).state, State::kDegraded);
}

TEST(Health, JobsPodsClaimsServicesAndCrds) {
  Json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", "j"}}}};
  EXPECT_EQ(Assess(job).state, State::kProgressing);
  job["status"] = {{"conditions", {{{"type", "Complete"}, {"status", "True"}}}}};
  EXPECT_EQ(Assess(job).state, State::kHealthy);
  job["status"] = {{"conditions", {{{"type", "Failed"}, {"status", "True"}, {"message", "oom"}}}}};
  EXPECT_EQ(Assess(job).state, State::kDegraded);
  EXPECT_EQ(Assess(job).message, "job failed: oom");

  Json pvc = {
      {"apiVersion", "v1"}, {"kind", "PersistentVolumeClaim"}, {"status", {{"phase", "Pending"}}}};
  EXPECT_EQ(Assess(pvc).state, State::kProgressing);
  pvc["status"]["phase"] = "Bound";
  EXPECT_EQ(Assess(pvc).state, State::kHealthy);

  Json lb = {{"apiVersion", "v1"}, {"kind", "Service"}, {"spec", {{"type", "LoadBalancer"}}}};
  EXPECT_EQ(Assess(lb).state, State::kProgressing);
  lb["status"] = {{"loadBalancer", {{"ingress", {{{"ip", "192.0.2.1"}}}}}}};
  EXPECT_EQ(Assess(lb).state, State::kHealthy);
  Json cluster_ip = {{"apiVersion", "v1"}, {"kind", "Service"}, {"spec", {{"type", "ClusterIP"}}}};
  EXPECT_EQ(Assess(cluster_ip).state, State::kHealthy);

  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"status", {{"phase", "Running"}}}};
  EXPECT_EQ(Assess(pod).state, State::kProgressing);
  pod["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
  EXPECT_EQ(Assess(pod).state, State::kHealthy);
}

TEST(Health, AnyObjectWithAReadyCondition) {
  Json custom = {
      {"apiVersion", "example.com/v1"},
      {"kind", "Database"},
      {"metadata", {{"generation", 1}}},
      {"status",
       {{"observedGeneration", 1},
        {"conditions", {{{"type", "Ready"}, {"status", "False"}, {"message", "provisioning"}}}}}}};
  EXPECT_EQ(Assess(custom).state, State::kProgressing);
  EXPECT_EQ(Assess(custom).message, "not Ready: provisioning");
  custom["status"]["conditions"][0]["status"] = "True";
  EXPECT_EQ(Assess(custom).state, State::kHealthy);
  Json plain = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}};
  EXPECT_EQ(Assess(plain).state, State::kHealthy);
}

}  // namespace
}  // namespace plumbline::health
