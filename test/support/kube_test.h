// Base fixture for tests against the real control plane: a client for the test binary's
// control plane and a fresh namespace per test, plus a bounded poll for eventual conditions.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "kube/client.h"

namespace plumbline::testing {

// Polls `condition` until it holds or `timeout` passes; never a fixed sleep.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A client for the control plane with the given options.
std::unique_ptr<kube::Client> NewTestClient(const kube::ClientOptions& options = {});

class KubeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A ConfigMap object in this test's namespace.
  Json ConfigMap(const std::string& name, const Json& data) const;
  // The ConfigMap resource, from discovery.
  kube::ResourceInfo ConfigMaps();
  // The messages of the Warning Events with `reason` in this test's namespace (about the object
  // named `involved`, when given).
  std::vector<std::string> Warnings(const std::string& reason, const std::string& involved = "");
  // Whether one of them holds `part`.
  bool WarnedWith(const std::string& reason, const std::string& part);

  std::unique_ptr<kube::Client> client_;
  std::string namespace_;
};

}  // namespace plumbline::testing
