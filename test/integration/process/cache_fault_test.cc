// Faults in the git cache, which is an emptyDir and survives a container restart. Lock files a
// killed fetch leaves: `plumbline run` removes them at start-up, and while running it removes a
// lock that is old enough to have no live owner when a fetch fails on it (a fresh lock is left
// to its owner, and the failure says which file is locked). A corrupted pack file: the cache
// repository is fetched anew.
#include <filesystem>

#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

namespace fs = std::filesystem;

class CacheFaultTest : public testing::ProcessTest {
 protected:
  // The cache repository of this test's one remote (a bare repository under the cache dir).
  std::string CacheRepo(const std::string& cache_dir) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(cache_dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory() && fs::exists(it->path() / "refs" / "remotes" / "origin")) {
        return it->path().string();
      }
    }
    return "";
  }

  // Leaves the lock file a fetch killed during its ref update would leave, `age` old.
  void LeaveLock(const std::string& file, std::chrono::minutes age) {
    testing::WriteFile(file, "0000000000000000000000000000000000000000\n");
    fs::last_write_time(file, fs::file_time_type::clock::now() - age);
  }
};

TEST_F(CacheFaultTest, LocksLeftByAKilledFetchAreRecoveredAtStartAndWhenStale) {
  const std::string url = daemon_->Url(namespace_ + "-web");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string first = CommitConfig(repo, "1");
  ApplyApp(url, "1s");
  StartReplica("replica-lock");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); })) << replicas_["replica-lock"]->Log();

  // SIGKILL, as the kubelet does past the grace period; the fetch's locks stay on disk.
  replicas_["replica-lock"]->Signal(SIGKILL);
  ASSERT_TRUE(replicas_["replica-lock"]->Wait(std::chrono::seconds(30)).has_value());
  const std::string cache = CacheRepo(dir_ + "/cache-replica-lock");
  ASSERT_FALSE(cache.empty());
  const std::string ref_lock = cache + "/refs/remotes/origin/main.lock";
  LeaveLock(ref_lock, std::chrono::minutes(0));
  LeaveLock(cache + "/packed-refs.lock", std::chrono::minutes(0));

  // The restarted controller applies the next commit.
  const std::string second = CommitConfig(repo, "2");
  StartReplica("replica-lock");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(second); }, std::chrono::seconds(60)))
      << Ready() << "\n"
      << replicas_["replica-lock"]->Log();
  EXPECT_FALSE(fs::exists(ref_lock));

  // While it runs, a fresh lock belongs to someone: a clear FetchFailed naming the file.
  LeaveLock(ref_lock, std::chrono::minutes(0));
  const std::string third = CommitConfig(repo, "3");
  ASSERT_TRUE(Eventually([&] {
    const std::string m = Ready();
    return m.rfind("FetchFailed", 0) == 0 && m.find("main.lock") != std::string::npos;
  })) << Ready();
  EXPECT_EQ(LiveValue(), "2");
  // Once it is old enough to have no live owner, the next fetch removes it and goes on. (Asked
  // for at once, as `plumbline sync` does: the failures have backed the retries off.)
  fs::last_write_time(ref_lock, fs::file_time_type::clock::now() - std::chrono::minutes(10));
  Json sync = {{"apiVersion", "plumbline.dev/v1alpha1"},
               {"kind", "Application"},
               {"metadata",
                {{"name", "web"},
                 {"namespace", namespace_},
                 {"annotations", {{"plumbline.dev/requested-at", "after-the-lock-aged"}}}}}};
  kube::ApplyOptions as_sync;
  as_sync.field_manager = "plumbline-sync-test";
  ASSERT_TRUE(client_->Apply(sync, as_sync).ok());
  ASSERT_TRUE(Eventually([&] { return AppliedAt(third); }, std::chrono::seconds(60)))
      << Ready() << "\n"
      << replicas_["replica-lock"]->Log();
  EXPECT_EQ(LiveValue(), "3");
}

TEST_F(CacheFaultTest, ATruncatedPackFileIsFetchedAnew) {
  const std::string url = daemon_->Url(namespace_ + "-web");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string first = CommitConfig(repo, "1");
  ApplyApp(url, "1s");
  StartReplica("replica-pack");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(first); })) << replicas_["replica-pack"]->Log();

  // Every pack file in the cache loses its second half, as a full disk or a killed write leaves.
  const std::string cache = CacheRepo(dir_ + "/cache-replica-pack");
  ASSERT_FALSE(cache.empty());
  int truncated = 0;
  for (const auto& entry : fs::directory_iterator(cache + "/objects/pack")) {
    if (entry.path().extension() != ".pack") continue;
    fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
    ++truncated;
  }
  // Loose objects too, if the fetch left any.
  for (const auto& entry : fs::recursive_directory_iterator(cache + "/objects")) {
    if (entry.is_regular_file() && entry.path().parent_path().filename().string().size() == 2) {
      fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
      ++truncated;
    }
  }
  ASSERT_GT(truncated, 0);

  // The next commit is applied all the same, and nothing live was lost on the way.
  const std::string second = CommitConfig(repo, "2");
  ASSERT_TRUE(Eventually([&] { return AppliedAt(second); }, std::chrono::seconds(60)))
      << Ready() << "\n"
      << replicas_["replica-pack"]->Log();
  EXPECT_EQ(LiveValue(), "2");
}

}  // namespace
}  // namespace plumbline
