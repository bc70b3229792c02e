// The policy gate's client logic: what it sends, and how it reads each answer a policy server
// may give. A local HTTP server plays the server's answers; the real OPA runs in
// integration/process/policy_test.cc.
#include "policy/gate.h"

#include <mutex>

#include <gtest/gtest.h>

#include "http/server.h"

namespace plumbline::policy {
namespace {

Result<std::unique_ptr<Gate>> GateFor(const std::string& url) {
  GateOptions options;
  options.url = url;
  return NewOpaGate(options);
}

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto handler = [this](const http::ServerRequest& r) {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(r);
      auto it = answers_.find(r.path);
      if (it == answers_.end()) return http::ServerResponse{404, "{}", "application/json"};
      return http::ServerResponse{it->second.first, it->second.second, "application/json"};
    };
    auto server = http::Serve("127.0.0.1:0", {{"/v1/data/plumbline/deny", handler},
                                              {"/v1/data/plumbline/prod/deny", handler}});
    ASSERT_TRUE(server.ok()) << server.error().message();
    server_ = std::move(*server);
  }
  void Answer(const std::string& path, int status, const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[path] = {status, body};
  }
  std::unique_ptr<Gate> NewGate(const std::string& rule = "plumbline/deny") {
    auto gate = GateFor("http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/data/" + rule);
    EXPECT_TRUE(gate.ok()) << gate.error().message();
    return gate.ok() ? std::move(*gate) : nullptr;
  }
  std::vector<http::ServerRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> answers_;
  std::vector<http::ServerRequest> requests_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(GateTest, PostsTheInputToTheRuleAndReadsStringAndObjectDenials) {
  Answer("/v1/data/plumbline/deny", 200,
         R"({"result": ["no owner label",
                        {"msg": "uses :latest", "object": "Deployment/team-a/web"},
                        {"msg": "privileged", "object": {"kind": "Pod", "metadata":
                          {"namespace": "team-a", "name": "debug"}}}]})");
  auto gate = NewGate();
  ASSERT_NE(gate, nullptr);
  Json input = InputFor({"team-a", "web", "abc", "Alice <a@x>", "msg"},
                        {Json{{"kind", "ConfigMap"}, {"apiVersion", "v1"}}});
  auto denials = gate->Evaluate(input, {});
  ASSERT_TRUE(denials.ok()) << denials.error().message();
  ASSERT_EQ(denials->size(), 3u);
  EXPECT_EQ((*denials)[0].message, "no owner label");
  EXPECT_EQ((*denials)[0].object, "");
  EXPECT_EQ((*denials)[1].object, "Deployment/team-a/web");
  EXPECT_EQ((*denials)[2].object, "Pod/team-a/debug");
  EXPECT_EQ((*denials)[2].rule, "plumbline/deny");
  EXPECT_EQ(Describe(*denials),
            "no owner label; Deployment/team-a/web: uses :latest; Pod/team-a/debug: privileged");
  auto sent = Requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  Json body = Json::parse(sent[0].body);
  EXPECT_EQ(body["input"], input);
  EXPECT_EQ(body["input"]["application"]["name"], "web");
  EXPECT_EQ(body["input"]["commit"]["sha"], "abc");
}

TEST_F(GateTest, AnEmptySetAllowsAndExtraRulesAreAskedToo) {
  Answer("/v1/data/plumbline/deny", 200, R"({"result": []})");
  Answer("/v1/data/plumbline/prod/deny", 200, R"({"result": ["prod needs two replicas"]})");
  auto gate = NewGate();
  ASSERT_NE(gate, nullptr);
  auto allowed = gate->Evaluate(Json::object(), {});
  ASSERT_TRUE(allowed.ok());
  EXPECT_TRUE(allowed->empty());
  auto denied = gate->Evaluate(Json::object(), {"plumbline/prod/deny"});
  ASSERT_TRUE(denied.ok());
  ASSERT_EQ(denied->size(), 1u);
  EXPECT_EQ((*denied)[0].rule, "plumbline/prod/deny");
}

