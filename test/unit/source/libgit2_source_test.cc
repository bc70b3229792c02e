// The libgit2 source against repositories on disk (file:// URLs, allowed here): local URLs are
// refused unless allowed, the cache is never a remote, a cached commit needs the remote's
// consent, and ReadDir reads only what it is asked for, by size first.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/subprocess.h"
#include "source/git_source.h"
#include "source/shared_fetcher.h"

namespace plumbline::source {
namespace {

namespace fs = std::filesystem;

TEST(IsLocalRepoUrl, FileUrlsAndPathsAreLocalRemotesAreNot) {
  for (const char* local : {"file:///srv/repo", "FILE:///srv/repo", "file://localhost/srv/repo",
                            "/srv/repo", "./repo", "repo", "../repo", "/srv/a:b", "./a:b"}) {
    EXPECT_TRUE(IsLocalRepoUrl(local)) << local;
  }
  for (const char* remote : {"https://h/r.git", "http://h/r", "ssh://git@h:22/r", "git://h/r",
                             "git@github.com:o/r.git", "h:r", "ssh+git://h/r"}) {
    EXPECT_FALSE(IsLocalRepoUrl(remote)) << remote;
  }
}

TEST(AuthFingerprint, DiffersWithEveryCredential) {
  GitAuth none;
  GitAuth alice{"alice", "s3cret", "", "", "", ""};
  GitAuth bob{"bob", "s3cret", "", "", "", ""};
  GitAuth token{"", "", "tok", "", "", ""};
  EXPECT_EQ(AuthFingerprint(alice), AuthFingerprint(GitAuth{"alice", "s3cret", "", "", "", ""}));
  EXPECT_NE(AuthFingerprint(none), AuthFingerprint(alice));
  EXPECT_NE(AuthFingerprint(alice), AuthFingerprint(bob));
  EXPECT_NE(AuthFingerprint(none), AuthFingerprint(token));
  // Fields do not run into each other.
  EXPECT_NE(AuthFingerprint(GitAuth{"ab", "c", "", "", "", ""}),
            AuthFingerprint(GitAuth{"a", "bc", "", "", "", ""}));
}

class EmptySnapshot : public Snapshot {
 public:
  const Commit& commit() const override { return commit_; }
  Result<std::vector<File>> ReadDir(const std::string&, const ReadOptions&) const override {
    return std::vector<File>{};
  }

