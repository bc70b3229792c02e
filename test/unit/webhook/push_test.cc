#include "webhook/push.h"

#include <gtest/gtest.h>

namespace plumbline::webhook {
namespace {

TEST(NormalizeRepoUrl, EveryFormOfOneRepositoryIsOneString) {
  for (const char* url :
       {"https://github.com/Org/Repo.git", "https://GitHub.com/Org/Repo",
        "http://github.com/Org/Repo/", "git@github.com:Org/Repo.git", "github.com:Org/Repo",
        "ssh://git@github.com/Org/Repo", "ssh://git@github.com:22/Org/Repo.git/",
        "https://user:token@github.com/Org/Repo.git", "git://github.com/Org/Repo",
        "  https://github.com/Org/Repo.git\n"}) {
    EXPECT_EQ(NormalizeRepoUrl(url), "github.com/Org/Repo") << url;
  }
  // Paths keep their case (hosts do not care, paths may) and non-default ports stay.
  EXPECT_NE(NormalizeRepoUrl("https://github.com/org/repo"), "github.com/Org/Repo");
  EXPECT_EQ(NormalizeRepoUrl("git://127.0.0.1:9419/team/deploy.git"), "127.0.0.1:9419/team/deploy");
  EXPECT_EQ(NormalizeRepoUrl("https://gitlab.example.com/group/sub/project.git"),
            "gitlab.example.com/group/sub/project");
}

TEST(ParsePush, GitHub) {
  auto push = ParseGitHub(R"({"ref": "refs/heads/main", "repository": {
      "clone_url": "https://github.com/o/r.git", "ssh_url": "git@github.com:o/r.git",
      "html_url": "https://github.com/o/r", "default_branch": "main"}})");
  ASSERT_TRUE(push.ok()) << push.error().message();
  EXPECT_EQ(push->branch, "main");
  EXPECT_EQ(push->default_branch, "main");
  EXPECT_EQ(push->repo_urls.size(), 3u);
  auto tag = ParseGitHub(R"({"ref": "refs/tags/v1", "repository": {"clone_url": "x"}})");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(tag->tag, "v1");
  EXPECT_EQ(tag->branch, "");
}

TEST(ParsePush, GitLab) {
  auto push = ParseGitLab(R"({"object_kind": "push", "ref": "refs/heads/prod", "project": {
      "git_http_url": "https://gitlab.com/g/p.git", "git_ssh_url": "git@gitlab.com:g/p.git"}})");
  ASSERT_TRUE(push.ok()) << push.error().message();
  EXPECT_EQ(push->branch, "prod");
  EXPECT_EQ(push->repo_urls,
            (std::vector<std::string>{"https://gitlab.com/g/p.git", "git@gitlab.com:g/p.git"}));
}

TEST(ParsePush, Generic) {
  auto branch = ParseGeneric(R"({"repoURL": "https://h/r.git", "revision": "main"})");
  ASSERT_TRUE(branch.ok());
  EXPECT_EQ(branch->branch, "main");
  auto any = ParseGeneric(R"({"repoURL": "https://h/r.git"})");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->branch, "");
  auto ref = ParseGeneric(R"({"repoURL": "https://h/r.git", "revision": "refs/heads/dev"})");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->branch, "dev");
}

TEST(ParsePush, BadPayloadsSayWhatIsWrong) {
  EXPECT_EQ(ParseGitHub("{not json").error().message(), "the body is not JSON");
  EXPECT_EQ(ParseGitHub("[1]").error().message(), "the body is not a JSON object");
  EXPECT_EQ(ParseGitHub("{}").error().message(), "not a push event: no repository");
  EXPECT_EQ(ParseGitHub(R"({"ref": "refs/heads/x", "repository": {}})").error().message(),
            "the payload names no repository URL");
  EXPECT_EQ(ParseGitHub(R"({"ref": "main", "repository": {"clone_url": "u"}})").error().message(),
            "ref \"main\" is not a branch or tag");
  EXPECT_EQ(ParseGitLab(R"({"ref": "refs/heads/x"})").error().message(),
            "not a push event: no project");
  EXPECT_EQ(ParseGeneric(R"({"revision": "main"})").error().message(), "repoURL is required");
  EXPECT_EQ(ParseGeneric(R"({"repoURL": 7})").error().message(), "repoURL is required");
}

TEST(Concerns, TheRepositoryAndTheTrackedRevisionMustMatch) {
  Push main_push;
  main_push.repo_urls = {"https://github.com/o/r.git", "git@github.com:o/r.git"};
  main_push.branch = "main";
  main_push.default_branch = "main";
  EXPECT_TRUE(Concerns(main_push, "ssh://git@github.com/o/r", "main"));
  EXPECT_TRUE(Concerns(main_push, "https://github.com/o/r", "refs/heads/main"));
  EXPECT_TRUE(Concerns(main_push, "https://github.com/o/r", ""));  // HEAD is main
  EXPECT_FALSE(Concerns(main_push, "https://github.com/o/r", "prod"));
  EXPECT_FALSE(Concerns(main_push, "https://github.com/o/other", "main"));
  EXPECT_FALSE(Concerns(main_push, "https://github.com/o/r", "v1.0"));

  Push dev_push = main_push;
  dev_push.branch = "dev";
  EXPECT_FALSE(Concerns(dev_push, "https://github.com/o/r", ""));  // HEAD is main, not dev
  dev_push.default_branch = "";
  EXPECT_TRUE(Concerns(dev_push, "https://github.com/o/r", ""));  // unknown HEAD: look again

  Push tag_push;
  tag_push.repo_urls = {"https://github.com/o/r"};
  tag_push.tag = "v1.0";
  EXPECT_TRUE(Concerns(tag_push, "https://github.com/o/r", "v1.0"));
  EXPECT_FALSE(Concerns(tag_push, "https://github.com/o/r", "main"));

  Push generic;
  generic.repo_urls = {"https://github.com/o/r"};
  EXPECT_TRUE(Concerns(generic, "git@github.com:o/r.git", "anything"));
}

}  // namespace
}  // namespace plumbline::webhook