TEST_F(GateTest, AnUndefinedRuleOrAnAnswerThatIsNotASetIsAnErrorNotAnAllow) {
  auto gate = NewGate();
  ASSERT_NE(gate, nullptr);
  Answer("/v1/data/plumbline/deny", 200, R"({})");  // OPA's answer for an undefined document
  auto undefined = gate->Evaluate(Json::object(), {});
  ASSERT_FALSE(undefined.ok());
  EXPECT_NE(undefined.error().message().find("is not defined"), std::string::npos);
  for (const char* body : {R"({"result": true})", R"({"result": {"a": 1}})", "not json", "[]"}) {
    Answer("/v1/data/plumbline/deny", 200, body);
    auto bad = gate->Evaluate(Json::object(), {});
    EXPECT_FALSE(bad.ok()) << body;
    if (!bad.ok()) {
      EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument) << body;
    }
  }
  Answer("/v1/data/plumbline/deny", 500, R"({"code": "internal_error"})");
  auto failed = gate->Evaluate(Json::object(), {});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
}

// A rule that cannot be evaluated never hides another's denial (with --policy-fail-open the
// error alone would let the revision through).
TEST_F(GateTest, ADenialStandsWhenAnotherRuleFails) {
  Answer("/v1/data/plumbline/deny", 200, R"({"result": ["uses :latest"]})");
  Answer("/v1/data/plumbline/prod/deny", 500, R"({"code": "internal_error"})");
  auto gate = NewGate();
  ASSERT_NE(gate, nullptr);
  auto denied = gate->Evaluate(Json::object(), {"plumbline/prod/deny"});
  ASSERT_TRUE(denied.ok()) << denied.error().message();
  ASSERT_EQ(denied->size(), 1u);
  EXPECT_EQ((*denied)[0].message, "uses :latest");
}

TEST_F(GateTest, ExtraRulesMustBeUnderTheDefaultRulesPackage) {
  Answer("/v1/data/plumbline/deny", 200, R"({"result": []})");
  auto gate = NewGate();
  ASSERT_NE(gate, nullptr);
  auto outside = gate->Evaluate(Json::object(), {"tenants/other/secrets"});
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(Requests().empty()) << "nothing may be asked of a rule outside the package";
}

TEST_F(GateTest, TextThatIsNotUtf8IsSentReplacedNotThrownOn) {
  Answer("/v1/data/plumbline/deny", 200, R"({"result": []})");
  auto gate = NewGate();
  ASSERT_NE(gate, nullptr);
  Json input = InputFor({"ns", "app", "sha", "Ren\xe9 <r@x>", "caf\xe9"},
                        {Json{{"kind", "ConfigMap"}, {"data", {{"v", "\xff"}}}}});
  auto allowed = gate->Evaluate(input, {});
  ASSERT_TRUE(allowed.ok()) << allowed.error().message();
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_TRUE(Json::accept(Requests()[0].body));
}

TEST_F(GateTest, AServerThatIsNotThereIsUnavailable) {
  auto gate = GateFor("http://127.0.0.1:1/v1/data/plumbline/deny");
  ASSERT_TRUE(gate.ok());
  auto result = (*gate)->Evaluate(Json::object(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().code() == ErrorCode::kUnavailable ||
              result.error().code() == ErrorCode::kTimeout)
      << result.error().message();
}

TEST(GateOptionsTest, TheUrlMustNameARuleOfTheDataApi) {
  for (const char* url : {"", "opa:8181/v1/data/x", "ftp://opa/v1/data/x", "http://opa:8181",
                          "http://opa:8181/v1/data/", "http://opa:8181/v1/policies/x",
                          "http://opa:8181/v1/data/x?pretty=true"}) {
    EXPECT_FALSE(GateFor(url).ok()) << url;
  }
  EXPECT_TRUE(GateFor("https://opa.opa.svc:8181/v1/data/plumbline/deny").ok());
}

TEST(InputTest, SecretValuesAreMaskedBeforeTheyLeave) {
  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata", {{"name", "db"}}},
                 {"data", {{"password", "c2VjcmV0"}}},
                 {"stringData", {{"token", "plain"}}}};
  Json config = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"password", "shown"}}}};
  Json input = InputFor({"ns", "app", "sha", "a", "m"}, {secret, config});
  const std::string text = input.dump();
  EXPECT_EQ(text.find("c2VjcmV0"), std::string::npos) << text;
  EXPECT_EQ(text.find("plain"), std::string::npos) << text;
  EXPECT_EQ(input["objects"][0]["data"]["password"], "***");
  EXPECT_EQ(input["objects"][0]["stringData"]["token"], "***");
  EXPECT_EQ(input["objects"][1]["data"]["password"], "shown");
}

}  // namespace
}  // namespace plumbline::policy
