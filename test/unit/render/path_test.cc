// RenderPath with the real, pinned kustomize, helm and sops (hack/build-render-tools.sh), over a
// checkout on disk: what a kustomization, a chart or an encrypted file renders to, and how each
// way of failing reads. The cluster-facing cases are in test/integration/gitops/repositories_test.
#include "render/path.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "render/build_cache.h"
#include "render/sops.h"
#include "source/local_tree.h"
#include "support/render_tools.h"

namespace plumbline::render {
namespace {

namespace fs = std::filesystem;
using testing::AgeKey;
using testing::NewAgeKey;
using testing::SopsEncrypt;

class RenderPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/plumbline-render-path-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    fs::create_directories(root_ + "/checkout");
    fs::create_directories(root_ + "/tmp");
    testing::UseRenderTools(&options_);
    options_.temp_dir = root_ + "/tmp";
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& content) {
    const fs::path full = fs::path(root_) / "checkout" / path;
    fs::create_directories(full.parent_path());
    std::ofstream(full) << content;
  }
  Result<RenderedPath> RenderAt(const std::string& path, PathRequest request = {}) {
    request.path = path;
    if (request.helm.release_name.empty()) request.helm.release_name = "app";
    if (request.helm.ns.empty()) request.helm.ns = "team";
    const std::string checkout = root_ + "/checkout";
    auto rendered = RenderPath(
        [checkout](const std::string& dir, const source::ReadOptions& read) {
          return source::ReadLocalDir(checkout, dir, read);
        },
        request, options_);
    // Every workspace is gone once the render returns, whatever it returned.
    EXPECT_TRUE(fs::is_empty(root_ + "/tmp")) << "a render workspace was left behind";
    return rendered;
  }
  static const Json* Find(const RenderedPath& r, const std::string& kind,
                          const std::string& name_prefix) {
    for (const auto& o : r.objects) {
      if (o.object.value("kind", "") == kind &&
          o.object["metadata"].value("name", "").rfind(name_prefix, 0) == 0) {
        return &o.object;
      }
    }
    return nullptr;
  }
  void WriteBaseAndOverlay() {
    Write("base/kustomization.yaml",
          "resources: [deploy.yaml]\n"
          "configMapGenerator:\n- name: web-config\n  literals: [color=blue]\n");
    Write("base/deploy.yaml",
          "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
          "spec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n"
          "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
          "      - name: web\n        image: registry.example/web:1.0.0\n"
          "        envFrom: [{configMapRef: {name: web-config}}]\n");
    Write("overlays/prod/kustomization.yaml",
          "namespace: prod\nresources: [../../base]\n"
          "images:\n- name: registry.example/web\n  newTag: 2.0.0\n"
          "replicas:\n- name: web\n  count: 3\n"
          "configMapGenerator:\n- name: web-config\n  behavior: merge\n  literals: [color=red]\n");
  }

  std::string root_;
  RenderOptions options_;
};

TEST_F(RenderPathTest, AnOverlayBuildsWithImagesReplicasAndAHashedGeneratedConfigMap) {
  WriteBaseAndOverlay();
  auto r = RenderAt("overlays/prod");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->renderer, Renderer::kKustomize);
  ASSERT_EQ(r->objects.size(), 2u);
  const Json* deploy = Find(*r, "Deployment", "web");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ((*deploy)["metadata"]["namespace"], "prod");
  EXPECT_EQ((*deploy)["spec"]["replicas"], 3);
  const Json& container = (*deploy)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "registry.example/web:2.0.0");
  const Json* cm = Find(*r, "ConfigMap", "web-config-");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ((*cm)["data"]["color"], "red");
  // The Deployment names the hashed ConfigMap, so a change of values rolls it.
  EXPECT_EQ(container["envFrom"][0]["configMapRef"]["name"], (*cm)["metadata"]["name"]);
  EXPECT_NE((*cm)["metadata"]["name"], "web-config");
}

