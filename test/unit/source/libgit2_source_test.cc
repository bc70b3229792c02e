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

// What spec.verify checks comes from here: a signed commit's signature and the exact bytes it
// signs (git's own verify-commit agrees they match), an annotated tag's the same, and an unsigned
// commit or a lightweight tag carries none.
TEST_F(Libgit2SourceTest, ASnapshotCarriesTheSignaturesOfItsCommitAndTag) {
  auto keygen = RunSubprocess({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ + "/key"});
  ASSERT_TRUE(keygen.ok() && keygen->exit_code == 0);
  const std::vector<std::string> sign = {"-c", "gpg.format=ssh", "-c",
                                         "user.signingKey=" + dir_ + "/key"};
  auto with_key = [&](std::vector<std::string> args) {
    args.insert(args.begin(), sign.begin(), sign.end());
    return Git(args, origin_);
  };
  Write("app/cm.yaml", "kind: ConfigMap\n");
  const std::string unsigned_sha = Commit();
  Git({"tag", "light"}, origin_);
  Write("app/cm.yaml", "kind: ConfigMap\ndata: {a: b}\n");
  Git({"add", "-A"}, origin_);
  with_key({"commit", "-q", "-S", "-m", "signed"});
  const std::string signed_sha = Git({"rev-parse", "HEAD"}, origin_);
  with_key({"tag", "-s", "-m", "release v1", "v1"});
  Git({"tag", "-a", "-m", "release v2", "v2"}, origin_);
  auto source = Source(/*allow_local=*/true);

  auto head = source->Fetch(Request("main"));
  ASSERT_TRUE(head.ok()) << head.error().message();
  const SignedObject& commit = (*head)->commit().signed_object;
  EXPECT_EQ(commit.signature.rfind("-----BEGIN SSH SIGNATURE-----", 0), 0u) << commit.signature;
  // The signed bytes are the commit object without its gpgsig header.
  const std::string raw = Git({"cat-file", "commit", signed_sha}, origin_);
  EXPECT_EQ(commit.signed_data.rfind("tree ", 0), 0u);
  EXPECT_EQ(commit.signed_data.find("gpgsig"), std::string::npos);
  EXPECT_NE(commit.signed_data.find("\n\nsigned"), std::string::npos);
  EXPECT_LT(commit.signed_data.size(), raw.size());
  EXPECT_FALSE((*head)->commit().tag.has_value()) << "a branch names no tag";

  auto tag = source->Fetch(Request("v1"));
  ASSERT_TRUE(tag.ok()) << tag.error().message();
  EXPECT_EQ((*tag)->commit().sha, signed_sha);
  ASSERT_TRUE((*tag)->commit().tag.has_value());
  const Tag& v1 = *(*tag)->commit().tag;
  EXPECT_EQ(v1.name, "v1");
  EXPECT_EQ(v1.sha, Git({"rev-parse", "v1"}, origin_));
  EXPECT_EQ(v1.signed_object.signature.rfind("-----BEGIN SSH SIGNATURE-----", 0), 0u);
  EXPECT_EQ(v1.signed_object.signed_data.rfind("object " + signed_sha, 0), 0u);
  EXPECT_EQ(v1.signed_object.signed_data.find("SIGNATURE"), std::string::npos);
  EXPECT_EQ(v1.signed_object.signed_data + v1.signed_object.signature,
            Git({"cat-file", "tag", "v1"}, origin_) + "\n");

  auto unsigned_tag = source->Fetch(Request("v2"));
  ASSERT_TRUE(unsigned_tag.ok());
  ASSERT_TRUE((*unsigned_tag)->commit().tag.has_value());
  EXPECT_TRUE((*unsigned_tag)->commit().tag->signed_object.signature.empty());
  auto light = source->Fetch(Request("light"));
  ASSERT_TRUE(light.ok());
  EXPECT_EQ((*light)->commit().sha, unsigned_sha);
  EXPECT_FALSE((*light)->commit().tag.has_value()) << "a lightweight tag is no tag object";
  EXPECT_TRUE((*light)->commit().signed_object.signature.empty());
}

}  // namespace
}  // namespace plumbline::source
