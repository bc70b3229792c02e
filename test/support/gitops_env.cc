#include "support/gitops_env.h"

#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <streambuf>
#include <utility>

#include "common/base64.h"
#include "kube/errors.h"
#include "support/control_plane.h"
#include "support/render_tools.h"
#include "yaml/yaml_json.h"

namespace plumbline::testing {
namespace {
GitOpsEnvironment* g_env = nullptr;

// The in-process controller's log. Kept per test and printed only when the test fails, so a
// failure stands out in CI output instead of drowning among the logs of passing tests.
class LogBuffer : public std::streambuf {
 public:
  std::string Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(text_, {});
  }
  std::string Peek() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(s, static_cast<size_t>(n));
    // A test that logs without end keeps only its last 1 MiB.
    if (text_.size() > kKeep) text_.erase(0, text_.size() - kKeep);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      char ch = traits_type::to_char_type(c);
      xsputn(&ch, 1);
    }
    return c;
  }

 private:
  static constexpr size_t kKeep = 1 << 20;
  std::mutex mu_;
  std::string text_;
};

LogBuffer* g_log_buffer = new LogBuffer();  // written by controller threads until exit
std::ostream* g_log_stream = new std::ostream(g_log_buffer);

class PrintLogOfFailedTests : public ::testing::EmptyTestEventListener {
  // A failed environment set-up runs no test: its log is the only clue.
  void OnEnvironmentsSetUpEnd(const ::testing::UnitTest& unit) override {
    std::string log = g_log_buffer->Take();
    if (unit.ad_hoc_test_result().Failed()) {
      std::cerr << "--- controller log of the set-up:\n"
                << log << "--- end of the controller log\n";
    }
  }
  void OnTestStart(const ::testing::TestInfo&) override { g_log_buffer->Take(); }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::string log = g_log_buffer->Take();
    if (info.result()->Failed()) {
      std::cerr << "--- controller log of " << info.test_suite_name() << "." << info.name() << ":\n"
                << log << "--- end of the controller log\n";
    }
  }
};
}  // namespace

std::unique_ptr<reconcile::Reconciler> GitOpsEnvironment::NewReconciler() {
  reconcile::ReconcilerOptions ropts;
  ropts.controller_namespace = kControllerNamespace;
  ropts.fetch_timeout = std::chrono::seconds(20);
  ropts.health_recheck = options_.health_recheck;
  UseRenderTools(&ropts.render);
  return std::make_unique<reconcile::Reconciler>(*client_, *fetcher_, *events_, *logger_, *metrics_,
                                                 ropts);
}

GitOpsEnvironment* GitOpsEnvironment::Get() { return g_env; }

std::string GitOpsEnvironment::ControllerLog() { return g_log_buffer->Peek(); }

GitOpsEnvironment* AddGitOpsEnvironment(GitOpsOptions options) {
  g_env = new GitOpsEnvironment(std::move(options));
  ::testing::AddGlobalTestEnvironment(g_env);
  ::testing::UnitTest::GetInstance()->listeners().Append(new PrintLogOfFailedTests());
  return g_env;
}

GitOpsEnvironment* AddGitOpsEnvironment(std::chrono::milliseconds health_recheck) {
  GitOpsOptions options;
  options.health_recheck = health_recheck;
  return AddGitOpsEnvironment(std::move(options));
}

void AddApplicationCrdEnvironment() {
  class Crd : public ::testing::Environment {
    void SetUp() override {
      auto client = NewTestClient();
      ASSERT_NE(client, nullptr);
      ApplyRepoFile(*client, "crds/application.yaml");
      ApplyRepoFile(*client, "crds/notifier.yaml");
      ASSERT_TRUE(Eventually([&] {
        return client->Resource({"plumbline.dev", "v1alpha1", "Application"}).ok();
      }));
    }
  };
  ::testing::AddGlobalTestEnvironment(new Crd);
}