TEST_F(RenderPathTest, AComponentOutsideTheOverlayIsReadAndApplied) {
  WriteBaseAndOverlay();
  Write("components/monitoring/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "resources: [monitor.yaml]\n"
        "labels:\n- pairs: {monitored: \"true\"}\n");
  Write("components/monitoring/monitor.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: scrape-config}\n");
  Write("overlays/prod/kustomization.yaml",
        "namespace: prod\nresources: [../../base]\ncomponents: [../../components/monitoring]\n");
  auto r = RenderAt("overlays/prod");
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Json* scrape = Find(*r, "ConfigMap", "scrape-config");
  ASSERT_NE(scrape, nullptr);
  EXPECT_EQ((*scrape)["metadata"]["namespace"], "prod");
  EXPECT_EQ((*Find(*r, "Deployment", "web"))["metadata"]["labels"]["monitored"], "true");
}

TEST_F(RenderPathTest, ARemoteBaseIsRefusedUnlessAllowed) {
  Write("app/kustomization.yaml",
        "resources:\n- https://github.com/example/deploy//base?ref=v1\n- cm.yaml\n");
  Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  auto r = RenderAt("app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.error().message(),
      "app/kustomization.yaml: remote base \"https://github.com/example/deploy//base?ref=v1\" "
      "is refused: everything a kustomization builds on must be in the repository (the "
      "controller runs with --allow-remote-bases off)");
  for (const char* remote :
       {"github.com/example/deploy/base?ref=v1", "git@github.com:example/deploy.git//base"}) {
    Write("app/kustomization.yaml", std::string("resources: [\"") + remote + "\"]\n");
    auto again = RenderAt("app");
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message().find("remote base"), std::string::npos)
        << again.error().message();
  }
}

TEST_F(RenderPathTest, NothingOutsideTheRepositoryIsRead) {
  Write("app/kustomization.yaml", "resources: [../../../../etc]\n");
  auto r = RenderAt("app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "app/kustomization.yaml: \"../../../../etc\" is outside the repository; kustomize "
            "may read only the repository");
  Write("app/kustomization.yaml", "resources: [/etc/passwd]\n");
  r = RenderAt("app");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is outside the repository"), std::string::npos);
  // A file outside the kustomization's own directory is not even copied for kustomize (whose
  // load restrictor would refuse it too).
  Write("secret.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\n");
  Write("app/kustomization.yaml", "configMapGenerator:\n- name: x\n  files: [../secret.yaml]\n");
  r = RenderAt("app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind("app: kustomize build failed:", 0), 0u)
      << r.error().message();
  EXPECT_NE(r.error().message().find("../secret.yaml"), std::string::npos) << r.error().message();
}

TEST_F(RenderPathTest, AFailedBuildNamesTheFileInRepositoryTerms) {
  Write("app/kustomization.yaml", "resources: [missing.yaml]\n");
  auto r = RenderAt("app");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message();
  EXPECT_EQ(m.rfind("app/kustomization.yaml: \"missing.yaml\" does not exist in the repository", 0),
            0u)
      << m;
  Write("app/kustomization.yaml", "resources: [cm.yaml]\npatches:\n- path: patch.yaml\n");
  Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  r = RenderAt("app");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("app: kustomize build failed:"), std::string::npos);
  EXPECT_NE(r.error().message().find("patch.yaml"), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().message().find(root_), std::string::npos)
      << "a path of the machine in: " << r.error().message();
}

