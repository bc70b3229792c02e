#include "app/application.h"

#include <gtest/gtest.h>

#include "common/duration.h"
#include "source/git_source.h"

namespace plumbline::app {
namespace {

TEST(ParseSpec, AppliesDefaults) {
  auto spec = ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "git://h/r"}}})"));
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->path, "");
  EXPECT_EQ(spec->interval, std::chrono::minutes(3));
  EXPECT_EQ(spec->timeout, std::chrono::minutes(5));
  EXPECT_FALSE(spec->prune);
  EXPECT_EQ(spec->drift, DriftMode::kCorrect);
  EXPECT_STREQ(ToString(spec->drift), "correct");
}

TEST(ParseSpec, TheControllersDefaultIntervalAppliesOnlyWhenNoneIsSet) {
  auto unset = ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "git://h/r"}}})"),
                         std::chrono::seconds(30));
  ASSERT_TRUE(unset.ok());
  EXPECT_EQ(unset->interval, std::chrono::seconds(30));
  auto set =
      ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "git://h/r"}, "interval": "1m"}})"),
                std::chrono::seconds(30));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->interval, std::chrono::minutes(1));
}

TEST(ParseSpec, ReadsEveryField) {
  auto spec = ParseSpec(Json::parse(R"({"spec": {
    "source": {"repoURL": "ssh://git@h/r", "revision": "v1.2", "path": "./apps/web/",
               "secretRef": {"name": "creds"}},
    "destination": {"namespace": "web"}, "interval": "1m30s", "timeout": "45s",
    "prune": true, "allowEmpty": true, "drift": "report", "suspend": true,
    "serviceAccountName": "deployer",
    "ignoreDifferences": [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]}})"));
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->path, "apps/web");
  EXPECT_EQ(spec->secret_name, "creds");
  EXPECT_EQ(spec->destination_namespace, "web");
  EXPECT_EQ(spec->interval, std::chrono::seconds(90));
  EXPECT_EQ(spec->timeout, std::chrono::seconds(45));
  EXPECT_TRUE(spec->prune && spec->allow_empty && spec->suspend);
  EXPECT_EQ(spec->drift, DriftMode::kReport);
  EXPECT_STREQ(ToString(spec->drift), "report");
  EXPECT_EQ(spec->service_account_name, "deployer");
  ASSERT_EQ(spec->ignore_differences.size(), 1u);
  EXPECT_EQ(spec->ignore_differences[0].json_pointers[0], "/spec/replicas");
}

TEST(ParseSpec, SpecErrorsAreClear) {
  auto escape =
      ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "x://", "path": "../.."}}})"));
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().message(), "spec.source.path: path \"../..\" leaves the repository");
  auto no_url = ParseSpec(Json::parse(R"({"spec": {"source": {}}})"));
  ASSERT_FALSE(no_url.ok());
  EXPECT_EQ(no_url.error().message(), "spec.source.repoURL is required");
  auto bad_interval =
      ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "u"}, "interval": "soon"}})"));
  ASSERT_FALSE(bad_interval.ok());
  EXPECT_NE(bad_interval.error().message().find("spec.interval"), std::string::npos);
}

TEST(ParseSpec, ReadsHelmAndDecryption) {
  auto spec = ParseSpec(Json::parse(R"({"spec": {
      "source": {"repoURL": "git://h/r", "path": "charts/web",
                 "helm": {"releaseName": "web", "valuesFiles": ["a.yaml", "../b.yaml"],
                          "values": {"replicas": 3}}},
      "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}})"));
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  ASSERT_TRUE(spec->helm.has_value());
  EXPECT_EQ(spec->helm->release_name, "web");
  EXPECT_EQ(spec->helm->values_files, (std::vector<std::string>{"a.yaml", "../b.yaml"}));
  EXPECT_EQ(spec->helm->values, Json({{"replicas", 3}}));
  EXPECT_EQ(spec->decryption_secret, "sops-age");

  auto plain = ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "git://h/r"}}})"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->helm.has_value());
  EXPECT_EQ(plain->decryption_secret, "");

  for (const auto& [body, message] : std::vector<std::pair<const char*, const char*>>{
           {R"("source": {"repoURL": "git://h/r", "helm": {"valuesFiles": "a.yaml"}})",
            "spec.source.helm.valuesFiles must be a list"},
           {R"("source": {"repoURL": "git://h/r", "helm": {"values": [1]}})",
            "spec.source.helm.values must be a map"},
           {R"("source": {"repoURL": "git://h/r", "helm": {"releaseName": "--set-file=x=/y"}})",
            "spec.source.helm.releaseName must be lowercase letters, digits and '-'"},
           {R"("source": {"repoURL": "git://h/r", "helm": {"releaseName": "-web"}})",
            "spec.source.helm.releaseName must be at most 53 characters and start and end with "
            "a letter or digit"},
           {R"("source": {"repoURL": "git://h/r"}, "decryption": {"provider": "vault"})",
            "spec.decryption.provider must be sops"},
           {R"("source": {"repoURL": "git://h/r"}, "decryption": {"provider": "sops"})",
            "spec.decryption.secretRef.name is required (the Secret with the age keys)"},
       }) {
    auto bad = ParseSpec(Json::parse(std::string(R"({"spec": {)") + body + "}}"));
    ASSERT_FALSE(bad.ok()) << body;
    EXPECT_EQ(bad.error().message(), message);
  }
}