void ApplyDeployRbac(kube::Client& admin) {
  const std::string deploy = std::string(PLUMBLINE_SOURCE_DIR) + "/deploy";
  auto kustomization =
      yaml::ParseDocuments(ReadFile(deploy + "/kustomization.yaml"), "deploy/kustomization.yaml");
  ASSERT_TRUE(kustomization.ok() && kustomization->size() == 1);
  const Json& k = (*kustomization)[0];
  const std::string ns = k.value("namespace", "");
  const std::set<std::string> rbac = {"Namespace",          "ServiceAccount", "ClusterRole",
                                      "ClusterRoleBinding", "Role",           "RoleBinding"};
  int applied = 0;
  for (const auto& resource : k.value("resources", Json::array())) {
    const std::string file = deploy + "/" + resource.get<std::string>();
    if (!std::filesystem::is_regular_file(file)) continue;  // ../crds: a directory
    auto docs = yaml::ParseDocuments(ReadFile(file), resource.get<std::string>());
    ASSERT_TRUE(docs.ok()) << docs.error().message();
    for (Json doc : *docs) {
      if (!rbac.count(doc.value("kind", ""))) continue;
      const bool cluster_scoped = doc["kind"] == "Namespace" || doc["kind"] == "ClusterRole" ||
                                  doc["kind"] == "ClusterRoleBinding";
      if (!cluster_scoped && !ns.empty()) doc["metadata"]["namespace"] = ns;
      auto result = admin.Apply(doc);
      ASSERT_TRUE(result.ok()) << result.error().message();
      ++applied;
    }
  }
  ASSERT_GT(applied, 0) << "no RBAC objects found through deploy/kustomization.yaml";
}

void ApplyRepoFile(kube::Client& client, const std::string& relative_path) {
  std::string path = std::string(PLUMBLINE_SOURCE_DIR) + "/" + relative_path;
  auto docs = yaml::ParseDocuments(ReadFile(path), relative_path);
  ASSERT_TRUE(docs.ok()) << docs.error().message();
  for (const auto& doc : *docs) {
    auto applied = client.Apply(doc);
    ASSERT_TRUE(applied.ok()) << applied.error().message();
  }
}

void GitOpsEnvironment::SetUp() {
  char tmpl[] = "/tmp/plumbline-gitops-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  repos_dir_ = dir_ + "/repos";
  std::filesystem::create_directories(repos_dir_);
  daemon_ = std::make_unique<GitDaemon>(repos_dir_);
  ASSERT_TRUE(daemon_->Start().ok());

  kube::ClientOptions options;
  options.qps = 0;
  metrics_ = std::make_unique<metrics::Metrics>();
  ASSERT_TRUE(metrics_->Serve("127.0.0.1:0").ok());
  options.on_request = [this](const kube::RequestRecord& r) {
    counts_.Add(r.verb, r.latency);
    metrics_->KubeRequest(r.verb, r.code, r.latency.count());
  };
  client_ = NewTestClient(options);
  ASSERT_NE(client_, nullptr);
  ApplyRepoFile(*client_, "crds/application.yaml");
  ApplyRepoFile(*client_, "crds/notifier.yaml");
  ASSERT_TRUE(Eventually([&] {
    return client_->Resource({"plumbline.dev", "v1alpha1", "Application"}).ok();
  }));
  Json ns = {
      {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kControllerNamespace}}}};
  ASSERT_TRUE(client_->Apply(ns).ok());
  if (!options_.controller_user.empty()) {
    if (options_.install) {
      options_.install(*client_);
      if (::testing::Test::HasFatalFailure()) return;
    }
    admin_ = std::move(client_);
    client_ = admin_->Impersonate({options_.controller_user, {}});
  }

  logger_ = std::make_unique<log::Logger>(*g_log_stream, log::Format::kText, log::Level::kInfo);
  source::SourceOptions git_options;
  git_options.allow_local_repos = true;  // tests fetch file:// URLs too
  git_ = source::NewLibgit2Source(dir_ + "/cache", git_options);
  fetcher_ = std::make_unique<source::SharedFetcher>(*git_);
  events_ = std::make_unique<events::Recorder>(*client_, "plumbline");
  reconciler_ = NewReconciler();
  reconcile::ControllerOptions copts;
  copts.workers = 4;
  copts.queue.base_backoff = std::chrono::milliseconds(200);
  copts.queue.max_backoff = std::chrono::seconds(2);
  copts.on_queue_depth = [this](size_t depth) {
    metrics_->SetWorkqueueDepth(static_cast<int>(depth));
  };
  controller_ = std::make_unique<reconcile::Controller>(*client_, *reconciler_, *logger_, copts);
  auto started = controller_->Start();
  ASSERT_TRUE(started.ok()) << started.error().message();
}

void GitOpsEnvironment::TearDown() {
  if (controller_) controller_->Stop();
  // Everything that holds an HTTP client goes now, not at exit: gtest deletes environments
  // during static destruction, after cpprestsdk's I/O service may be gone, and closing a
  // connection then hangs or aborts.
  controller_.reset();
  reconciler_.reset();
  events_.reset();
  fetcher_.reset();
  git_.reset();
  client_.reset();
  admin_.reset();
  if (daemon_) daemon_->Stop();
  std::filesystem::remove_all(dir_);
}