TEST_F(RenderPathTest, AChartRendersWithItsValuesFilesInOrderAndItsCrds) {
  Write("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
  Write("charts/web/values.yaml", "replicas: 1\ncolor: blue\nsize: s\n");
  Write("charts/web/crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\n"
        "spec:\n  group: example.com\n  scope: Namespaced\n"
        "  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n"
        "  versions:\n  - name: v1\n    served: true\n    storage: true\n"
        "    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: "
        "true}}\n");
  Write("charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\n"
        "  namespace: {{ .Release.Namespace }}\n"
        "data:\n  replicas: \"{{ .Values.replicas }}\"\n  color: {{ .Values.color }}\n"
        "  size: {{ .Values.size }}\n");
  Write("charts/web/templates/hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n"
        "  annotations: {\"helm.sh/hook\": pre-install}\n"
        "spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: x}]}}}\n");
  Write("env/prod/values.yaml", "replicas: 3\ncolor: red\n");
  PathRequest request;
  request.helm.release_name = "web-prod";
  request.helm.values_files = {"../../env/prod/values.yaml"};
  request.helm.values = {{"size", "xl"}};
  auto r = RenderAt("charts/web", request);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->renderer, Renderer::kHelm);
  ASSERT_EQ(r->objects.size(), 2u) << "the CRD and the ConfigMap; the hook is not rendered";
  EXPECT_NE(Find(*r, "CustomResourceDefinition", "widgets.example.com"), nullptr);
  const Json* cm = Find(*r, "ConfigMap", "web-prod-settings");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ((*cm)["metadata"]["namespace"], "team");
  EXPECT_EQ((*cm)["data"], Json({{"replicas", "3"}, {"color", "red"}, {"size", "xl"}}));

  request.helm.values_files = {"/etc/passwd"};
  auto absolute = RenderAt("charts/web", request);
  ASSERT_FALSE(absolute.ok());
  EXPECT_EQ(absolute.error().message(),
            "spec.source.helm.valuesFiles: \"/etc/passwd\" is outside the repository");
  request.helm.values_files = {"../../../outside.yaml"};
  auto outside = RenderAt("charts/web", request);
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().message(),
            "spec.source.helm.valuesFiles: \"../../../outside.yaml\" is outside the repository");
  request.helm.values_files = {"missing.yaml"};
  auto missing = RenderAt("charts/web", request);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "spec.source.helm.valuesFiles: \"charts/web/missing.yaml\" does not exist in the "
            "repository");
}

TEST_F(RenderPathTest, AChartWithADependencyThatIsNotVendoredFailsWithoutTheNetwork) {
  Write("chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n"
        "- name: redis\n  version: 1.0.0\n  repository: https://charts.example.com\n");
  Write("chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  auto r = RenderAt("chart");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("chart: helm template failed:"), std::string::npos);
  EXPECT_NE(r.error().message().find("redis"), std::string::npos) << r.error().message();
}

TEST_F(RenderPathTest, HelmSetButNoChartIsAClearError) {
  Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  PathRequest request;
  request.helm_required = true;
  auto r = RenderAt("app", request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "spec.source.helm is set, but path \"app\" holds no Chart.yaml");
}

constexpr char kPlainSecret[] =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n"
    "stringData:\n  password: hunter2-plaintext-marker\n  user: admin-user-marker\n";

TEST_F(RenderPathTest, AnEncryptedManifestIsDecryptedWithTheKeysAndRefusedWithoutThem) {
  const AgeKey key = NewAgeKey();
  const std::string encrypted = SopsEncrypt(kPlainSecret, "yaml", key.recipient);
  ASSERT_EQ(encrypted.find("hunter2"), std::string::npos);
  Write("app/secret.yaml", encrypted);
  Write("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");

  PathRequest with_key;
  with_key.age_keys = key.identity + "\n";
  auto r = RenderAt("app", with_key);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->decrypted_files, 1u);
  const Json* secret = Find(*r, "Secret", "db");
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ((*secret)["stringData"]["password"], "hunter2-plaintext-marker");
  EXPECT_FALSE(secret->contains("sops"));

  auto refused = RenderAt("app");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "app/secret.yaml: encrypted with SOPS, and spec.decryption is not set; refusing to "
            "apply it encrypted");

  PathRequest wrong;
  wrong.age_keys = NewAgeKey().identity;
  auto failed = RenderAt("app", wrong);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message().rfind(
                "app/secret.yaml: sops cannot decrypt it with the keys of spec.decryption: ", 0),
            0u)
      << failed.error().message();
}

