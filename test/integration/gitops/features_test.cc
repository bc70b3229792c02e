// Shared fetches, CRDs with their instances, and impersonation (PRODUCT §2, §3).
#include <gtest/gtest.h>

#include "kube/errors.h"
#include "support/gitops_env.h"

namespace plumbline {
namespace {

using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;

class FeaturesTest : public GitOpsTest {};

TEST_F(FeaturesTest, TwoApplicationsOnOneRepositoryShareOneFetch) {
  std::string url;
  GitRepo repo = NewRepo("shared", &url);
  repo.Write("a/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  repo.Write("b/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
  std::string sha = repo.Commit("two paths");
  auto& daemon = GitOpsEnvironment::Get()->daemon();
  auto spec = [&](const char* path) {
    return Json{{"source", {{"repoURL", url}, {"path", path}}},
                {"destination", {{"namespace", namespace_}}},
                {"interval", "10m"}};
  };
  std::string name = url.substr(url.rfind('/') + 1);
  int before = daemon.UploadPacks(name);
  ApplyApp("a", spec("a"));
  ASSERT_TRUE(ReadyAt("a", sha));
  int one_fetch = daemon.UploadPacks(name) - before;
  ASSERT_GE(one_fetch, 1);
  ApplyApp("b", spec("b"));
  ASSERT_TRUE(ReadyAt("b", sha));
  // Within the interval the second Application reuses the first one's fetch.
  EXPECT_EQ(daemon.UploadPacks(name) - before, one_fetch);
}

TEST_F(FeaturesTest, ACrdAndAnObjectOfItsKindApplyInOneReconcile) {
  std::string url;
  GitRepo repo = NewRepo("crd", &url);
  std::string group = namespace_ + ".example.com";
  repo.Write("app/crd.yaml", R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.)" + group + R"(
spec:
  group: )" + group + R"(
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
)");
  // Named to sort first, so only the apply order puts the CRD before it.
  repo.Write("app/a-gadget.yaml",
             "apiVersion: " + group + "/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 2}\n");
  std::string sha = repo.Commit("crd and instance");
  ApplyApp("web", {{"source", {{"repoURL", url}, {"path", "app"}}},
                   {"destination", {{"namespace", namespace_}}},
                   {"interval", "10m"},
                   {"prune", true}});
  ASSERT_TRUE(ReadyAt("web", sha));
  Json app = GetApp("web");
  // Applied by the first reconcile: its history entry created both.
  ASSERT_EQ(app["status"]["history"].size(), 1u);
  EXPECT_EQ(app["status"]["history"][0]["created"], 2);
  Json gadget = Live(group + "/v1", "Gadget", namespace_, "g1");
  ASSERT_FALSE(gadget.is_null());
  EXPECT_EQ(gadget["spec"]["size"], 2);

  // Clean up the cluster-scoped CRD.
  repo.Remove("app/crd.yaml");
  repo.Remove("app/a-gadget.yaml");
  repo.Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: left}\n");
  std::string cleanup = repo.Commit("remove the crd");
  auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  Json patch = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata",
                 {{"name", "web"},
                  {"namespace", namespace_},
                  {"annotations", {{"plumbline.dev/requested-at", cleanup}}}}}};
  kube::ApplyOptions as_test;
  as_test.field_manager = "test-sync";
  ASSERT_TRUE(client_->Apply(patch, as_test).ok());
  ASSERT_TRUE(ReadyAt("web", cleanup));
  // The CRD goes once the API server has removed its objects.
  EXPECT_TRUE(testing::Eventually([&] {
    return Live("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "gadgets." + group)
        .is_null();
  }));
}

TEST_F(FeaturesTest, AnImpersonatedServiceAccountWithoutRightsGetsForbiddenAlone) {
  std::string url;
  GitRepo repo = NewRepo("impersonate", &url);
  repo.Write("app/deploy.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
)");
  repo.Write("other/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n");
  std::string sha = repo.Commit("deployment");
  // A ServiceAccount that may only manage ConfigMaps.
  for (
      const std::string& doc :
      {std::string(
           R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"limited","namespace":")") +
           namespace_ + R"("}})",
       std::string(
           R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"cm-only","namespace":")") +
           namespace_ +
           R"("},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["*"]}]})",
       std::string(
           R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"limited","namespace":")") +
           namespace_ +
           R"("},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"cm-only"},"subjects":[{"kind":"ServiceAccount","name":"limited","namespace":")" +
           namespace_ + R"("}]})"}) {
    ASSERT_TRUE(client_->Apply(Json::parse(doc)).ok());
  }
  Json limited = {{"source", {{"repoURL", url}, {"path", "app"}}},
                  {"destination", {{"namespace", namespace_}}},
                  {"interval", "10m"},
                  {"serviceAccountName", "limited"}};
  ApplyApp("restricted", limited);
  Json other = limited;
  other["source"]["path"] = "other";
  ApplyApp("allowed", other);
  ASSERT_TRUE(WaitApp("restricted",
                      [&](const Json& a) { return Cond(a, "Ready", "reason") == "ApplyFailed"; }));
  std::string message = Cond(GetApp("restricted"), "Ready", "message");
  EXPECT_NE(message.find("forbidden"), std::string::npos) << message;
  EXPECT_NE(message.find("system:serviceaccount:" + namespace_ + ":limited"), std::string::npos)
      << message;
  EXPECT_TRUE(Live("apps/v1", "Deployment", namespace_, "web").is_null());
  // The other Application, with the same ServiceAccount but only ConfigMaps, is fine.
  ASSERT_TRUE(ReadyAt("allowed", sha));
}

}  // namespace
}  // namespace plumbline