void GitOpsTest::TearDown() {
  auto apps = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  if (apps.ok()) {
    auto list = client_->List(*apps, namespace_);
    if (list.ok()) {
      for (const auto& app : list->items) {
        (void)client_->Delete(*apps, namespace_, app["metadata"]["name"]);
      }
    }
    bool gone = Eventually([&] {
      auto left = client_->List(*apps, namespace_);
      return left.ok() && left->items.empty();
    });
    EXPECT_TRUE(gone) << "Applications of " << namespace_ << " were not finalized";
  }
  KubeTest::TearDown();
}

GitRepo GitOpsTest::NewRepo(const std::string& name, std::string* url) {
  std::string repo = namespace_ + "-" + name;
  *url = GitOpsEnvironment::Get()->daemon().Url(repo);
  return GitRepo(GitOpsEnvironment::Get()->repos_dir() + "/" + repo);
}

void GitOpsTest::ApplySecret(const std::string& name,
                             const std::map<std::string, std::string>& data) {
  Json encoded = Json::object();
  for (const auto& [k, v] : data) encoded[k] = Base64Encode(v);
  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", name}, {"namespace", namespace_}}},
                 {"data", encoded}};
  auto applied = client_->Apply(secret);
  ASSERT_TRUE(applied.ok()) << applied.error().message();
}

void GitOpsTest::ApplyApp(const std::string& name, const Json& spec) {
  Json app = {{"apiVersion", "plumbline.dev/v1alpha1"},
              {"kind", "Application"},
              {"metadata", {{"name", name}, {"namespace", namespace_}}},
              {"spec", spec}};
  kube::ApplyOptions options;
  options.field_manager = "test";
  auto applied = client_->Apply(app, options);
  ASSERT_TRUE(applied.ok()) << applied.error().message();
}

Json GitOpsTest::GetApp(const std::string& name) {
  auto res = client_->Resource({"plumbline.dev", "v1alpha1", "Application"});
  if (!res.ok()) return Json();
  auto app = client_->Get(*res, namespace_, name);
  return app.ok() ? *app : Json();
}

bool GitOpsTest::WaitApp(const std::string& name, const std::function<bool(const Json&)>& pred,
                         std::chrono::milliseconds timeout) {
  Json last;
  bool ok = Eventually(
      [&] {
        last = GetApp(name);
        return !last.is_null() && pred(last);
      },
      timeout);
  if (!ok)
    ADD_FAILURE() << "Application " << name << " never reached the expected state; last:\n"
                  << last.value("status", Json::object()).dump(2);
  return ok;
}

std::string GitOpsTest::Cond(const Json& app, const std::string& type, const char* field) {
  if (!app.contains("status") || !app["status"].contains("conditions")) return "";
  for (const auto& c : app["status"]["conditions"]) {
    if (c.value("type", "") == type) return c.value(field, "");
  }
  return "";
}

Json GitOpsTest::Live(const std::string& api_version, const std::string& kind,
                      const std::string& ns, const std::string& name) {
  auto res = client_->Resource(kube::GroupVersionKind::FromApiVersion(api_version, kind));
  if (!res.ok()) return Json();
  auto obj = client_->Get(*res, ns, name);
  return obj.ok() ? *obj : Json();
}

bool GitOpsTest::ReadyAt(const std::string& name, const std::string& sha) {
  return WaitApp(name, [&](const Json& app) {
    return Cond(app, "Ready") == "True" && StatusOf(app).value("lastAppliedRevision", "") == sha;
  });
}

}  // namespace plumbline::testing

namespace plumbline::testing {

bool GitOpsTest::WaitCached(const std::string& api_version, const std::string& kind,
                            const std::vector<std::string>& names) {
  const auto& cache = GitOpsEnvironment::Get()->reconciler().live_cache();
  auto gvk = kube::GroupVersionKind::FromApiVersion(api_version, kind);
  return Eventually([&] {
    for (const auto& name : names) {
      if (!cache.Lookup({gvk.group, gvk.version, gvk.kind, namespace_, name})) return false;
    }
    return true;
  });
}

}  // namespace plumbline::testing

namespace plumbline::testing {

void GitOpsTest::RequestSync(const std::string& name, const std::string& token) {
  Json patch = {{"apiVersion", "plumbline.dev/v1alpha1"},
                {"kind", "Application"},
                {"metadata",
                 {{"name", name},
                  {"namespace", namespace_},
                  {"annotations", {{"plumbline.dev/requested-at", token}}}}}};
  kube::ApplyOptions as_test;
  as_test.field_manager = "test-sync";
  auto applied = client_->Apply(patch, as_test);
  ASSERT_TRUE(applied.ok()) << applied.error().message();
}

}  // namespace plumbline::testing