TEST_F(RenderPathTest, OnlyTheKeysAnEncryptedRegexNamesAreEncryptedAndJsonWorksToo) {
  const AgeKey key = NewAgeKey();
  const std::string partly =
      SopsEncrypt(kPlainSecret, "yaml", key.recipient, "^(data|stringData)$");
  EXPECT_NE(partly.find("name: db"), std::string::npos) << "metadata stays readable";
  Write("app/secret.yaml", partly);
  const std::string json_secret = R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"api"},)"
                                  R"("stringData":{"token":"json-token-marker"}})";
  Write("app/api.json", SopsEncrypt(json_secret, "json", key.recipient));
  PathRequest request;
  request.age_keys = key.identity;
  auto r = RenderAt("app", request);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->decrypted_files, 2u);
  EXPECT_EQ((*Find(*r, "Secret", "db"))["stringData"]["user"], "admin-user-marker");
  EXPECT_EQ((*Find(*r, "Secret", "api"))["stringData"]["token"], "json-token-marker");
}

TEST_F(RenderPathTest, EncryptedFilesInAKustomizationAndInHelmValuesAreDecryptedBeforeTheBuild) {
  const AgeKey key = NewAgeKey();
  WriteBaseAndOverlay();
  Write("overlays/prod/secret.yaml", SopsEncrypt(kPlainSecret, "yaml", key.recipient));
  Write("overlays/prod/kustomization.yaml",
        "namespace: prod\nresources: [../../base, secret.yaml]\n"
        "secretGenerator:\n- name: generated\n  envs: [app.env]\n");
  Write("overlays/prod/app.env", SopsEncrypt("API_KEY=env-key-marker\n", "dotenv", key.recipient));
  PathRequest request;
  request.age_keys = key.identity;
  auto r = RenderAt("overlays/prod", request);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->decrypted_files, 2u);
  const Json* secret = Find(*r, "Secret", "db");
  ASSERT_NE(secret, nullptr);
  // Decrypted before kustomize set the namespace, so the MAC held.
  EXPECT_EQ((*secret)["metadata"]["namespace"], "prod");
  EXPECT_EQ((*secret)["stringData"]["password"], "hunter2-plaintext-marker");
  const Json* generated = Find(*r, "Secret", "generated-");
  ASSERT_NE(generated, nullptr);
  EXPECT_EQ((*generated)["data"]["API_KEY"], "ZW52LWtleS1tYXJrZXI=");  // base64

  Write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
  Write("chart/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: from-values}\n"
        "stringData: {password: {{ .Values.password | quote }}}\n");
  Write("chart/secrets.yaml",
        SopsEncrypt("password: values-password-marker\n", "yaml", key.recipient));
  request.helm.values_files = {"secrets.yaml"};
  auto chart = RenderAt("chart", request);
  ASSERT_TRUE(chart.ok()) << chart.error().message();
  EXPECT_EQ((*Find(*chart, "Secret", "from-values"))["stringData"]["password"],
            "values-password-marker");
  request.age_keys.reset();
  auto refused = RenderAt("chart", request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "chart/secrets.yaml: encrypted with SOPS, and spec.decryption is not set; refusing "
            "to apply it encrypted");
}

TEST_F(RenderPathTest, NoDecryptedValueReachesAnErrorMessage) {
  const AgeKey key = NewAgeKey();
  // Both decrypt fine (sops encrypts every value by default, the name too), then kustomize
  // refuses the second and names the object: by its decrypted name.
  const std::string secret =
      "apiVersion: v1\nkind: Secret\nmetadata: {name: hunter2-plaintext-marker}\n"
      "stringData: {password: p}\n";
  Write("app/kustomization.yaml", "resources: [a.yaml, b.yaml]\n");
  Write("app/a.yaml", SopsEncrypt(secret, "yaml", key.recipient));
  Write("app/b.yaml", SopsEncrypt(secret, "yaml", key.recipient));
  PathRequest request;
  request.age_keys = key.identity;
  auto r = RenderAt("app", request);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("already registered id"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().message().find("hunter2-plaintext-marker"), std::string::npos)
      << r.error().message();
}

