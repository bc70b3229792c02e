// Real deployment repositories (PRODUCT §3.2): kustomize overlays per environment, a Helm chart
// with per-environment values, SOPS-encrypted Secrets, and promotion by pull request, against
// the real control plane and git daemon with the pinned kustomize, helm and sops.
#include <sstream>

#include <gtest/gtest.h>

#include "cli/cli.h"
#include "common/base64.h"
#include "support/cli_runner.h"
#include "support/control_plane.h"
#include "support/gitops_env.h"
#include "support/render_tools.h"

namespace plumbline {
namespace {

using testing::Eventually;
using testing::GitOpsEnvironment;
using testing::GitOpsTest;
using testing::GitRepo;
using testing::Ran;

const char* kBaseDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0.0
        envFrom: [{configMapRef: {name: web-config}}]
)";

class RepositoriesTest : public GitOpsTest {
 protected:
  // `plumbline ARGS` against the test's control plane and namespace, with the pinned tools.
  Ran Plumbline(std::vector<std::string> args) {
    const auto& tools = testing::RenderTools();
    args.insert(args.end(),
                {"--kubeconfig", testing::ControlPlane::Get()->kubeconfig(), "-n", namespace_,
                 "--cache-dir", GitOpsEnvironment::Get()->repos_dir() + "/../cli-" + namespace_,
                 "--kustomize-path", tools.kustomize, "--helm-path", tools.helm, "--sops-path",
                 tools.sops});
    return testing::RunCli(args);
  }
  // lastAppliedRevision is `sha`: applied (a Deployment stays Progressing: no kubelet here).
  bool AppliedAt(const std::string& name, const std::string& sha) {
    return WaitApp(
        name, [&](const Json& a) { return StatusOf(a).value("lastAppliedRevision", "") == sha; });
  }
  bool FailedWith(const std::string& name, const std::string& reason) {
    return WaitApp(name, [&](const Json& a) {
      return Cond(a, "Ready") == "False" && Cond(a, "Ready", "reason") == reason;
    });
  }
  std::string Env(const std::string& env) { return namespace_ + "-" + env; }
  // The overlay of one environment: its namespace, image tag, replicas and color.
  void WriteOverlay(GitRepo& repo, const std::string& env, const std::string& tag, int replicas,
                    const std::string& color) {
    repo.Write("overlays/" + env + "/namespace.yaml",
               "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + Env(env) + "}\n");
    repo.Write("overlays/" + env + "/kustomization.yaml",
               "namespace: " + Env(env) +
                   "\nresources: [../../base, namespace.yaml]\n"
                   "images:\n- name: registry.example/web\n  newTag: " +
                   tag + "\nreplicas:\n- name: web\n  count: " + std::to_string(replicas) +
                   "\nconfigMapGenerator:\n- name: web-config\n  behavior: merge\n"
                   "  literals: [color=" +
                   color + "]\n");
  }
  void WriteBase(GitRepo& repo, const std::string& greeting) {
    repo.Write("base/deploy.yaml", kBaseDeployment);
    repo.Write("base/kustomization.yaml",
               "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: web-config\n"
               "  literals: [greeting=" +
                   greeting + "]\n");
  }
  Json Deployment(const std::string& ns) { return Live("apps/v1", "Deployment", ns, "web"); }
  std::string ImageIn(const std::string& ns) {
    Json d = Deployment(ns);
    return d.is_null() ? "" : d["spec"]["template"]["spec"]["containers"][0].value("image", "");
  }
  // The generated ConfigMap the Deployment names.
  std::string ConfigMapNameIn(const std::string& ns) {
    Json d = Deployment(ns);
    if (d.is_null()) return "";
    return d["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"].value(
        "name", "");
  }
  Json ApplicationSpec(const std::string& url, const std::string& path) {
    return {{"source", {{"repoURL", url}, {"path", path}}}, {"interval", "1h"}, {"prune", true}};
  }
  // Everything the controller said about this test's Applications: Events and statuses.
  std::string EventsAndStatuses() {
    std::string all;
    auto events = client_->Resource({"", "v1", "Event"});
    if (events.ok()) {
      auto list = client_->List(*events, namespace_);
      if (list.ok()) {
        for (const auto& e : list->items) all += e.dump() + "\n";
      }
    }
    auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
    if (apps.ok()) {
      auto list = client_->List(*apps, namespace_);
      if (list.ok()) {
        for (const auto& a : list->items) all += a.dump() + "\n";
      }
    }
    return all;
  }
};

// Build once, promote everywhere: one base, an overlay per environment, and a pull request that
// changes one tag in staging.
TEST_F(RepositoriesTest, OverlaysDeployEachEnvironmentAndAPromotionChangesOnlyStaging) {
  std::string url;
  GitRepo repo = NewRepo("environments", &url);
  WriteBase(repo, "hello");
  WriteOverlay(repo, "dev", "1.1.0", 1, "green");
  WriteOverlay(repo, "staging", "1.0.0", 2, "yellow");
  WriteOverlay(repo, "prod", "1.0.0", 3, "red");
  const std::string first = repo.Commit("three environments");
  const std::vector<std::string> envs = {"dev", "staging", "prod"};
  for (const auto& env : envs) ApplyApp(env, ApplicationSpec(url, "overlays/" + env));
  for (const auto& env : envs) ASSERT_TRUE(AppliedAt(env, first)) << env;

  const std::map<std::string, std::pair<int, std::string>> expected = {
      {"dev", {1, "green"}}, {"staging", {2, "yellow"}}, {"prod", {3, "red"}}};
  for (const auto& [env, want] : expected) {
    Json d = Deployment(Env(env));
    ASSERT_FALSE(d.is_null()) << env;
    EXPECT_EQ(d["spec"]["replicas"], want.first) << env;
    Json cm = Live("v1", "ConfigMap", Env(env), ConfigMapNameIn(Env(env)));
    ASSERT_FALSE(cm.is_null()) << env;
    EXPECT_EQ(cm["data"], Json({{"greeting", "hello"}, {"color", want.second}})) << env;
  }
  EXPECT_EQ(ImageIn(Env("dev")), "registry.example/web:1.1.0");
  EXPECT_EQ(ImageIn(Env("staging")), "registry.example/web:1.0.0");
  EXPECT_EQ(ImageIn(Env("prod")), "registry.example/web:1.0.0");
  EXPECT_EQ(Cond(GetApp("staging"), "Healthy", "reason"), "Progressing");  // no kubelet

  // `plumbline render` shows what the overlay builds.
  Ran rendered = Plumbline({"render", "staging"});
  ASSERT_EQ(rendered.code, 0) << rendered.err;
  EXPECT_NE(rendered.out.find("kustomize, 3 objects"), std::string::npos) << rendered.out;
  EXPECT_NE(rendered.out.find("image: registry.example/web:1.0.0"), std::string::npos);

  // The promotion pull request, checked out but not merged: diff --local shows exactly the image.
  WriteOverlay(repo, "staging", "1.1.0", 2, "yellow");
  Ran pr = Plumbline({"diff", "staging", "--local", repo.dir()});
  EXPECT_EQ(pr.code, 1) << pr.out << pr.err;
  std::vector<std::string> headers, changes;
  std::istringstream lines(pr.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("=== ", 0) == 0) headers.push_back(line);
    if ((line[0] == '-' || line[0] == '+') && line.rfind("---", 0) != 0 &&
        line.rfind("+++", 0) != 0) {
      changes.push_back(line);
    }
  }
  EXPECT_EQ(headers,
            std::vector<std::string>{"=== Deployment " + Env("staging") + "/web: configured"})
      << pr.out;
  EXPECT_EQ(changes, (std::vector<std::string>{"-          image: registry.example/web:1.0.0",
                                               "+          image: registry.example/web:1.1.0"}))
      << pr.out;

