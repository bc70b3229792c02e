// The CLI verbs for people and pipelines (PRODUCT §7), end to end against the real control plane
// and the in-process controller: the same code `plumbline` runs, called with captured streams.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "cli/cli.h"
#include "support/cli_runner.h"
#include "support/control_plane.h"
#include "support/gitops_env.h"
#include "support/process.h"
#include "yaml/yaml_json.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::GitOpsTest;
using testing::GitRepo;
using testing::Ran;

class CliTest : public GitOpsTest {
 protected:
  // Runs `plumbline ARGS` against the test's control plane and namespace.
  Ran Plumbline(std::vector<std::string> args, const std::string& kubeconfig = "") {
    args.insert(args.end(),
                {"--kubeconfig",
                 kubeconfig.empty() ? testing::ControlPlane::Get()->kubeconfig() : kubeconfig});
    if (args[0] != "get" || std::find(args.begin(), args.end(), "-A") == args.end()) {
      args.insert(args.end(), {"-n", namespace_});
    }
    if (args[0] == "diff" || args[0] == "revert") {
      args.insert(args.end(), {"--cache-dir", testing::GitOpsEnvironment::Get()->repos_dir() +
                                                  "/../cli-" + namespace_});
    }
    return testing::RunCli(args);
  }

  std::string CommitConfig(GitRepo& repo, const std::string& v) {
    repo.Write("app/cm.yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
               "data: {v: \"" +
                   v + "\"}\n");
    return repo.Commit("config v" + v);
  }
  std::string Value() {
    Json cm = Live("v1", "ConfigMap", namespace_, "settings");
    return cm.is_null() ? "" : cm["data"].value("v", "");
  }
};