// A renderer that never ends, or prints without end, is stopped: the bounds are the controller's,
// not the program's. Stand-ins for kustomize here; the real one does neither on request.
TEST_F(RenderPathTest, ARendererIsBoundInTimeAndOutput) {
  Write("app/kustomization.yaml", "resources: []\n");
  Write("bin/hang", "#!/bin/sh\nexec /bin/sleep 30\n");
  Write("bin/flood", "#!/bin/sh\nexec /usr/bin/yes 'a: b'\n");
  for (const char* bin : {"bin/hang", "bin/flood"}) {
    fs::permissions(root_ + "/checkout/" + bin, fs::perms::owner_all);
  }
  options_.kustomize = root_ + "/checkout/bin/hang";
  options_.tool_timeout = std::chrono::milliseconds(300);
  auto hung = RenderAt("app");
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error().message().rfind("app: kustomize build: cannot run ", 0), 0u)
      << hung.error().message();
  EXPECT_NE(hung.error().message().find("did not finish within 300ms"), std::string::npos)
      << hung.error().message();

  options_.kustomize = root_ + "/checkout/bin/flood";
  options_.tool_timeout = std::chrono::seconds(20);
  options_.max_tool_output_bytes = 1 << 20;
  auto flooded = RenderAt("app");
  ASSERT_FALSE(flooded.ok());
  EXPECT_EQ(flooded.error().message().rfind("app: kustomize build: cannot run ", 0), 0u)
      << flooded.error().message();
  EXPECT_NE(flooded.error().message().find("printed more than 1048576 bytes"), std::string::npos)
      << flooded.error().message();
}

// A commit already built is not built again: the program does not run (here it could not), and
// any change of what the build reads (a file, the keys) builds anew.
TEST_F(RenderPathTest, ABuildIsKeptByEverythingItReads) {
  BuildCache cache(1 << 20);
  options_.cache = &cache;
  // The programs through links that can be taken away: a render that needs them then fails.
  const std::string kustomize = root_ + "/kustomize", sops = root_ + "/sops";
  auto link = [&] {
    fs::create_symlink(testing::RenderTools().kustomize, kustomize);
    fs::create_symlink(testing::RenderTools().sops, sops);
  };
  auto unlink = [&] {
    fs::remove(kustomize);
    fs::remove(sops);
  };
  options_.kustomize = kustomize;
  options_.sops = sops;
  link();
  const AgeKey key = NewAgeKey();
  WriteBaseAndOverlay();
  Write("overlays/prod/secret.yaml", SopsEncrypt(kPlainSecret, "yaml", key.recipient));
  Write("overlays/prod/kustomization.yaml",
        "namespace: prod\nresources: [../../base, secret.yaml]\n");
  Write("plain/secret.yaml", SopsEncrypt(kPlainSecret, "yaml", key.recipient));
  PathRequest request;
  request.age_keys = key.identity;
  auto first = RenderAt("overlays/prod", request);
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto plain = RenderAt("plain", request);
  ASSERT_TRUE(plain.ok()) << plain.error().message();
  EXPECT_GT(cache.bytes(), 0u);

  unlink();
  auto again = RenderAt("overlays/prod", request);
  ASSERT_TRUE(again.ok()) << again.error().message();
  ASSERT_EQ(again->objects.size(), first->objects.size());
  for (size_t i = 0; i < first->objects.size(); ++i) {
    EXPECT_TRUE(again->objects[i].object == first->objects[i].object);
  }
  EXPECT_EQ(again->decrypted_files, 1u);
  // Plain manifests keep each decrypted file.
  auto plain_again = RenderAt("plain", request);
  ASSERT_TRUE(plain_again.ok()) << plain_again.error().message();
  EXPECT_EQ((*Find(*plain_again, "Secret", "db"))["stringData"]["password"],
            "hunter2-plaintext-marker");

  // Any change of what the build reads builds anew: a file ...
  Write("base/deploy.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n");
  auto changed = RenderAt("overlays/prod", request);
  ASSERT_FALSE(changed.ok()) << "a changed base file was served from the cache";
  EXPECT_NE(changed.error().message().find("cannot run"), std::string::npos);
  // ... or the keys: other keys must decrypt (and fail) for themselves.
  link();
  PathRequest other = request;
  other.age_keys = NewAgeKey().identity;
  auto wrong = RenderAt("overlays/prod", other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("sops cannot decrypt"), std::string::npos)
      << wrong.error().message();
  auto wrong_plain = RenderAt("plain", other);
  ASSERT_FALSE(wrong_plain.ok());
  EXPECT_NE(wrong_plain.error().message().find("sops cannot decrypt"), std::string::npos);
}

