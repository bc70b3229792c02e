// Paginated lists and watches against the real API server: events, server timeouts, client idle
// cuts, and re-listing after 410 Gone.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include "kube/errors.h"
#include "kube/watch.h"
#include "support/kube_test.h"
#include "support/watch_recorder.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::KubeTest;
using testing::NewTestClient;
using testing::WatchRecorder;

class ListWatchTest : public KubeTest {
 protected:
};

TEST_F(ListWatchTest, ListsTwelveHundredConfigMapsInPages) {
  std::atomic<int> list_requests{0};
  kube::ClientOptions options;
  options.qps = 0;
  options.on_request = [&](const kube::RequestRecord& r) {
    if (r.verb == "list") ++list_requests;
  };
  auto client = NewTestClient(options);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 1200; ++i) {
    auto created = client->Create(ConfigMap("cm-" + std::to_string(i), {{"i", std::to_string(i)}}));
    ASSERT_TRUE(created.ok()) << created.error().message();
  }
  kube::ListOptions page_of_500;
  page_of_500.limit = 500;
  auto all = client->List(ConfigMaps(), namespace_, page_of_500);
  ASSERT_TRUE(all.ok()) << all.error().message();
  std::set<std::string> names;
  for (const auto& item : all->items) {
    names.insert(item["metadata"]["name"]);
    EXPECT_EQ(item["kind"], "ConfigMap");
  }
  // kube-root-ca.crt is published only by kube-controller-manager, which is not running here.
  EXPECT_EQ(names.size(), 1200u);
  EXPECT_EQ(all->items.size(), 1200u);
  EXPECT_EQ(list_requests.load(), 3);  // 500 + 500 + 200
  EXPECT_FALSE(all->resource_version.empty());
}

TEST_F(ListWatchTest, SeesAddModifyDeleteAcrossServerWatchTimeouts) {
  WatchRecorder rec;
  kube::ListWatchOptions options;
  options.ns = namespace_;
  options.watch_timeout_seconds = 1;  // the server ends each watch after a second
  kube::ListWatcher watcher(*client_, ConfigMaps(), options, rec.Handlers());
  watcher.Start();
  ASSERT_TRUE(Eventually([&] { return watcher.watches() >= 1; }));

  ASSERT_TRUE(client_->Apply(ConfigMap("a", {{"v", "1"}})).ok());
  ASSERT_TRUE(Eventually([&] { return rec.Saw("ADDED a"); }));
  // Let the server time the watch out at least twice; the watcher must carry on.
  ASSERT_TRUE(Eventually([&] { return watcher.watches() >= 3; }));
  ASSERT_TRUE(client_->Apply(ConfigMap("a", {{"v", "2"}})).ok());
  ASSERT_TRUE(Eventually([&] { return rec.Saw("MODIFIED a=2"); }));
  ASSERT_TRUE(client_->Delete(ConfigMaps(), namespace_, "a").ok());
  ASSERT_TRUE(Eventually([&] { return rec.Saw("DELETED a"); }));
  watcher.Stop();
  // Re-watching resumed from the last resourceVersion: one list, no event seen twice.
  EXPECT_EQ(watcher.lists(), 1);
  std::lock_guard<std::mutex> lock(rec.mu);
  EXPECT_EQ(rec.events, (std::vector<std::string>{"ADDED a", "MODIFIED a=2", "DELETED a"}));
}

