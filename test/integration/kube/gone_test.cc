// Re-listing after 410 Gone. This binary's control plane serves watches from etcd (no watch
// cache) and compacts etcd every few seconds, so an old resourceVersion really expires.
#include <gtest/gtest.h>

#include "kube/errors.h"
#include "kube/watch.h"
#include "support/control_plane.h"
#include "support/kube_test.h"
#include "support/watch_recorder.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::KubeTest;
using testing::WatchRecorder;

class GoneTest : public KubeTest {
 protected:
  // True once a raw watch from resourceVersion 1 is refused with 410.
  bool OldVersionIsGone() {
    kube::WatchOptions ancient;
    ancient.resource_version = "1";
    auto stream = client_->Watch(ConfigMaps(), namespace_, ancient);
    if (!stream.ok()) return kube::IsGone(stream.error());
    auto first = (*stream)->Next();
    return first.ok() && first->has_value() && (*first)->type == kube::WatchEvent::Type::kError &&
           (*first)->object.value("code", 0) == 410;
  }
};

TEST_F(GoneTest, RelistsWhenTheResourceVersionIsGone) {
  ASSERT_TRUE(client_->Apply(ConfigMap("existing", {{"v", "1"}})).ok());
  // Wait for etcd's compaction to pass resourceVersion 1; from then on a watch from it is 410.
  ASSERT_TRUE(Eventually([&] { return OldVersionIsGone(); }, std::chrono::seconds(60)));

  WatchRecorder rec;
  kube::ListWatchOptions options;
  options.ns = namespace_;
  options.initial_resource_version = "1";
  kube::ListWatcher watcher(*client_, ConfigMaps(), options, rec.Handlers());
  watcher.Start();
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(rec.mu);
    return rec.list_calls == 1 && rec.listed.count("existing") == 1;
  }));
  ASSERT_TRUE(client_->Apply(ConfigMap("later", {{"v", "1"}})).ok());
  // Normally an ADDED event. On a loaded machine compaction can also pass the list's version
  // before the watch opens: then a second 410 and a re-list that holds the object.
  ASSERT_TRUE(Eventually([&] {
    if (rec.Saw("ADDED later")) return true;
    std::lock_guard<std::mutex> lock(rec.mu);
    return rec.list_calls > 1 && rec.listed.count("later") == 1;
  }));
}

}  // namespace
}  // namespace plumbline

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  plumbline::testing::ControlPlaneOptions options;
  options.apiserver_args = {"--watch-cache=false", "--etcd-compaction-interval=2s"};
  plumbline::testing::AddControlPlaneEnvironment(options);
  return RUN_ALL_TESTS();
}