TEST(BuildCache, EvictsTheLeastRecentlyUsedPastItsBound) {
  BuildCache cache(8000);
  auto key = [](int i) { return "k" + std::to_string(i); };
  for (int i = 0; i < 10; ++i) cache.Put(key(i), {std::string(600, 'x'), {}, 0});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cache.Get(key(i)).has_value()) << i;
  ASSERT_TRUE(cache.Get(key(0)).has_value());  // now the most recent
  cache.Put(key(10), {std::string(600, 'x'), {}, 0});
  EXPECT_TRUE(cache.Get(key(0)).has_value());
  EXPECT_FALSE(cache.Get(key(1)).has_value()) << "the least recently used goes first";
  EXPECT_TRUE(cache.Get(key(10)).has_value());
  EXPECT_LE(cache.bytes(), 8000u);
  // Over an eighth of the bound: not kept, and nothing evicted for it.
  cache.Put("huge", {std::string(1100, 'h'), {}, 0});
  EXPECT_FALSE(cache.Get("huge").has_value());
  EXPECT_TRUE(cache.Get(key(2)).has_value());
}

// The metadata of a SOPS file is written by whoever commits it: a KMS or Vault key in it would
// make sops reach the network with the controller's identity.
TEST_F(RenderPathTest, AFileEncryptedForAnythingButAgeIsRefusedBeforeSopsRuns) {
  const AgeKey key = NewAgeKey();
  std::string encrypted = SopsEncrypt(kPlainSecret, "yaml", key.recipient);
  const auto at = encrypted.find("sops:\n");
  ASSERT_NE(at, std::string::npos);
  encrypted.insert(at + 6,
                   "    hc_vault:\n        - vault_address: http://127.0.0.1:1\n"
                   "          engine_path: sops\n          key_name: k\n"
                   "    kms:\n        - arn: arn:aws:kms:us-east-1:1:key/x\n");
  Write("app/secret.yaml", encrypted);
  PathRequest request;
  request.age_keys = key.identity;
  options_.sops = root_ + "/no-such-program";  // never reached
  auto r = RenderAt("app", request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "app/secret.yaml: encrypted for hc_vault, kms keys; the controller decrypts only with "
            "the age keys of spec.decryption");
}

// Decrypted values go back with the render, in every form a later message may quote them.
TEST_F(RenderPathTest, TheDecryptedValuesComeBackForWhateverPrintsLater) {
  const AgeKey key = NewAgeKey();
  Write("app/secret.yaml", SopsEncrypt(kPlainSecret, "yaml", key.recipient, "^(data|stringData)$"));
  PathRequest request;
  request.age_keys = key.identity;
  auto r = RenderAt("app", request);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const auto& values = r->secret_values;
  auto has = [&](const std::string& v) {
    return std::find(values.begin(), values.end(), v) != values.end();
  };
  EXPECT_TRUE(has("hunter2-plaintext-marker"));
  EXPECT_TRUE(has("aHVudGVyMi1wbGFpbnRleHQtbWFya2Vy"));  // base64
  EXPECT_TRUE(has(key.identity));
  EXPECT_FALSE(has("db")) << "a name left readable is not a secret";
}

TEST_F(RenderPathTest, EachDirectoryIsReadOnceHoweverOftenItIsNamed) {
  WriteBaseAndOverlay();
  std::string many = "resources:\n";
  for (int i = 0; i < 300; ++i) many += "- ../../base\n";
  Write("overlays/prod/kustomization.yaml", many);
  int reads = 0;
  const std::string checkout = root_ + "/checkout";
  PathRequest request;
  request.path = "overlays/prod";
  request.helm.release_name = "app";
  request.helm.ns = "team";
  auto r = RenderPath(
      [&](const std::string& dir, const source::ReadOptions& read) {
        ++reads;
        return source::ReadLocalDir(checkout, dir, read);
      },
      request, options_);
  ASSERT_FALSE(r.ok()) << "kustomize refuses a base named twice";
  EXPECT_LE(reads, 3) << "the path (twice: manifests, then everything) and base once";
}

