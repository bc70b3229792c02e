// The controller SIGKILLed in the middle of applying 300 objects, and again in the middle of
// pruning 200 of them, then restarted: it converges with nothing lost, nothing wrongly pruned and
// the inventory exact.
#include <chrono>
#include <cstdio>

#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

class KillFaultTest : public testing::ProcessTest {
 protected:
  int Managed() {
    kube::ListOptions selected;
    selected.label_selector = "plumbline.dev/name=web";
    auto list = client_->List(ConfigMaps(), namespace_, selected);
    return list.ok() ? static_cast<int>(list->items.size()) : -1;
  }

  size_t Inventory() {
    auto app = client_->Get(apps_, namespace_, "web");
    if (!app.ok()) return 0;
    return app->value("status", Json::object()).value("inventory", Json::array()).size();
  }

  // Roomy lease timings: 300 applies on a loaded machine must not cost the lease.
  testing::ControllerProcess& Start() {
    return StartReplica("replica-kill", {"--leader-lease-duration", "40s",
                                         "--leader-renew-deadline", "30s",
                                         "--leader-retry-period", "2s"});
  }

  void Kill() {
    replicas_["replica-kill"]->Signal(SIGKILL);
    ASSERT_TRUE(replicas_["replica-kill"]->Wait(std::chrono::seconds(30)).has_value());
  }
};

TEST_F(KillFaultTest, ASigkillMidApplyAndMidPruneLosesNothingAfterARestart) {
  constexpr int kObjects = 300, kKept = 100;
  const std::string url = daemon_->Url(namespace_ + "-many");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-many");
  for (int i = 0; i < kObjects; ++i) {
    repo.Write("app/cm" + std::to_string(i) + ".yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm" + std::to_string(i) +
                   "}\ndata: {i: \"" + std::to_string(i) + "\"}\n");
  }
  const std::string all = repo.Commit("300 ConfigMaps");
  // Not Plumbline's: must survive every prune.
  ASSERT_TRUE(client_->Apply(ConfigMap("bystander", {{"owner", "someone else"}})).ok());

  Start();
  ASSERT_TRUE(Eventually([&] { return Holder() == "replica-kill"; }));
  Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
              {"kind", "Application"},
              {"metadata", {{"name", "web"}, {"namespace", namespace_}}},
              {"spec", {{"source", {{"repoURL", url}, {"path", "app"}}},
                        {"destination", {{"namespace", namespace_}}},
                        {"interval", "2s"},
                        {"prune", true}}}};
  ASSERT_TRUE(client_->Apply(app).ok());

  // Mid-apply: the client's rate limit makes 300 applies take seconds.
  ASSERT_TRUE(Eventually([&] { return Managed() > 0; }, std::chrono::seconds(60)));
  Kill();
  const int at_kill = Managed();
  ASSERT_LT(at_kill, kObjects) << "the apply ended before the kill: nothing was in flight";
  auto restarted = std::chrono::steady_clock::now();
  Start();
  ASSERT_TRUE(Eventually([&] {
    return AppliedAt(all) && Managed() == kObjects && Inventory() == size_t(kObjects);
  }, std::chrono::seconds(120))) << Managed() << " objects, inventory " << Inventory();
  std::printf("SIGKILL mid-apply at %d of %d objects: converged %.1f s after the restart\n",
              at_kill, kObjects,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count());

  // Mid-prune: git drops 200 objects.
  for (int i = kKept; i < kObjects; ++i) repo.Remove("app/cm" + std::to_string(i) + ".yaml");
  const std::string kept = repo.Commit("keep 100");
  ASSERT_TRUE(Eventually([&] { return Managed() < kObjects; }, std::chrono::seconds(60)));
  Kill();
  const int at_prune_kill = Managed();
  ASSERT_GT(at_prune_kill, kKept) << "the prune ended before the kill: nothing was in flight";
  restarted = std::chrono::steady_clock::now();
  Start();
  ASSERT_TRUE(Eventually([&] {
    return AppliedAt(kept) && Managed() == kKept && Inventory() == size_t(kKept);
  }, std::chrono::seconds(120))) << Managed() << " objects, inventory " << Inventory();
  std::printf("SIGKILL mid-prune at %d objects left of %d: converged %.1f s after the restart\n",
              at_prune_kill, kObjects,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count());

  // Exactly the kept ones, and the bystander.
  for (int i = 0; i < kKept; ++i) {
    EXPECT_TRUE(client_->Get(ConfigMaps(), namespace_, "cm" + std::to_string(i)).ok()) << i;
  }
  EXPECT_TRUE(client_->Get(ConfigMaps(), namespace_, "bystander").ok());
}

}  // namespace
}  // namespace plumbline