TEST(ParseSpec, ReadsVerifyAndPolicy) {
  auto spec = ParseSpec(Json::parse(R"({"spec": {
      "source": {"repoURL": "git://h/r", "revision": "v1"},
      "verify": {"mode": "TagAndHEAD", "secretRef": {"name": "signers"}},
      "policy": {"rules": ["plumbline/production/deny", "team_a/deny"]}}})"));
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  ASSERT_TRUE(spec->verify.has_value());
  EXPECT_EQ(spec->verify->mode, VerifyMode::kTagAndHead);
  EXPECT_EQ(spec->verify->secret_name, "signers");
  EXPECT_EQ(spec->policy.rules,
            (std::vector<std::string>{"plumbline/production/deny", "team_a/deny"}));
  auto defaults = ParseSpec(Json::parse(
      R"({"spec": {"source": {"repoURL": "git://h/r"}, "verify": {"secretRef": {"name": "s"}}}})"));
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->verify->mode, VerifyMode::kHead);
  auto plain = ParseSpec(Json::parse(R"({"spec": {"source": {"repoURL": "git://h/r"}}})"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->verify.has_value());
  EXPECT_TRUE(plain->policy.rules.empty());

  for (const auto& [body, message] : std::vector<std::pair<const char*, const char*>>{
           {R"("verify": {"mode": "head", "secretRef": {"name": "s"}})",
            "spec.verify.mode must be HEAD, Tag or TagAndHEAD, not \"head\""},
           {R"("verify": {"mode": "HEAD"})",
            "spec.verify.secretRef.name is required (the Secret with the trusted keys)"},
           {R"("policy": {"rules": ["../admin"]})",
            "spec.policy.rules holds \"../admin\", not a rule path like plumbline/production/deny"},
           {R"("policy": {"rules": ["a//b"]})",
            "spec.policy.rules holds \"a//b\", not a rule path like plumbline/production/deny"},
           {R"("policy": {"rules": ["x?y=1"]})",
            "spec.policy.rules holds \"x?y=1\", not a rule path like plumbline/production/deny"},
           {R"("policy": {"rules": "plumbline/deny"})",
            "spec.policy.rules must be a list of at most 8 rule paths"},
       }) {
    auto bad = ParseSpec(Json::parse(
        std::string(R"({"spec": {"source": {"repoURL": "git://h/r"}, )") + body + "}}"));
    ASSERT_FALSE(bad.ok()) << body;
    EXPECT_EQ(bad.error().message(), message);
  }
}

TEST(CleanRepoPath, NormalizesAndRefusesEscapes) {
  EXPECT_EQ(*source::CleanRepoPath("."), "");
  EXPECT_EQ(*source::CleanRepoPath("a/./b//c/"), "a/b/c");
  EXPECT_EQ(*source::CleanRepoPath("a/../b"), "b");
  EXPECT_FALSE(source::CleanRepoPath("a/../../b").ok());
  EXPECT_FALSE(source::CleanRepoPath("/etc").ok());
}

TEST(Duration, ParsesAndFormatsGoDurations) {
  EXPECT_EQ(*ParseDuration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("5d").ok());
  EXPECT_EQ(FormatDuration(std::chrono::seconds(90)), "1m30s");
}

}  // namespace
}  // namespace plumbline::app