TEST_F(RenderPathTest, LocalFilesAndPathsThatLookLikeUrlsStayInTheRepository) {
  for (const char* entry : {"file:///etc", "../../../x?ref=main"}) {
    Write("app/kustomization.yaml", std::string("resources: [\"") + entry + "\"]\n");
    options_.allow_remote_bases = true;
    auto r = RenderAt("app");
    ASSERT_FALSE(r.ok()) << entry;
    EXPECT_NE(r.error().message().find("repository"), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().message().find("remote base"), std::string::npos) << r.error().message();
  }
}

TEST_F(RenderPathTest, ACheckoutPathThroughASymlinkIsRefused) {
  fs::create_directories(root_ + "/elsewhere");
  std::ofstream(root_ + "/elsewhere/cm.yaml")
      << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n";
  fs::create_directories(root_ + "/checkout/apps");
  fs::create_directory_symlink(root_ + "/elsewhere", root_ + "/checkout/apps/web");
  auto r = RenderAt("apps/web");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "path \"apps/web\" is a symbolic link; they are not followed");
}

// The programs of one render share the reconcile's spec.timeout: none starts past it.
TEST_F(RenderPathTest, ARenderPastTheApplicationsTimeoutRunsNoProgram) {
  WriteBaseAndOverlay();
  PathRequest request;
  request.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto r = RenderAt("overlays/prod", request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "rendering ran past the Application's spec.timeout");
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout);
}

TEST(Scrub, ReplacesEveryDecryptedValueLongestFirst) {
  EXPECT_EQ(Scrub("user admin, password admin-secret, again admin-secret",
                  {"admin", "admin-secret", "ab"}),
            "user ***, password ***, again ***");
  EXPECT_EQ(Scrub("nothing to hide", {}), "nothing to hide");
}

TEST(Sops, OnlyFilesWithSopsMetadataCountAsEncrypted) {
  EXPECT_FALSE(IsSopsEncrypted("a.yaml", "apiVersion: v1\nkind: ConfigMap\n"));
  EXPECT_FALSE(IsSopsEncrypted("a.yaml", "sops: just a word, mac too\n"));
  EXPECT_TRUE(IsSopsEncrypted("a.yaml", "a: ENC[x]\nsops:\n  mac: ENC[y]\n"));
  EXPECT_TRUE(IsSopsEncrypted("a.json", R"({"a":"ENC[x]","sops":{"mac":"ENC[y]"}})"));
  EXPECT_TRUE(IsSopsEncrypted("a.env", "A=ENC[x]\nsops_mac=ENC[y]\n"));
  EXPECT_FALSE(IsSopsEncrypted("a.txt", "sops:\n  mac: ENC[y]\n"));
  // Whatever the name: encrypted is encrypted, never packed into a Secret as ciphertext.
  EXPECT_EQ(SopsFormatOf("app.env.prod", "A=ENC[x]\nsops_mac=ENC[y]\n"), "dotenv");
  EXPECT_EQ(SopsFormatOf("app.ini", "[app]\na = ENC[x]\n[sops]\nmac = ENC[y]\n"), "ini");
  EXPECT_EQ(SopsFormatOf("key.bin", R"({"data":"ENC[x]","sops":{"mac":"ENC[y]"}})"), "binary");
  EXPECT_EQ(SopsFormatOf("a.yaml", "a: ENC[x]\nsops:\n  mac: ENC[y]\n"), "yaml");
}

TEST(Sops, FormsOfAValueAreWhatMessagesQuote) {
  EXPECT_EQ(FormsOf("line one\nline two"),
            (std::vector<std::string>{"line one\nline two", "line one", "line two",
                                      "line one\\nline two", "bGluZSBvbmUKbGluZSB0d28="}));
  EXPECT_EQ(FormsOf("plain"), (std::vector<std::string>{"plain", "cGxhaW4="}));
}

}  // namespace
}  // namespace plumbline::render