 private:
  Commit commit_;
};

// A GitSource that answers by the request's password and counts its fetches.
class FakeSource : public GitSource {
 public:
  Result<std::shared_ptr<const Snapshot>> Fetch(const FetchRequest& request) override {
    ++fetches;
    if (request.auth.password != "s3cret") {
      return Error(ErrorCode::kUnavailable, "authentication failed");
    }
    return std::shared_ptr<const Snapshot>(std::make_shared<EmptySnapshot>());
  }
  Result<RevertResult> Revert(const RevertRequest&) override {
    return Error(ErrorCode::kInternal, "unused");
  }
  int fetches = 0;
};

TEST(SharedFetcher, NeverHandsOneTenantsFetchToOtherCredentials) {
  FakeSource fake;
  SharedFetcher fetcher(fake);
  FetchRequest a{"https://h/private", "main", GitAuth{"alice", "s3cret", "", "", "", ""}};
  FetchRequest b{"https://h/private", "main", GitAuth{}};
  ASSERT_TRUE(fetcher.Fetch(a, std::chrono::hours(1)).ok());
  EXPECT_FALSE(fetcher.Fetch(b, std::chrono::hours(1)).ok());
  EXPECT_EQ(fake.fetches, 2);
  ASSERT_TRUE(fetcher.Fetch(a, std::chrono::hours(1)).ok());  // shared within the interval
  EXPECT_EQ(fake.fetches, 2);
}

std::string Git(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> argv{
      "git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunSubprocess(argv);
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.error().message());
  std::string out = r.ok() ? r->out : "";
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Libgit2SourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/plumbline-source-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    origin_ = dir_ + "/origin";
    fs::create_directories(origin_);
    Git({"init", "-q", "-b", "main"}, origin_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& path, const std::string& content) {
    fs::create_directories(fs::path(origin_ + "/" + path).parent_path());
    std::ofstream(origin_ + "/" + path, std::ios::binary) << content;
  }
  std::string Commit() {
    Git({"add", "-A"}, origin_);
    Git({"commit", "-q", "-m", "c"}, origin_);
    return Git({"rev-parse", "HEAD"}, origin_);
  }
  std::unique_ptr<GitSource> Source(bool allow_local) {
    SourceOptions options;
    options.allow_local_repos = allow_local;
    return NewLibgit2Source(dir_ + "/cache", options);
  }
  FetchRequest Request(const std::string& revision, GitAuth auth = {}) {
    FetchRequest r;
    r.url = "file://" + origin_;
    r.revision = revision;
    r.auth = std::move(auth);
    r.timeout = std::chrono::seconds(20);
    return r;
  }

  std::string dir_, origin_;
};

TEST_F(Libgit2SourceTest, LocalRepositoriesAreRefusedUnlessAllowed) {
  Write("app/cm.yaml", "kind: ConfigMap\n");
  Commit();
  auto refused = Source(false)->Fetch(Request("main"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("--allow-local-repos"), std::string::npos)
      << refused.error().message();
  FetchRequest path = Request("main");
  path.url = origin_;
  EXPECT_FALSE(Source(false)->Fetch(path).ok());
  EXPECT_TRUE(Source(true)->Fetch(Request("main")).ok());
}

TEST_F(Libgit2SourceTest, TheCacheIsNeverARemoteEvenWhenLocalRepositoriesAreAllowed) {
  Write("app/cm.yaml", "kind: ConfigMap\n");
  Commit();
  auto source = Source(true);
  ASSERT_TRUE(source->Fetch(Request("main")).ok());
  std::vector<std::string> cached;
  for (const auto& e : fs::directory_iterator(dir_ + "/cache")) {
    if (e.path().extension() == ".git") cached.push_back(e.path().string());
  }
  ASSERT_EQ(cached.size(), 1u);
  for (const std::string& url : {"file://" + cached[0], cached[0], dir_ + "/cache/../cache/x",
                                 "file://" + dir_ + "/%63ache/x"}) {
    FetchRequest r = Request("main");
    r.url = url;
    auto fetched = source->Fetch(r);
    ASSERT_FALSE(fetched.ok()) << url;
    EXPECT_NE(fetched.error().message().find("inside the git cache"), std::string::npos)
        << fetched.error().message();
  }
}

TEST_F(Libgit2SourceTest, EachCredentialGetsItsOwnCacheRepository) {
  Write("app/cm.yaml", "kind: ConfigMap\n");
  Commit();
  auto source = Source(true);
  ASSERT_TRUE(source->Fetch(Request("main")).ok());
  ASSERT_TRUE(source->Fetch(Request("main", GitAuth{"alice", "s3cret", "", "", "", ""})).ok());
  int repos = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/cache")) {
    repos += e.path().extension() == ".git";
  }
  EXPECT_EQ(repos, 2);
}

TEST_F(Libgit2SourceTest, ACachedCommitIsServedOnlyWhileTheRemoteAnswers) {
  Write("app/cm.yaml", "kind: ConfigMap\n");
  const std::string sha = Commit();
  auto source = Source(true);
  ASSERT_TRUE(source->Fetch(Request(sha)).ok());
  ASSERT_TRUE(source->Fetch(Request(sha)).ok());
  fs::rename(origin_, dir_ + "/gone");
  auto offline = source->Fetch(Request(sha));
  EXPECT_FALSE(offline.ok()) << "served from the cache without the remote";
}

TEST_F(Libgit2SourceTest, ReadDirReadsOnlyWantedFilesAndChecksTheSizeFirst) {
  Write("app/cm.yaml", "kind: ConfigMap\n");
  Write("app/notes.txt", "not a manifest\n");
  Write("app/sub/big.yaml", std::string(2000, '#'));
  Commit();
  auto snapshot = Source(true)->Fetch(Request("main"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message();

  auto all = (*snapshot)->ReadDir("app", ReadOptions{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);

  ReadOptions yaml_only;
  yaml_only.wanted = [](const std::string& path) {
    return path.size() > 5 && path.compare(path.size() - 5, 5, ".yaml") == 0;
  };
  auto some = (*snapshot)->ReadDir("app", yaml_only);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].path, "app/cm.yaml");
  EXPECT_EQ((*some)[1].path, "app/sub/big.yaml");

  yaml_only.max_file_bytes = 1000;
  auto over = (*snapshot)->ReadDir("app", yaml_only);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message(), "app/sub/big.yaml: file is 2000 bytes, over the limit of 1000");
  // A large file nobody wants is no error.
  yaml_only.wanted = [](const std::string& path) { return path == "app/cm.yaml"; };
  EXPECT_TRUE((*snapshot)->ReadDir("app", yaml_only).ok());
}

}  // namespace
}  // namespace plumbline::source