  // Merged: staging deploys it; dev and prod see the new commit and change nothing.
  std::map<std::string, std::string> versions;
  for (const auto& env : {"dev", "prod"}) {
    versions[std::string(env) + "/deploy"] = Deployment(Env(env))["metadata"]["resourceVersion"];
    versions[std::string(env) + "/cm"] =
        Live("v1", "ConfigMap", Env(env), ConfigMapNameIn(Env(env)))["metadata"]["resourceVersion"];
  }
  const std::string promoted = repo.Commit("promote 1.1.0 to staging");
  for (const auto& env : envs) RequestSync(env, "promote");
  for (const auto& env : envs) ASSERT_TRUE(AppliedAt(env, promoted)) << env;
  EXPECT_EQ(ImageIn(Env("staging")), "registry.example/web:1.1.0");
  EXPECT_EQ(ImageIn(Env("prod")), "registry.example/web:1.0.0");
  for (const auto& env : {"dev", "prod"}) {
    EXPECT_EQ(Deployment(Env(env))["metadata"]["resourceVersion"],
              versions[std::string(env) + "/deploy"])
        << env;
    EXPECT_EQ(
        Live("v1", "ConfigMap", Env(env), ConfigMapNameIn(Env(env)))["metadata"]["resourceVersion"],
        versions[std::string(env) + "/cm"])
        << env;
  }

