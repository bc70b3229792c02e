// Credentials written into a repository URL (https://user:token@host/...) never leave the
// controller: not in the Application's status, not in its Events, not in the log, not in
// `plumbline get`. The real binary, so the log is the one an operator reads.
#include <set>

#include "integration/process/process_fixture.h"

namespace plumbline {
namespace {

using testing::Eventually;

constexpr char kToken[] = "tok-Zq81xS3CRET";

class RedactionTest : public testing::ProcessTest {
 protected:
  // Events about the Application `web`, as one text.
  std::string EventsText() {
    auto events = client_->Resource({"", "v1", "Event"});
    if (!events.ok()) return "";
    auto list = client_->List(*events, namespace_);
    if (!list.ok()) return "";
    std::string out;
    for (const auto& e : list->items) {
      if (e["involvedObject"].value("name", "") == "web") out += e.dump() + "\n";
    }
    return out;
  }
  Json App() {
    auto app = client_->Get(apps_, namespace_, "web");
    return app.ok() ? *app : Json();
  }
  std::string ReadyReason() {
    Json app = App();
    if (!app.is_object() || !app.contains("status")) return "";
    for (const auto& c : app["status"].value("conditions", Json::array())) {
      if (c.value("type", "") == "Ready") return c.value("reason", "");
    }
    return "";
  }
};

TEST_F(RedactionTest, ATokenInTheRepositoryUrlIsInNoStatusEventLogOrCliOutput) {
  StartReplica("replica-redact");
  // Nothing listens there: the fetch fails, and git's error quotes the URL it was given.
  const std::string url = "http://alice:" + std::string(kToken) +
                          "@127.0.0.1:" + std::to_string(testing::FreePort()) + "/team/repo.git";
  ApplyApp(url, "2s");
  ASSERT_TRUE(Eventually([&] { return ReadyReason() == "FetchFailed"; }, std::chrono::seconds(60)))
      << App().dump(2) << replicas_["replica-redact"]->Log();
  ASSERT_TRUE(Eventually([&] { return EventsText().find("FetchFailed") != std::string::npos; }))
      << EventsText();

  const std::string status = App()["status"].dump();
  EXPECT_EQ(status.find(kToken), std::string::npos) << status;
  EXPECT_EQ(status.find("alice"), std::string::npos) << status;
  // Still says which repository failed, in the chosen form.
  EXPECT_NE(status.find("http://***@127.0.0.1:"), std::string::npos) << status;

  const std::string events = EventsText();
  EXPECT_EQ(events.find(kToken), std::string::npos) << events;
  EXPECT_NE(events.find("http://***@127.0.0.1:"), std::string::npos) << events;

  const std::string log = replicas_["replica-redact"]->Log();
  EXPECT_EQ(log.find(kToken), std::string::npos) << log;
  EXPECT_NE(log.find("***@127.0.0.1:"), std::string::npos) << log;

  const std::string kubeconfig = testing::ControlPlane::Get()->kubeconfig();
  for (const char* format : {"table", "yaml", "json"}) {
    const std::string out =
        testing::MustRun({testing::PlumblineBinary(), "get", "web", "--kubeconfig", kubeconfig,
                          "-n", namespace_, "-o", format});
    EXPECT_EQ(out.find(kToken), std::string::npos) << format << ":\n" << out;
  }
}

}  // namespace
}  // namespace plumbline
