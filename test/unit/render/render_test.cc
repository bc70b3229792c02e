#include "render/render.h"

#include <gtest/gtest.h>

namespace plumbline::render {
namespace {

using source::File;

TEST(Render, ReadsYamlYmlAndJsonMultiDocumentInPathOrder) {
  std::vector<File> files = {
      {"a.yaml",
       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n"},
      {"b/c.yml", "apiVersion: v1\nkind: Secret\nmetadata: {name: three}\n"},
      {"d.json", R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "four"}})"},
      {"README.md", "not a manifest"},
  };
  auto objects = Render(files);
  ASSERT_TRUE(objects.ok()) << objects.error().message();
  ASSERT_EQ(objects->size(), 4u);
  EXPECT_EQ((*objects)[0].object["metadata"]["name"], "one");
  EXPECT_EQ((*objects)[1].object["metadata"]["name"], "two");
  EXPECT_EQ((*objects)[1].source, "a.yaml:5");  // the line where the document starts
  EXPECT_EQ((*objects)[2].object["kind"], "Secret");
  EXPECT_EQ((*objects)[3].object["kind"], "Service");
}

TEST(Render, FlattensLists) {
  auto objects = Render({{"list.yaml", R"(apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
)"}});
  ASSERT_TRUE(objects.ok());
  ASSERT_EQ(objects->size(), 2u);
  EXPECT_EQ((*objects)[1].object["metadata"]["name"], "b");
}

TEST(Render, ErrorsNameTheFileAndLine) {
  auto bad_yaml = Render({{"ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
                          {"bad.yaml", "apiVersion: v1\nkind: [\n"}});
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_EQ(bad_yaml.error().message().rfind("bad.yaml:", 0), 0u) << bad_yaml.error().message();

  auto no_kind = Render({{"x.yaml",
                          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
                          "apiVersion: v1\nmetadata: {name: b}\n"}});
  ASSERT_FALSE(no_kind.ok());
  EXPECT_EQ(no_kind.error().message(), "x.yaml:5: object has no kind");

  auto no_name = Render({{"y.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"}});
  ASSERT_FALSE(no_name.ok());
  EXPECT_EQ(no_name.error().message(), "y.yaml:1: ConfigMap has no metadata.name");

  auto scalar = Render({{"z.yaml", "just a string\n"}});
  ASSERT_FALSE(scalar.ok());
  EXPECT_EQ(scalar.error().message(), "z.yaml:1: a manifest must be a map");
}

TEST(Render, AKustomizationOrAChartBelowThePathIsRefusedClearly) {
  // The path itself renders with kustomize or helm (render/path.h); one found deeper is a
  // mistake in spec.source.path, not manifests.
  auto r = Render({{"base/kustomization.yaml", "resources: [a.yaml]\n"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "base/kustomization.yaml: a kustomization below the Application's path; set "
            "spec.source.path to its directory to build it with kustomize");
  auto chart = Render({{"charts/web/Chart.yaml", "apiVersion: v2\nname: web\n"},
                       {"charts/web/templates/a.yaml", "{{ .Values.x }}"}});
  ASSERT_FALSE(chart.ok());
  EXPECT_EQ(chart.error().message(),
            "charts/web/Chart.yaml: a Helm chart below the Application's path; set "
            "spec.source.path to its directory to render it with helm");
}

TEST(Render, EnforcesLimits) {
  std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
  RenderOptions tiny;
  tiny.max_file_bytes = 10;
  auto big = Render({{"a.yaml", cm}}, tiny);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("over the limit of 10"), std::string::npos);

  RenderOptions few;
  few.max_documents = 2;
  auto many = Render({{"a.yaml", cm + "---\n" + cm + "---\n" + cm}}, few);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.error().message().find("more than 2 YAML documents"), std::string::npos);

  RenderOptions one;
  one.max_objects = 1;
  auto objects = Render({{"a.yaml", cm + "---\n" + cm}}, one);
  ASSERT_FALSE(objects.ok());
  EXPECT_NE(objects.error().message().find("more than 1 objects"), std::string::npos);
}

TEST(Render, AKindThatIsNotAStringIsAnErrorNamingTheFileNotAThrow) {
  for (const char* doc : {"apiVersion: v1\nkind: 5\nmetadata: {name: a}\n",
                          "apiVersion: v1\nkind: [List]\nitems: []\n",
                          "apiVersion: {a: b}\nkind: ConfigMap\nmetadata: {name: a}\n"}) {
    Result<std::vector<RenderedObject>> rendered = Error(ErrorCode::kInternal, "not run");
    EXPECT_NO_THROW(rendered = Render({{"k.yaml", doc}})) << doc;
    ASSERT_FALSE(rendered.ok()) << doc;
    EXPECT_EQ(rendered.error().message().rfind("k.yaml:1: ", 0), 0u) << rendered.error().message();
    EXPECT_NE(rendered.error().message().find("must be a non-empty string"), std::string::npos)
        << rendered.error().message();
  }
}

}  // namespace
}  // namespace plumbline::render