  // Reverting the merge rolls staging back.
  const std::string reverted = repo.Revert(promoted);
  RequestSync("staging", "revert");
  ASSERT_TRUE(AppliedAt("staging", reverted));
  EXPECT_EQ(ImageIn(Env("staging")), "registry.example/web:1.0.0");
}

TEST_F(RepositoriesTest, AGeneratedConfigMapChangeRollsTheDeploymentAndPrunesTheOldOne) {
  std::string url;
  GitRepo repo = NewRepo("generator", &url);
  WriteBase(repo, "hello");
  WriteOverlay(repo, "dev", "1.0.0", 1, "green");
  const std::string first = repo.Commit("dev");
  ApplyApp("dev", ApplicationSpec(url, "overlays/dev"));
  ASSERT_TRUE(AppliedAt("dev", first));
  const std::string old_name = ConfigMapNameIn(Env("dev"));
  ASSERT_EQ(old_name.rfind("web-config-", 0), 0u) << old_name;
  ASSERT_FALSE(Live("v1", "ConfigMap", Env("dev"), old_name).is_null());

  WriteOverlay(repo, "dev", "1.0.0", 1, "blue");
  const std::string second = repo.Commit("blue");
  RequestSync("dev", "blue");
  ASSERT_TRUE(AppliedAt("dev", second));
  const std::string new_name = ConfigMapNameIn(Env("dev"));
  EXPECT_NE(new_name, old_name) << "the pod template names the new ConfigMap: a rollout";
  Json fresh = Live("v1", "ConfigMap", Env("dev"), new_name);
  ASSERT_FALSE(fresh.is_null());
  EXPECT_EQ(fresh["data"]["color"], "blue");
  EXPECT_TRUE(Eventually([&] { return Live("v1", "ConfigMap", Env("dev"), old_name).is_null(); }))
      << old_name << " was not pruned";
}

TEST_F(RepositoriesTest, AHelmChartRendersWithEachEnvironmentsValuesAndItsCrd) {
  std::string url;
  GitRepo repo = NewRepo("chart", &url);
  const std::string group = namespace_ + ".example.com";
  repo.Write("charts/widget/Chart.yaml", "apiVersion: v2\nname: widget\nversion: 0.1.0\n");
  repo.Write("charts/widget/values.yaml", "size: small\ncolor: grey\n");
  repo.Write("charts/widget/crds/widgets.yaml",
             "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
             "metadata: {name: widgets." +
                 group + "}\nspec:\n  group: " + group +
                 "\n  scope: Namespaced\n"
                 "  names: {kind: Widget, plural: widgets, singular: widget, listKind: "
                 "WidgetList}\n"
                 "  versions:\n  - name: v1\n    served: true\n    storage: true\n"
                 "    schema: {openAPIV3Schema: {type: object, "
                 "x-kubernetes-preserve-unknown-fields: true}}\n");
  repo.Write("charts/widget/templates/widget.yaml",
             "apiVersion: " + group +
                 "/v1\nkind: Widget\nmetadata: {name: '{{ .Release.Name }}'}\n"
                 "spec: {size: '{{ .Values.size }}'}\n");
  repo.Write("charts/widget/templates/cm.yaml",
             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-settings'}\n"
             "data: {size: '{{ .Values.size }}', color: '{{ .Values.color }}'}\n");
  repo.Write("environments/dev.yaml", "size: small\ncolor: green\n");
  repo.Write("environments/prod.yaml", "size: large\ncolor: red\n");
  const std::string sha = repo.Commit("chart");
  auto spec = [&](const std::string& values) {
    Json s = ApplicationSpec(url, "charts/widget");
    s["destination"] = {{"namespace", namespace_}};
    s["source"]["helm"] = {{"releaseName", "widget"},
                           {"valuesFiles", {"../../environments/" + values}}};
    return s;
  };
  ApplyApp("widget", spec("dev.yaml"));
  ASSERT_TRUE(ReadyAt("widget", sha));
  EXPECT_FALSE(Live("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets." + group)
                   .is_null());
  Json widget = Live(group + "/v1", "Widget", namespace_, "widget");
  ASSERT_FALSE(widget.is_null());
  EXPECT_EQ(widget["spec"]["size"], "small");
  EXPECT_EQ(Live("v1", "ConfigMap", namespace_, "widget-settings")["data"],
            Json({{"size", "small"}, {"color", "green"}}));

  // The same chart with the production values, and one value set in the Application.
  Json prod = spec("prod.yaml");
  prod["source"]["helm"]["values"] = {{"color", "blue"}};
  ApplyApp("widget", prod);
  ASSERT_TRUE(WaitApp("widget", [&](const Json&) {
    Json cm = Live("v1", "ConfigMap", namespace_, "widget-settings");
    return !cm.is_null() && cm["data"] == Json({{"size", "large"}, {"color", "blue"}});
  }));
  EXPECT_EQ(Live(group + "/v1", "Widget", namespace_, "widget")["spec"]["size"], "large");

  // Clean up the cluster-scoped CRD.
  ApplyApp("widget", {{"source", {{"repoURL", url}, {"path", "gone"}}},
                      {"interval", "1h"},
                      {"prune", true},
                      {"allowEmpty", true}});
  EXPECT_TRUE(Eventually([&] {
    return Live("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets." + group)
        .is_null();
  }));
}