namespace plumbline {
namespace {

TEST_F(FeaturesTest, RevisionsCanBeATagOrACommitAndFileUrlsWork) {
  std::string url;
  GitRepo repo = NewRepo("revisions", &url);
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: one}\n");
  std::string first = repo.Commit("one");
  testing::MustRun({"git", "-C", repo.dir(), "tag", "v1"});
  repo.Write("app/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: two}\n");
  std::string second = repo.Commit("two");
  auto spec = [&](const std::string& source_url, const std::string& revision,
                  const std::string& ns_suffix) {
    return Json{{"source", {{"repoURL", source_url}, {"revision", revision}, {"path", "app"}}},
                {"destination", {{"namespace", namespace_ + ns_suffix}}},
                {"interval", "1s"}};
  };
  for (const char* suffix : {"-tag", "-sha", "-file"}) {
    Json ns = {
        {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", namespace_ + suffix}}}};
    ASSERT_TRUE(client_->Apply(ns).ok());
  }
  ApplyApp("by-tag", spec(url, "v1", "-tag"));
  ApplyApp("by-sha", spec(url, first, "-sha"));
  ApplyApp("by-file", spec("file://" + repo.dir(), "main", "-file"));
  ASSERT_TRUE(ReadyAt("by-tag", first));
  ASSERT_TRUE(ReadyAt("by-sha", first));
  ASSERT_TRUE(ReadyAt("by-file", second));
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_ + "-tag", "a")["data"]["v"], "one");
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_ + "-sha", "a")["data"]["v"], "one");
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_ + "-file", "a")["data"]["v"], "two");
  // History keeps the commit's message.
  EXPECT_EQ(GetApp("by-file")["status"]["history"][0]["message"], "two");
}

TEST_F(FeaturesTest, TheSchemaRejectsBadSpecsBeforeTheControllerSeesThem) {
  auto apply = [&](const Json& spec) {
    Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata", {{"name", "bad"}, {"namespace", namespace_}}},
                {"spec", spec}};
    return client_->Apply(app);
  };
  Json good = {{"source", {{"repoURL", "git://127.0.0.1:1/x"}}}};
  struct Case {
    const char* field;
    Json spec;
  };
  std::vector<Case> cases = {
      {"spec.source.repoURL", Json{{"source", Json::object()}}},
      {"spec.source.repoURL", Json{{"source", {{"repoURL", "not a url"}}}}},
      {"spec.drift",
       [&] {
         Json s = good;
         s["drift"] = "sometimes";
         return s;
       }()},
      {"spec.interval",
       [&] {
         Json s = good;
         s["interval"] = "soon";
         return s;
       }()},
      {"spec.source.path",
       [&] {
         Json s = good;
         s["source"]["path"] = "/etc";
         return s;
       }()},
      {"spec.prune",
       [&] {
         Json s = good;
         s["prune"] = "yes please";
         return s;
       }()},
  };
  for (const auto& c : cases) {
    auto result = apply(c.spec);
    ASSERT_FALSE(result.ok()) << c.spec.dump();
    // Mostly 422 Invalid; a value of the wrong type fails earlier, in the typed patch, as a 500.
    if (std::string(c.field) != "spec.prune") {
      EXPECT_TRUE(kube::IsInvalid(result.error())) << result.error().message();
    }
    EXPECT_NE(result.error().message().find(c.field), std::string::npos)
        << result.error().message();
  }
  auto accepted = apply(good);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message();
  // Defaults are filled in by the API server.
  EXPECT_EQ((*accepted)["spec"]["interval"], "3m");
  EXPECT_EQ((*accepted)["spec"]["drift"], "correct");
}

}  // namespace
}  // namespace plumbline
