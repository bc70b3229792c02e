// Hostile YAML against the real binary (issue 10): an alias cycle crashed `plumbline run` with
// SIGSEGV (a crash loop for every tenant) and `plumbline diff --local` with exit 139, and a
// 342-byte alias bomb took the controller to gigabytes. Each file below must be an error naming
// it (RenderFailed for `run`, which keeps running; exit 2 for `diff`), with memory bounded.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct Hostile {
  std::string name;
  std::string content;
};

std::vector<Hostile> HostileFiles() {
  std::string bomb =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [" + Repeat("*" + prev + ",", 8) + "*" + prev + "]\n";
  }
  return {
      {"cycle.yaml", "data: &a [*a]\n"},
      {"bomb.yaml", bomb},
      // One large string repeated: few nodes, 16 MiB of text.
      {"wide.yaml",
       "big: &s " + std::string(16 << 10, 'x') + "\ncopies: [" + Repeat("*s,", 1023) + "*s]\n"},
      {"deep.yaml", Repeat("[", 100000)},
      // yaml-cpp 0.7 reports null nodes without end for this one (found by fuzzing).
      {"loop.yaml", "{},"},
  };
}

// What a finished child did: its exit code (128+signal when killed), its stderr and its own
// peak resident set in KiB (measured by the launcher, not inherited from this test's).
struct Finished {
  int code = -1;
  std::string err;
  long max_rss_kib = 0;
};

// Runs the plumbline binary with `args`, waiting at most a minute (a hang is killed and fails).
Finished RunBinary(const std::vector<std::string>& args, const std::string& err_file) {
  const std::string rss_file = err_file + ".rss";
  std::vector<std::string> argv{testing::PeakRssLauncher(), rss_file, testing::PlumblineBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  Finished f;
  pid_t pid = fork();
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(127);
    dup2(out, 1);
    dup2(err, 2);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0);
  if (pid <= 0) return f;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a bounded poll
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "plumbline " << args[0] << " did not finish within 60 s";
  }
  f.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  f.err = testing::ReadFile(err_file);
  const std::string rss = testing::ReadFile(rss_file);
  EXPECT_FALSE(rss.empty()) << "the launcher wrote no peak for plumbline " << args[0];
  f.max_rss_kib = rss.empty() ? 0 : std::stol(rss);
  return f;
}

// The bound on memory: an expansion that escaped the limits would take gigabytes.
constexpr long kBoundKib = 50 << 10;

class HostileYamlTest : public testing::ProcessTest {
 protected:
  std::string Cond(const char* field) {
    auto app = client_->Get(apps_, namespace_, "web");
    if (!app.ok() || !app->contains("status")) return "";
    for (const auto& c : (*app)["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") return c.value(field, "");
    }
    return "";
  }
  std::string Attempted() {
    auto app = client_->Get(apps_, namespace_, "web");
    return app.ok() && app->contains("status") ? (*app)["status"].value("lastAttemptedRevision", "")
                                               : "";
  }
};

TEST_F(HostileYamlTest, DiffLocalExitsTwoNamingTheFileWithBoundedMemory) {
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  CommitConfig(repo, "1");
  ApplyApp(daemon_->Url(namespace_ + "-web"), "1h");
  const std::vector<std::string> common{"diff",         "web",
                                        "--local",      repo.dir(),
                                        "--kubeconfig", testing::ControlPlane::Get()->kubeconfig(),
                                        "-n",           namespace_,
                                        "--cache-dir",  dir_ + "/cli-cache"};

  // The same command on a good checkout: it renders and runs the dry run (nothing is applied,
  // so the ConfigMap shows as created: exit 1).
  Finished good = RunBinary(common, dir_ + "/good.err");
  ASSERT_EQ(good.code, 1) << good.err;
  std::printf("diff --local, good checkout: peak RSS %ld KiB\n", good.max_rss_kib);

  for (const auto& h : HostileFiles()) {
    repo.Write("app/" + h.name, h.content);
    Finished bad = RunBinary(common, dir_ + "/bad.err");
    std::filesystem::remove(repo.dir() + "/app/" + h.name);  // never committed
    std::printf("diff --local, %s (%zu bytes): exit %d, peak RSS %ld KiB\n", h.name.c_str(),
                h.content.size(), bad.code, bad.max_rss_kib);
    EXPECT_EQ(bad.code, 2) << h.name << ": " << bad.err;
    EXPECT_NE(bad.err.find("app/" + h.name), std::string::npos) << h.name << ": " << bad.err;
    if (testing::kRssBoundsApply) {
      EXPECT_LT(bad.max_rss_kib, kBoundKib) << h.name;
    }
  }
}

TEST_F(HostileYamlTest, RunReportsRenderFailedNamingTheFileAndKeepsRunning) {
  testing::ControllerProcess& controller = StartReplica("replica-yaml");
  testing::GitRepo repo(dir_ + "/repos/" + namespace_ + "-web");
  const std::string first = CommitConfig(repo, "1");
  ApplyApp(daemon_->Url(namespace_ + "-web"), "1s");
  ASSERT_TRUE(
      Eventually([&] { return AppliedAt(first) && LiveValue() == "1"; }, std::chrono::seconds(60)))
      << controller.Log();
  const long settled_kib = testing::ProcStatusKib(controller.pid(), "VmHWM");
  std::printf("plumbline run after the first apply: peak RSS %ld KiB\n", settled_kib);

  for (const auto& h : HostileFiles()) {
    repo.Write("app/" + h.name, h.content);
    const std::string bad = repo.Commit("hostile " + h.name);
    repo.Remove("app/" + h.name);
    EXPECT_TRUE(Eventually([&] { return Attempted() == bad && Cond("reason") == "RenderFailed"; },
                           std::chrono::seconds(60)))
        << h.name << ": " << Cond("reason") << " " << Cond("message") << "\n"
        << controller.Log();
    EXPECT_NE(Cond("message").find("app/" + h.name), std::string::npos)
        << h.name << ": " << Cond("message");
    ASSERT_FALSE(controller.Wait(std::chrono::milliseconds(0)).has_value())
        << h.name << " stopped the controller\n"
        << controller.Log();
    const long peak_kib = testing::ProcStatusKib(controller.pid(), "VmHWM");
    std::printf("plumbline run, %s: peak RSS %ld KiB\n", h.name.c_str(), peak_kib);
    if (testing::kRssBoundsApply) {
      EXPECT_LT(peak_kib, settled_kib + kBoundKib) << h.name;
    }
  }

  // Still reconciling: the next good commit is applied.
  const std::string fixed = CommitConfig(repo, "2");
  EXPECT_TRUE(
      Eventually([&] { return AppliedAt(fixed) && LiveValue() == "2"; }, std::chrono::seconds(60)))
      << controller.Log();
}

}  // namespace
}  // namespace plumbline