constexpr char kMarker[] = "hunter2-plaintext-marker";

TEST_F(RepositoriesTest, ASopsSecretIsAppliedDecryptedAndItsPlaintextIsShownNowhere) {
  const testing::AgeKey key = testing::NewAgeKey();
  ApplySecret("sops-age", {{"age.agekey", key.identity + "\n"}});
  ApplySecret("wrong-age", {{"age.agekey", testing::NewAgeKey().identity + "\n"}});
  auto secret = [&](const std::string& name, const std::string& password) {
    return testing::SopsEncrypt("apiVersion: v1\nkind: Secret\nmetadata: {name: " + name +
                                    "}\nstringData: {password: " + password + "}\n",
                                "yaml", key.recipient, "^(data|stringData)$");
  };
  std::string url;
  GitRepo repo = NewRepo("sops", &url);
  for (const std::string dir : {"good", "nokeys", "wrongkey"}) {
    repo.Write(dir + "/secret.yaml", secret(dir + "-db", kMarker));
    repo.Write(dir + "/cm.yaml",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + dir + "-settings}\n");
  }
  // A value that ends up outside a Secret: a ConfigMap generated from an encrypted dotenv file.
  repo.Write("generated/kustomization.yaml",
             "configMapGenerator:\n- name: app-env\n  envs: [app.env]\n");
  repo.Write("generated/app.env",
             testing::SopsEncrypt(std::string("TOKEN=") + kMarker + "\n", "dotenv", key.recipient));
  // Decrypts, then the API server refuses it quoting the (decrypted) label value.
  repo.Write("invalid/secret.yaml",
             testing::SopsEncrypt("apiVersion: v1\nkind: Secret\nmetadata:\n  name: invalid-db\n"
                                  "  labels: {owner: \"" +
                                      std::string(kMarker) + " has spaces\"}\n",
                                  "yaml", key.recipient));
  const std::string sha = repo.Commit("encrypted secrets");
  auto spec = [&](const std::string& path, const std::string& keys) {
    Json s = ApplicationSpec(url, path);
    s["destination"] = {{"namespace", namespace_}};
    if (!keys.empty()) s["decryption"] = {{"provider", "sops"}, {"secretRef", {{"name", keys}}}};
    return s;
  };
  ApplyApp("good", spec("good", "sops-age"));
  ApplyApp("nokeys", spec("nokeys", ""));
  ApplyApp("wrongkey", spec("wrongkey", "wrong-age"));
  ApplyApp("generated", spec("generated", "sops-age"));
  ApplyApp("invalid", spec("invalid", "sops-age"));

  ASSERT_TRUE(ReadyAt("good", sha));
  Json live = Live("v1", "Secret", namespace_, "good-db");
  ASSERT_FALSE(live.is_null());
  EXPECT_TRUE(live["data"]["password"] == Base64Encode(kMarker)) << "not the decrypted value";

  ASSERT_TRUE(FailedWith("nokeys", "RenderFailed"));
  EXPECT_EQ(Cond(GetApp("nokeys"), "Ready", "message"),
            "nokeys/secret.yaml: encrypted with SOPS, and spec.decryption is not set; refusing to "
            "apply it encrypted");
  ASSERT_TRUE(FailedWith("wrongkey", "RenderFailed"));
  EXPECT_EQ(Cond(GetApp("wrongkey"), "Ready", "message")
                .rfind("wrongkey/secret.yaml: sops cannot decrypt it with the keys of "
                       "spec.decryption: ",
                       0),
            0u)
      << Cond(GetApp("wrongkey"), "Ready", "message");
  // Nothing of a revision that did not render is applied, encrypted or not.
  for (const std::string dir : {"nokeys", "wrongkey"}) {
    EXPECT_TRUE(Live("v1", "Secret", namespace_, dir + "-db").is_null()) << dir;
    EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, dir + "-settings").is_null()) << dir;
  }

  // A pull request that changes the password: diff and render mask it.
  const std::string next = std::string(kMarker) + "-next";
  repo.Write("good/secret.yaml", secret("good-db", next));
  Ran diff = Plumbline({"diff", "good", "--local", repo.dir()});
  EXPECT_EQ(diff.code, 1) << diff.out << diff.err;
  EXPECT_NE(diff.out.find("+  password: \"*** (changed)\""), std::string::npos) << diff.out;
  Ran render = Plumbline({"render", "good", "--local", repo.dir()});
  EXPECT_EQ(render.code, 0) << render.err;
  EXPECT_NE(render.out.find("password: \"***\""), std::string::npos) << render.out;
  ASSERT_TRUE(FailedWith("invalid", "ApplyFailed"));
  EXPECT_NE(Cond(GetApp("invalid"), "Ready", "message").find("Invalid value: \"***\""),
            std::string::npos)
      << "the API server's message, scrubbed";
  // Only Secrets are masked object by object; every decrypted value is scrubbed from the rest.
  ASSERT_TRUE(ReadyAt("generated", sha));
  Ran generated = Plumbline({"render", "generated"});
  EXPECT_EQ(generated.code, 0) << generated.err;
  EXPECT_NE(generated.out.find("TOKEN: ***\n"), std::string::npos) << generated.out;
  const std::string merged = repo.Commit("rotate the password");
  RequestSync("good", "rotate");
  ASSERT_TRUE(ReadyAt("good", merged));
  EXPECT_TRUE(Live("v1", "Secret", namespace_, "good-db")["data"]["password"] ==
              Base64Encode(next));

  // The plaintext, or its base64, is nowhere people look.
  const std::string said = diff.out + diff.err + render.out + render.err + generated.out +
                           generated.err + EventsAndStatuses() + GitOpsEnvironment::ControllerLog();
  for (const std::string& secret_text : {std::string(kMarker), Base64Encode(kMarker)}) {
    EXPECT_EQ(said.find(secret_text), std::string::npos) << "the plaintext leaked";
  }
  EXPECT_NE(GitOpsEnvironment::ControllerLog().find("good"), std::string::npos)
      << "the controller's log was not captured";
}