TEST_F(CliTest, GetSyncHistorySuspendAndResume) {
  std::string url;
  GitRepo repo = NewRepo("cli", &url);
  const std::string first = CommitConfig(repo, "1");
  ApplyApp("web", {{"source", {{"repoURL", url}, {"path", "app"}}},
                   {"destination", {{"namespace", namespace_}}},
                   {"interval", "1h"}});
  ASSERT_TRUE(ReadyAt("web", first));

  Ran get = Plumbline({"get"});
  ASSERT_EQ(get.code, 0) << get.err;
  EXPECT_NE(get.out.find("NAME"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("web"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find(first.substr(0, 12)), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("True"), std::string::npos) << get.out;
  Ran json = Plumbline({"get", "web", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  Json parsed = Json::parse(json.out);
  EXPECT_EQ(parsed["status"]["lastAppliedRevision"], first);
  Ran yaml = Plumbline({"get", "web", "-o", "yaml"});
  ASSERT_EQ(yaml.code, 0) << yaml.err;
  auto from_yaml = yaml::ParseDocument(yaml.out, "output");
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.error().message() << "\n" << yaml.out;
  EXPECT_EQ((*from_yaml)["status"], parsed["status"]);
  Ran all = Plumbline({"get", "-A"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_NE(all.out.find("NAMESPACE"), std::string::npos);
  EXPECT_NE(all.out.find(namespace_), std::string::npos);

  // The Application polls hourly: only the sync request explains the new commit applied.
  const std::string second = CommitConfig(repo, "2");
  Ran sync = Plumbline({"sync", "web", "--wait", "--timeout", "60s"});
  ASSERT_EQ(sync.code, 0) << sync.err;
  EXPECT_NE(sync.out.find("synced"), std::string::npos) << sync.out;
  EXPECT_EQ(Value(), "2");
  EXPECT_EQ(StatusOf(GetApp("web")).value("lastAppliedRevision", ""), second);

  Ran history = Plumbline({"history", "web"});
  ASSERT_EQ(history.code, 0) << history.err;
  auto newest = history.out.find(second.substr(0, 12));
  auto oldest = history.out.find(first.substr(0, 12));
  ASSERT_NE(newest, std::string::npos) << history.out;
  ASSERT_NE(oldest, std::string::npos) << history.out;
  EXPECT_LT(newest, oldest) << "newest first\n" << history.out;
  EXPECT_NE(history.out.find("config v2"), std::string::npos) << history.out;

  Ran suspend = Plumbline({"suspend", "web"});
  ASSERT_EQ(suspend.code, 0) << suspend.err;
  EXPECT_TRUE(GetApp("web")["spec"].value("suspend", false));
  EXPECT_TRUE(WaitApp(
      "web", [&](const Json& a) { return Cond(a, "Reconciling", "reason") == "Suspended"; }));
  Ran suspended = Plumbline({"get"});
  EXPECT_NE(suspended.out.find("SUSPENDED"), std::string::npos);
  EXPECT_NE(suspended.out.find("   True   "), std::string::npos) << suspended.out;
  CommitConfig(repo, "3");
  Ran resume = Plumbline({"resume", "web"});
  ASSERT_EQ(resume.code, 0) << resume.err;
  EXPECT_FALSE(GetApp("web")["spec"].value("suspend", true));
  Ran again = Plumbline({"sync", "web", "--wait", "--timeout", "60s"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(Value(), "3");
}

TEST_F(CliTest, EveryVerbHasHelpAndClearErrors) {
  for (const char* verb : {"get", "sync", "suspend", "resume", "history", "diff", "render",
                           "revert", "run", "version"}) {
    std::ostringstream out, err;
    EXPECT_EQ(cli::Main({verb, "--help"}, out, err), 0) << verb;
    EXPECT_NE(out.str().find(std::string("Usage: plumbline ") + verb), std::string::npos) << verb;
  }
  for (const char* verb : {"sync", "suspend", "resume", "history", "get"}) {
    Ran missing = Plumbline({verb, "no-such-app"});
    EXPECT_EQ(missing.code, 1) << verb;
    EXPECT_NE(missing.err.find("Application " + namespace_ + "/no-such-app not found"),
              std::string::npos)
        << verb << ": " << missing.err;
    EXPECT_EQ(GetApp("no-such-app"), Json()) << verb << " created the Application";
  }
  Ran usage = Plumbline({"sync"});
  EXPECT_EQ(usage.code, 2);
  Ran bad_flag = Plumbline({"get", "--nope"});
  EXPECT_EQ(bad_flag.code, 2);
  EXPECT_NE(bad_flag.err.find("unknown flag --nope"), std::string::npos);

  Ran no_config = Plumbline({"get"}, "/nonexistent/kubeconfig");
  EXPECT_EQ(no_config.code, 1);
  EXPECT_NE(no_config.err.find("kubeconfig \"/nonexistent/kubeconfig\" does not exist"),
            std::string::npos)
      << no_config.err;

  // A ServiceAccount with no rights: its token in a kubeconfig of its own.
  Json sa = {{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata", {{"name", "nobody"}, {"namespace", namespace_}}}};
  ASSERT_TRUE(client_->Apply(sa).ok());
  std::string bin = testing::MustRun(
      {std::string(PLUMBLINE_SOURCE_DIR) + "/hack/build-control-plane.sh", "--with-kubectl"});
  bin.erase(bin.find_last_not_of('\n') + 1);
  bin = bin.substr(bin.rfind('\n') + 1);
  std::string token = testing::MustRun({bin + "/kubectl", "--kubeconfig",
                                        testing::ControlPlane::Get()->kubeconfig(), "create",
                                        "token", "nobody", "-n", namespace_});
  token.erase(token.find_last_not_of('\n') + 1);
  const std::string kubeconfig = "/tmp/" + namespace_ + "-nobody.kubeconfig";
  testing::WriteFile(kubeconfig,
                     "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                     "clusters: [{name: c, cluster: {server: \"" +
                         client_->config().server + "\", certificate-authority: \"" +
                         testing::ControlPlane::Get()->dir() +
                         "/pki/ca.crt\"}}]\n"
                         "users: [{name: u, user: {token: \"" +
                         token +
                         "\"}}]\n"
                         "contexts: [{name: c, context: {cluster: c, user: u}}]\n");
  for (const char* verb : {"get", "sync", "history"}) {
    std::vector<std::string> args = {verb};
    if (std::string(verb) != "get") args.push_back("web");
    Ran denied = Plumbline(args, kubeconfig);
    EXPECT_EQ(denied.code, 1) << verb;
    EXPECT_NE(denied.err.find("forbidden"), std::string::npos) << verb << ": " << denied.err;
  }
  std::remove(kubeconfig.c_str());
}

TEST_F(CliTest, DiffShowsWhatWouldChangeMasksSecretsAndSaysSoInItsExitCode) {
  std::string url;
  GitRepo repo = NewRepo("diff", &url);
  CommitConfig(repo, "1");
  repo.Write("app/secret.yaml",
             "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n"
             "stringData: {password: hunter2, user: admin}\n");
  repo.Write("app/extra.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n"
             "data: {k: v}\n");
  const std::string first = repo.Commit("three objects");
  ApplyApp("web", {{"source", {{"repoURL", url}, {"path", "app"}}},
                   {"destination", {{"namespace", namespace_}}},
                   {"interval", "1h"},
                   {"prune", true}});
  ASSERT_TRUE(ReadyAt("web", first));

  Ran same = Plumbline({"diff", "web"});
  EXPECT_EQ(same.code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("No changes."), std::string::npos) << same.out;

  // A pull request: a new value, a new password, one object removed and one added.
  CommitConfig(repo, "2");
  repo.Write("app/secret.yaml",
             "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n"
             "stringData: {password: swordfish, user: admin}\n");
  repo.Remove("app/extra.yaml");
  repo.Write("app/fresh.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\n"
             "data: {k: new}\n");
  repo.Commit("the change");
  Ran changed = Plumbline({"diff", "web"});
  EXPECT_EQ(changed.code, 1) << changed.out << changed.err;
  const std::string& o = changed.out;
  EXPECT_NE(o.find("=== ConfigMap " + namespace_ + "/settings: configured\n"), std::string::npos)
      << o;
  EXPECT_NE(o.find("-  v: \"1\"\n+  v: \"2\"\n"), std::string::npos) << o;
  EXPECT_NE(o.find("=== Secret " + namespace_ + "/creds: configured\n"), std::string::npos) << o;
  EXPECT_NE(o.find("-  password: \"***\"\n+  password: \"*** (changed)\""), std::string::npos) << o;
  EXPECT_NE(o.find("=== ConfigMap " + namespace_ + "/fresh: created\n"), std::string::npos) << o;
  EXPECT_NE(o.find("=== ConfigMap " + namespace_ + "/extra: deleted (pruned)\n"), std::string::npos)
      << o;
  for (const char* secret : {"hunter2", "swordfish", "aHVudGVyMg", "c3dvcmRmaXNo", "YWRtaW4"}) {
    EXPECT_EQ(o.find(secret), std::string::npos) << secret << " leaked:\n" << o;
  }
  // A dry run: nothing changed in the cluster.
  EXPECT_EQ(Value(), "1");
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "fresh").is_null());
  EXPECT_FALSE(Live("v1", "ConfigMap", namespace_, "extra").is_null());

  // --local renders a checkout, uncommitted changes included.
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
             "data: {v: \"3\"}\n");
  Ran local = Plumbline({"diff", "web", "--local", repo.dir()});
  EXPECT_EQ(local.code, 1) << local.err;
  EXPECT_NE(local.out.find("+  v: \"3\"\n"), std::string::npos) << local.out;
  EXPECT_NE(local.out.find("local checkout"), std::string::npos) << local.out;

  repo.Write("app/cm.yaml", "data: [unclosed\n");
  Ran broken = Plumbline({"diff", "web", "--local", repo.dir()});
  EXPECT_EQ(broken.code, 2);
  EXPECT_NE(broken.err.find("app/cm.yaml"), std::string::npos) << broken.err;
  Ran nowhere = Plumbline({"diff", "web", "--local", "/nonexistent/checkout"});
  EXPECT_EQ(nowhere.code, 2);
  EXPECT_NE(nowhere.err.find("does not exist"), std::string::npos) << nowhere.err;
  Ran missing = Plumbline({"diff", "no-such-app"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("not found"), std::string::npos);

  // Once applied, git and the cluster agree again.
  Ran sync = Plumbline({"sync", "web", "--wait", "--timeout", "60s"});
  ASSERT_EQ(sync.code, 0) << sync.err;
  Ran after = Plumbline({"diff", "web"});
  EXPECT_EQ(after.code, 0) << after.out << after.err;
}

// A pull request that adds a CRD and a resource of its kind: the resource cannot be dry-run
// before its CRD exists, so it is shown as git has it. A kind nobody serves is an error, never
// silently left out of the diff.
TEST_F(CliTest, DiffShowsANewCustomResourceWithItsDefinitionAndRefusesAnUnknownKind) {
  std::string url;
  GitRepo repo = NewRepo("diff-crd", &url);
  const std::string first = CommitConfig(repo, "1");
  ApplyApp("web", {{"source", {{"repoURL", url}, {"path", "app"}}},
                   {"destination", {{"namespace", namespace_}}},
                   {"interval", "1h"}});
  ASSERT_TRUE(ReadyAt("web", first));

  const std::string group = namespace_ + ".example.com";  // groups of this test's own
  auto crd_yaml = [](const std::string& group, const std::string& versions) {
    std::string yaml =
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets." +
        group +
        "}\n"
        "spec:\n  group: " +
        group +
        "\n  scope: Namespaced\n"
        "  names: {kind: Widget, plural: widgets, singular: widget, "
        "listKind: WidgetList}\n  versions:\n";
    for (char v : versions) {
      yaml += std::string("  - name: v") + v +
              "\n    served: true\n    storage: " + (v == versions[0] ? "true" : "false") +
              "\n    schema: {openAPIV3Schema: {type: object, "
              "x-kubernetes-preserve-unknown-fields: true}}\n";
    }
    return yaml;
  };
  repo.Write("app/crd.yaml", crd_yaml(group, "1"));
  repo.Write("app/widget.yaml", "apiVersion: " + group +
                                    "/v1\nkind: Widget\n"
                                    "metadata: {name: gizmo}\nspec: {size: 3}\n");
  repo.Write("app/quiet.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: quiet\n"
             "  annotations: {plumbline.dev/reconcile: disabled}\n");
  Ran pr = Plumbline({"diff", "web", "--local", repo.dir()});
  EXPECT_EQ(pr.code, 1) << pr.out << pr.err;
  const std::string& o = pr.out;
  EXPECT_NE(o.find("=== CustomResourceDefinition widgets." + group + ": created\n"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("=== Widget " + namespace_ +
                   "/gizmo: created (its CustomResourceDefinition is "
                   "new"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("+  size: 3\n"), std::string::npos) << o;
  EXPECT_NE(o.find("+    plumbline.dev/name: web\n"), std::string::npos) << o;
  EXPECT_NE(o.find("=== ConfigMap quiet: reconcile disabled by annotation\n"), std::string::npos)
      << o;
  auto crds = client_->Resource({"apiextensions.k8s.io", "v1", "CustomResourceDefinition"});
  ASSERT_TRUE(crds.ok());
  EXPECT_FALSE(client_->Get(*crds, "", "widgets." + group).ok()) << "a diff must create nothing";

  // A kind nobody serves, beside a CRD whose fields have the wrong types: an error, no crash.
  repo.Write("app/typo.yaml", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: api}\n");
  repo.Write("app/odd-crd.yaml",
             "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
             "metadata: {name: odd}\nspec: {group: 7, names: {kind: [x]}, "
             "versions: [{name: 1, served: \"true\"}]}\n");
  Ran typo = Plumbline({"diff", "web", "--local", repo.dir()});
  EXPECT_EQ(typo.code, 2) << typo.out << typo.err;
  EXPECT_NE(typo.err.find("Deploymnet"), std::string::npos) << typo.err;
  std::filesystem::remove(repo.dir() + "/app/typo.yaml");  // never committed
  std::filesystem::remove(repo.dir() + "/app/odd-crd.yaml");

  // A CRD the cluster has, which the change makes serve a new version: the object may exist
  // already under the old one, so it is not shown as created; diff says what to do.
  const std::string served = "old-" + group;
  auto existing = yaml::ParseDocument(crd_yaml(served, "1"), "crd");
  ASSERT_TRUE(existing.ok());
  ASSERT_TRUE(client_->Apply(*existing).ok());
  repo.Write("app/crd.yaml", crd_yaml(served, "12"));
  repo.Write("app/widget.yaml", "apiVersion: " + served +
                                    "/v2\nkind: Widget\n"
                                    "metadata: {name: gizmo}\nspec: {size: 3}\n");
  Ran version = Plumbline({"diff", "web", "--local", repo.dir()});
  EXPECT_EQ(version.code, 2) << version.out << version.err;
  EXPECT_NE(version.err.find("CustomResourceDefinition widgets." + served + " exists"),
            std::string::npos)
      << version.err;
  EXPECT_EQ(version.out.find("gizmo: created"), std::string::npos) << version.out;
  EXPECT_TRUE(client_->Delete(*crds, "", "widgets." + served).ok());
}

TEST_F(CliTest, RevertRollsBackThroughGitAndRefusesWhenTheBranchMoved) {
  std::string url;
  GitRepo repo = NewRepo("revert", &url);
  // The daemon may update the checked-out branch of this working repository.
  testing::MustRun({"git", "config", "receive.denyCurrentBranch", "updateInstead"}, repo.dir());
  CommitConfig(repo, "1");
  const std::string bad = CommitConfig(repo, "2");
  ApplyApp("web", {{"source", {{"repoURL", url}, {"path", "app"}}},  // the remote's HEAD branch
                   {"destination", {{"namespace", namespace_}}},
                   {"interval", "1h"}});
  ASSERT_TRUE(ReadyAt("web", bad));
  ASSERT_EQ(Value(), "2");

  Ran revert =
      Plumbline({"revert", "web", "--author", "Release Bot <bot@example.com>", "--timeout", "60s"});
  ASSERT_EQ(revert.code, 0) << revert.out << revert.err;
  EXPECT_NE(revert.out.find("synced"), std::string::npos) << revert.out;
  EXPECT_EQ(Value(), "1");  // rolled back in the cluster
  const std::string reverted = repo.Head();
  EXPECT_NE(reverted, bad);
  EXPECT_EQ(StatusOf(GetApp("web")).value("lastAppliedRevision", ""), reverted);
  const std::string log =
      testing::MustRun({"git", "log", "-1", "--format=%an <%ae>%n%B"}, repo.dir());
  EXPECT_NE(log.find("Release Bot <bot@example.com>"), std::string::npos) << log;
  EXPECT_NE(log.find("Revert \"config v2\""), std::string::npos) << log;
  EXPECT_NE(log.find("This reverts commit " + bad + "."), std::string::npos) << log;

  // Someone pushes meanwhile: the branch is past what the Application applied.
  const std::string moved = CommitConfig(repo, "3");
  Ran refused = Plumbline({"revert", "web", "--timeout", "60s"});
  EXPECT_EQ(refused.code, 1) << refused.out;
  EXPECT_NE(refused.err.find("past " + reverted.substr(0, 12)), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(repo.Head(), moved) << "nothing may be pushed after a refusal";

  // --force reverts anyway, on top of the moved branch.
  Ran forced = Plumbline({"revert", "web", moved, "--force", "--timeout", "60s"});
  ASSERT_EQ(forced.code, 0) << forced.out << forced.err;
  EXPECT_NE(repo.Head(), moved);
  EXPECT_EQ(StatusOf(GetApp("web")).value("lastAppliedRevision", ""), repo.Head());
  EXPECT_EQ(Value(), "1");

  Ran missing = Plumbline({"revert", "no-such-app"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos);
}

// Deploying by merging pull requests makes the last applied commit a merge: its revert goes
// back to the first parent, undoing the pull request and keeping what main had meanwhile.
TEST_F(CliTest, RevertOfAMergeCommitUndoesThePullRequestOnly) {
  std::string url;
  GitRepo repo = NewRepo("revert-merge", &url);
  testing::MustRun({"git", "config", "receive.denyCurrentBranch", "updateInstead"}, repo.dir());
  const std::string first = CommitConfig(repo, "1");
  testing::MustRun({"git", "checkout", "-q", "-b", "feature"}, repo.dir());
  CommitConfig(repo, "2");
  testing::MustRun({"git", "checkout", "-q", "main"}, repo.dir());
  repo.Write("app/other.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {v: \"main\"}\n");
  const std::string main_before_merge = repo.Commit("other settings, straight on main");
  testing::MustRun(
      {"git", "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from feature", "feature"},
      repo.dir());
  const std::string merge = repo.Head();
  ApplyApp("web", {{"source", {{"repoURL", url}, {"path", "app"}}},
                   {"destination", {{"namespace", namespace_}}},
                   {"interval", "1h"}});
  ASSERT_TRUE(ReadyAt("web", merge));
  ASSERT_EQ(Value(), "2");

  Ran revert = Plumbline({"revert", "web", "--timeout", "60s"});  // the last applied: the merge
  ASSERT_EQ(revert.code, 0) << revert.out << revert.err;
  EXPECT_EQ(Value(), "1");  // the pull request's change is gone from the cluster
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "other")["data"].value("v", ""), "main");
  EXPECT_EQ(StatusOf(GetApp("web")).value("lastAppliedRevision", ""), repo.Head());
  const std::string log = testing::MustRun({"git", "log", "-1", "--format=%B"}, repo.dir());
  EXPECT_NE(log.find("Revert \"Merge pull request #7 from feature\""), std::string::npos) << log;
  EXPECT_NE(log.find("This reverts commit " + merge + ", reversing\nchanges made to " +
                     main_before_merge + "."),
            std::string::npos)
      << log;
  // The tree is main's before the merge, exactly.
  EXPECT_EQ(testing::MustRun({"git", "diff", main_before_merge, "HEAD"}, repo.dir()), "");

  // The first commit has nothing before it.
  const std::string head = repo.Head();
  Ran root = Plumbline({"revert", "web", first, "--force", "--timeout", "60s"});
  EXPECT_EQ(root.code, 1) << root.out;
  EXPECT_NE(root.err.find("first commit"), std::string::npos) << root.err;
  EXPECT_EQ(repo.Head(), head);
}

}  // namespace
}  // namespace plumbline