TEST_F(ListWatchTest, SurvivesTheClientIdleTimeoutCuttingAQuietWatch) {
  kube::ClientOptions options;
  options.qps = 0;
  options.watch_idle_timeout = std::chrono::seconds(1);  // cpprestsdk cuts a silent stream
  auto client = NewTestClient(options);
  ASSERT_NE(client, nullptr);
  WatchRecorder rec;
  std::atomic<int> errors{0};
  auto handlers = rec.Handlers();
  handlers.on_error = [&](const Error&) { ++errors; };
  kube::ListWatchOptions lw;
  lw.ns = namespace_;
  lw.watch_timeout_seconds = 300;  // the server would keep it open for minutes
  kube::ListWatcher watcher(*client, ConfigMaps(), lw, handlers);
  watcher.Start();
  ASSERT_TRUE(Eventually([&] { return watcher.watches() >= 3; }));
  EXPECT_GE(errors.load(), 1);  // the cut is reported...
  ASSERT_TRUE(client_->Apply(ConfigMap("after-cut", {{"v", "1"}})).ok());
  ASSERT_TRUE(Eventually([&] { return rec.Saw("ADDED after-cut"); }));  // ...and survived
  EXPECT_EQ(watcher.lists(), 1);
}

TEST_F(ListWatchTest, WatchFiltersByLabelSelector) {
  WatchRecorder rec;
  kube::ListWatchOptions options;
  options.ns = namespace_;
  options.label_selector = "plumbline.dev/name=app1";
  kube::ListWatcher watcher(*client_, ConfigMaps(), options, rec.Handlers());
  watcher.Start();
  ASSERT_TRUE(Eventually([&] { return watcher.watches() >= 1; }));
  Json unlabelled = ConfigMap("other", {{"v", "1"}});
  Json labelled = ConfigMap("mine", {{"v", "1"}});
  labelled["metadata"]["labels"] = {{"plumbline.dev/name", "app1"}};
  ASSERT_TRUE(client_->Apply(unlabelled).ok());
  ASSERT_TRUE(client_->Apply(labelled).ok());
  ASSERT_TRUE(Eventually([&] { return rec.Saw("ADDED mine"); }));
  EXPECT_FALSE(rec.Saw("ADDED other"));
}

// The Secret watch of the controller: a change to any Secret is seen, and no Secret's data is
// ever sent to it.
TEST_F(ListWatchTest, MetadataOnlyListsAndWatchesCarryNoData) {
  auto secrets = client_->Resource({"", "v1", "Secret"});
  ASSERT_TRUE(secrets.ok());
  auto secret = [&](const std::string& name, const std::string& value) {
    return Json{{"apiVersion", "v1"},
                {"kind", "Secret"},
                {"metadata", {{"name", name}, {"namespace", namespace_}}},
                {"stringData", {{"password", value}}}};
  };
  ASSERT_TRUE(client_->Apply(secret("before", "listed")).ok());

  std::mutex mu;
  std::vector<std::string> seen;  // "LIST name", "ADDED name", "MODIFIED name"
  int with_data = 0;
  kube::ListWatchOptions options;
  options.ns = namespace_;
  options.metadata_only = true;
  auto note = [&](const std::string& what, const Json& object) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(what + " " + object["metadata"].value("name", ""));
    if (object.contains("data") || object.contains("stringData")) ++with_data;
  };
  kube::ListWatcher watcher(*client_, *secrets, options,
                            {[&](const std::vector<Json>& items) {
                               for (const auto& item : items) note("LIST", item);
                             },
                             [&](const kube::WatchEvent& e) {
                               note(e.type == kube::WatchEvent::Type::kAdded ? "ADDED" : "MODIFIED",
                                    e.object);
                             },
                             nullptr});
  watcher.Start();
  auto saw = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(seen.begin(), seen.end(), what) != seen.end();
  };
  ASSERT_TRUE(Eventually([&] { return saw("LIST before"); }));
  ASSERT_TRUE(Eventually([&] { return watcher.watches() >= 1; }));
  ASSERT_TRUE(client_->Apply(secret("after", "one")).ok());
  ASSERT_TRUE(Eventually([&] { return saw("ADDED after"); }));
  ASSERT_TRUE(client_->Apply(secret("after", "two")).ok());
  ASSERT_TRUE(Eventually([&] { return saw("MODIFIED after"); }));
  watcher.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(with_data, 0) << "a metadata-only list or watch delivered a Secret's data";
}

}  // namespace
}  // namespace plumbline