TEST_F(RepositoriesTest, ARemoteBaseAndAFailingBuildAreRenderFailedWithNothingApplied) {
  std::string url;
  GitRepo repo = NewRepo("refused", &url);
  repo.Write("remote/kustomization.yaml",
             "resources:\n- https://github.com/example/deploy//base?ref=v1\n- cm.yaml\n");
  repo.Write("remote/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote-cm}\n");
  repo.Write("broken/kustomization.yaml",
             "resources: [cm.yaml]\npatches:\n- path: missing-patch.yaml\n");
  repo.Write("broken/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken-cm}\n");
  repo.Commit("two bad kustomizations");
  for (const std::string app : {"remote", "broken"}) {
    Json s = ApplicationSpec(url, app);
    s["destination"] = {{"namespace", namespace_}};
    ApplyApp(app, s);
  }
  ASSERT_TRUE(FailedWith("remote", "RenderFailed"));
  EXPECT_EQ(Cond(GetApp("remote"), "Ready", "message"),
            "remote/kustomization.yaml: remote base "
            "\"https://github.com/example/deploy//base?ref=v1\" is refused: everything a "
            "kustomization builds on must be in the repository (the controller runs with "
            "--allow-remote-bases off)");
  ASSERT_TRUE(FailedWith("broken", "RenderFailed"));
  const std::string message = Cond(GetApp("broken"), "Ready", "message");
  EXPECT_EQ(message.rfind("broken: kustomize build failed: ", 0), 0u) << message;
  EXPECT_NE(message.find("missing-patch.yaml"), std::string::npos) << message;
  EXPECT_EQ(message.find("plumbline-render-"), std::string::npos)
      << "a path of the controller's machine: " << message;
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "remote-cm").is_null());
  EXPECT_TRUE(Live("v1", "ConfigMap", namespace_, "broken-cm").is_null());
}

}  // namespace
}  // namespace plumbline
