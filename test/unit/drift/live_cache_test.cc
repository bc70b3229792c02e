// The live cache against an in-memory API: one list and one watch per kind however many
// Applications use it, only labelled objects, events passed on, and a kind nobody uses unwatched.
#include "drift/live_cache.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "fakes/fake_kube_client.h"

namespace plumbline::drift {
namespace {

using namespace std::chrono_literals;
using plumbline::testing::FakeKubeClient;

Json ConfigMap(const std::string& name, const std::string& owner) {
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", name}, {"namespace", "team"}}},
             {"data", {{"color", "blue"}}}};
  if (!owner.empty()) {
    cm["metadata"]["labels"] = {{"plumbline.dev/app", owner},
                                {"plumbline.dev/app-namespace", "team"}};
  }
  return cm;
}

apply::ObjectKey Key(const std::string& name) { return {"", "v1", "ConfigMap", "team", name}; }

template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 10000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

class LiveCacheTest : public ::testing::Test {
 protected:
  LiveCacheTest()
      : cache_(
            kube_, log_, {"plumbline.dev/app", "plumbline.dev/app-namespace"},
            [this](const apply::ObjectKey& key, const std::string& app, const Json* object, bool) {
              std::lock_guard<std::mutex> lock(mu_);
              seen_.push_back((object ? "set " : "gone ") + key.name + " of " + app);
            }) {}

  kube::ResourceInfo ConfigMaps() { return *kube_.Resource({"", "v1", "ConfigMap"}); }
  std::vector<std::string> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  FakeKubeClient kube_;
  std::ostringstream logs_;
  log::Logger log_{logs_, log::Format::kText};
  std::mutex mu_;
  std::vector<std::string> seen_;
  LiveCache cache_;
};

TEST_F(LiveCacheTest, KnowsOnlyLabelledObjectsAndFollowsTheirChanges) {
  kube_.Put(ConfigMap("ours", "web"));
  kube_.Put(ConfigMap("foreign", ""));
  cache_.Use("team/web", {ConfigMaps()});
  ASSERT_TRUE(cache_.WaitSynced({{"", "v1", "ConfigMap"}}, std::chrono::steady_clock::now() + 10s));

  auto ours = cache_.Lookup(Key("ours"));
  ASSERT_TRUE(ours.has_value());
  EXPECT_EQ(ours->app, "team/web");
  EXPECT_EQ(ours->resource_version,
            (*kube_.Stored("v1", "ConfigMap", "team", "ours"))["metadata"]["resourceVersion"]);
  EXPECT_FALSE(cache_.Lookup(Key("foreign")).has_value());

  // A change made by someone else reaches the cache and the sink without a request.
  Json changed = *kube_.Stored("v1", "ConfigMap", "team", "ours");
  changed["data"]["color"] = "red";
  const std::string version = kube_.Put(changed)["metadata"]["resourceVersion"];
  EXPECT_TRUE(Eventually([&] {
    auto ours = cache_.Lookup(Key("ours"));
    return ours && ours->resource_version == version;
  }));
  ASSERT_TRUE(kube_.Delete(ConfigMaps(), "team", "ours", {}).ok());
  EXPECT_TRUE(Eventually([&] { return !cache_.Lookup(Key("ours")).has_value(); }));
  EXPECT_TRUE(Eventually([&] { return Seen().size() >= 3; }));
  EXPECT_EQ(Seen(), (std::vector<std::string>{"set ours of team/web", "set ours of team/web",
                                              "gone ours of team/web"}));
}

TEST_F(LiveCacheTest, OneWatchPerKindWhoeverUsesItAndNoneOnceNobodyDoes) {
  kube_.Put(ConfigMap("ours", "web"));
  cache_.Use("team/web", {ConfigMaps()});
  cache_.Use("team/api", {ConfigMaps()});
  ASSERT_TRUE(cache_.WaitSynced({{"", "v1", "ConfigMap"}}, std::chrono::steady_clock::now() + 10s));
  EXPECT_EQ(cache_.watches(), 1u);
  EXPECT_EQ(kube_.Count("list"), 1);
  EXPECT_TRUE(Eventually([&] { return kube_.Count("watch") == 1; }));

  cache_.Use("team/web", {});
  EXPECT_EQ(cache_.watches(), 1u);  // api still renders ConfigMaps
  EXPECT_EQ(cache_.objects(), 1u);
  cache_.Use("team/api", {});
  EXPECT_EQ(cache_.watches(), 0u);
  EXPECT_EQ(cache_.objects(), 0u);  // what nobody watches is not kept
}

}  // namespace
}  // namespace plumbline::drift
