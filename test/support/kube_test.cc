#include "support/kube_test.h"

#include <random>
#include <thread>

#include "kube/config.h"
#include "support/control_plane.h"

namespace plumbline::testing {

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(10);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
  }
}

std::unique_ptr<kube::Client> NewTestClient(const kube::ClientOptions& options) {
  auto config = kube::LoadKubeconfig({ControlPlane::Get()->kubeconfig()}, "");
  EXPECT_TRUE(config.ok()) << config.error().message();
  if (!config.ok()) return nullptr;
  auto client = kube::Client::Create(*config, options);
  EXPECT_TRUE(client.ok()) << client.error().message();
  return client.ok() ? std::move(*client) : nullptr;
}

void KubeTest::SetUp() {
  kube::ClientOptions options;
  options.qps = 0;  // tests create objects in bulk
  client_ = NewTestClient(options);
  ASSERT_NE(client_, nullptr);
  static std::mt19937_64 rng{std::random_device{}()};
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  namespace_ = "t-";
  for (int i = 0; i < 8; ++i) namespace_ += alphabet[rng() % 36];
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", namespace_}}}};
  auto created = client_->Apply(ns);
  ASSERT_TRUE(created.ok()) << created.error().message();
}

void KubeTest::TearDown() {
  if (!client_ || namespace_.empty()) return;
  auto ns = client_->Resource({"", "v1", "Namespace"});
  if (ns.ok()) (void)client_->Delete(*ns, "", namespace_);
}

Json KubeTest::ConfigMap(const std::string& name, const Json& data) const {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", namespace_}}},
          {"data", data}};
}

}  // namespace plumbline::testing

namespace plumbline::testing {

kube::ResourceInfo KubeTest::ConfigMaps() {
  auto res = client_->Resource({"", "v1", "ConfigMap"});
  EXPECT_TRUE(res.ok()) << res.error().message();
  return res.ok() ? *res : kube::ResourceInfo{};
}

std::vector<std::string> KubeTest::Warnings(const std::string& reason,
                                            const std::string& involved) {
  std::vector<std::string> out;
  auto events = client_->Resource({"", "v1", "Event"});
  if (!events.ok()) return out;
  auto list = client_->List(*events, namespace_);
  if (!list.ok()) return out;
  for (const auto& e : list->items) {
    if ((involved.empty() || e["involvedObject"].value("name", "") == involved) &&
        e.value("type", "") == "Warning" && e.value("reason", "") == reason) {
      out.push_back(e.value("message", ""));
    }
  }
  return out;
}

bool KubeTest::WarnedWith(const std::string& reason, const std::string& part) {
  for (const auto& message : Warnings(reason)) {
    if (message.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace plumbline::testing
