// The Notifier resource: parsing (defaults, every field, errors), which events it selects, and
// the repository a commit status goes to.
#include "notify/notifier.h"

#include <gtest/gtest.h>

namespace plumbline::notify {
namespace {

Json Minimal() {
  return Json::parse(R"({"apiVersion": "plumbline.dev/v1alpha1", "kind": "Notifier",
      "metadata": {"namespace": "team", "name": "chat"},
      "spec": {"provider": "slack", "secretRef": {"name": "slack-url"}}})");
}

TEST(EventType, NamesRoundTrip) {
  const std::vector<std::pair<EventType, std::string>> names = {
      {EventType::kApplying, "applying"},
      {EventType::kDeployed, "deployed"},
      {EventType::kFailed, "failed"},
      {EventType::kDrifted, "drifted"},
      {EventType::kDriftCorrected, "drift-corrected"},
      {EventType::kRecovered, "recovered"},
      {EventType::kReverted, "reverted"}};
  for (const auto& [type, name] : names) {
    EXPECT_EQ(ToString(type), name);
    EXPECT_EQ(ParseEventType(name), type) << name;
  }
  EXPECT_EQ(ParseEventType("Deployed"), std::nullopt);
  EXPECT_EQ(ParseEventType("drift_corrected"), std::nullopt);
  EXPECT_EQ(ParseEventType(""), std::nullopt);
}

TEST(ParseNotifier, AppliesDefaults) {
  auto n = ParseNotifier(Minimal());
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(n->ns, "team");
  EXPECT_EQ(n->name, "chat");
  EXPECT_EQ(n->provider, Provider::kSlack);
  EXPECT_EQ(n->secret_name, "slack-url");
  EXPECT_TRUE(n->application_names.empty());
  EXPECT_TRUE(n->match_labels.empty());
  EXPECT_TRUE(n->events.empty());
  EXPECT_EQ(n->repository, "");
  EXPECT_EQ(n->context, "");
  EXPECT_FALSE(n->suspend);
}

TEST(ParseNotifier, ReadsEveryField) {
  Json j = Minimal();
  j["spec"] = Json::parse(R"({"provider": "gitlab", "secretRef": {"name": "gl-token"},
      "applications": {"names": ["web", "api"], "selector": {"matchLabels": {"team": "a",
        "tier": "front"}}},
      "events": ["deployed", "failed", "reverted", "recovered", "deployed"],
      "repository": "group/sub/deploy", "context": "plumbline/prod", "suspend": true})");
  auto n = ParseNotifier(j);
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(n->provider, Provider::kGitlab);
  EXPECT_EQ(n->secret_name, "gl-token");
  EXPECT_EQ(n->application_names, (std::vector<std::string>{"web", "api"}));
  EXPECT_EQ(n->match_labels,
            (std::map<std::string, std::string>{{"team", "a"}, {"tier", "front"}}));
  EXPECT_EQ(n->events, (std::set<EventType>{EventType::kDeployed, EventType::kFailed,
                                            EventType::kReverted, EventType::kRecovered}));
  EXPECT_EQ(n->repository, "group/sub/deploy");
  EXPECT_EQ(n->context, "plumbline/prod");
  EXPECT_TRUE(n->suspend);

  for (const auto& [name, provider] :
       {std::pair{"slack", Provider::kSlack}, std::pair{"generic", Provider::kGeneric},
        std::pair{"github", Provider::kGithub}, std::pair{"gitlab", Provider::kGitlab}}) {
    Json p = Minimal();
    p["spec"]["provider"] = name;
    auto parsed = ParseNotifier(p);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(parsed->provider, provider);
    EXPECT_STREQ(ToString(provider), name);
  }
  Json drift = Minimal();
  drift["spec"]["events"] = {"drifted", "drift-corrected"};
  auto d = ParseNotifier(drift);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->events, (std::set<EventType>{EventType::kDrifted, EventType::kDriftCorrected}));
  Json github = Minimal();
  github["spec"]["provider"] = "github";
  github["spec"]["repository"] = "acme/deploy";
  auto g = ParseNotifier(github);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->repository, "acme/deploy");
  github["spec"]["provider"] = "gitlab";
  github["spec"]["repository"] = "4711";  // a GitLab project id
  EXPECT_TRUE(ParseNotifier(github).ok());
}

TEST(ParseNotifier, RejectsWhatItCannotUseNamingTheField) {
  struct Case {
    std::string what;
    std::function<void(Json&)> change;
    std::string error;  // a part of the message
  };
  const std::vector<Case> cases = {
      {"no name", [](Json& j) { j["metadata"].erase("name"); }, "metadata.name"},
      {"no namespace", [](Json& j) { j["metadata"].erase("namespace"); }, "metadata.namespace"},
      {"no spec", [](Json& j) { j.erase("spec"); }, "no spec"},
      {"spec a list", [](Json& j) { j["spec"] = Json::array(); }, "no spec"},
      {"no provider", [](Json& j) { j["spec"].erase("provider"); }, "spec.provider is required"},
      {"provider a number", [](Json& j) { j["spec"]["provider"] = 3; },
       "spec.provider must be a string"},
      {"unknown provider", [](Json& j) { j["spec"]["provider"] = "teams"; },
       "spec.provider must be slack, generic, github or gitlab, not \"teams\""},
      {"provider case", [](Json& j) { j["spec"]["provider"] = "Slack"; }, "not \"Slack\""},
      {"no secretRef", [](Json& j) { j["spec"].erase("secretRef"); },
       "spec.secretRef.name is required"},
      {"secretRef a string", [](Json& j) { j["spec"]["secretRef"] = "x"; },
       "spec.secretRef must be a map"},
      {"secretRef without name", [](Json& j) { j["spec"]["secretRef"] = Json::object(); },
       "spec.secretRef.name is required"},
      {"secret name a number", [](Json& j) { j["spec"]["secretRef"]["name"] = 1; },
       "spec.secretRef.name must be a string"},
      {"applications a list", [](Json& j) { j["spec"]["applications"] = Json::array(); },
       "spec.applications must be a map"},
      {"names a string", [](Json& j) { j["spec"]["applications"]["names"] = "web"; },
       "spec.applications.names must be a list"},
      {"names with a number",
       [](Json& j) {
         j["spec"]["applications"]["names"] = {"web", 2};
       },
       "spec.applications.names holds a value that is not a name"},
      {"names with an empty name", [](Json& j) { j["spec"]["applications"]["names"] = {""}; },
       "spec.applications.names holds a value that is not a name"},
      {"selector a string", [](Json& j) { j["spec"]["applications"]["selector"] = "team=a"; },
       "spec.applications.selector must be a map"},
      {"matchLabels a list",
       [](Json& j) { j["spec"]["applications"]["selector"]["matchLabels"] = {"a"}; },
       "spec.applications.selector.matchLabels must be a map"},
      {"label value a bool",
       [](Json& j) { j["spec"]["applications"]["selector"]["matchLabels"]["prod"] = true; },
       "spec.applications.selector.matchLabels.prod must be a string"},
      {"events a string", [](Json& j) { j["spec"]["events"] = "deployed"; },
       "spec.events must be a list"},
      {"event a number", [](Json& j) { j["spec"]["events"] = {1}; },
       "spec.events holds a value that is not a string"},
      {"unknown event",
       [](Json& j) {
         j["spec"]["events"] = {"deployed", "exploded"};
       },
       "spec.events: \"exploded\" is not an event"},
      {"applying", [](Json& j) { j["spec"]["events"] = {"applying"}; },
       "spec.events: \"applying\" is not an event"},
      {"drift to github",
       [](Json& j) {
         j["spec"]["provider"] = "github";
         j["spec"]["events"] = {"drifted"};
       },
       "spec.events: drifted is not sent to github"},
      {"drift-corrected to gitlab",
       [](Json& j) {
         j["spec"]["provider"] = "gitlab";
         j["spec"]["events"] = {"deployed", "drift-corrected"};
       },
       "spec.events: drift-corrected is not sent to gitlab"},
      {"repository for slack", [](Json& j) { j["spec"]["repository"] = "o/r"; },
       "spec.repository applies only to github and gitlab, not slack"},
      {"context for generic",
       [](Json& j) {
         j["spec"]["provider"] = "generic";
         j["spec"]["context"] = "x";
       },
       "spec.context applies only to github and gitlab, not generic"},
      {"repository a number",
       [](Json& j) {
         j["spec"]["provider"] = "github";
         j["spec"]["repository"] = 5;
       },
       "spec.repository must be a string"},
      {"github repository with three parts",
       [](Json& j) {
         j["spec"]["provider"] = "github";
         j["spec"]["repository"] = "group/sub/repo";
       },
       "spec.repository \"group/sub/repo\" is not a GitHub owner/repo"},
      {"github repository going up",
       [](Json& j) {
         j["spec"]["provider"] = "github";
         j["spec"]["repository"] = "../r";
       },
       "is not a GitHub owner/repo"},
      {"gitlab repository with a query",
       [](Json& j) {
         j["spec"]["provider"] = "gitlab";
         j["spec"]["repository"] = "group/r?x=1";
       },
       "is not a GitLab project path or id"},
      {"empty context",
       [](Json& j) {
         j["spec"]["provider"] = "github";
         j["spec"]["context"] = "";
       },
       "spec.context must be 1 to 255 characters"},
      {"long context",
       [](Json& j) {
         j["spec"]["provider"] = "github";
         j["spec"]["context"] = std::string(256, 'c');
       },
       "spec.context must be 1 to 255 characters"},
      {"suspend a string", [](Json& j) { j["spec"]["suspend"] = "true"; },
       "spec.suspend must be a boolean"},
  };
  for (const Case& c : cases) {
    Json j = Minimal();
    c.change(j);
    auto n = ParseNotifier(j);
    ASSERT_FALSE(n.ok()) << c.what;
    EXPECT_EQ(n.error().code(), ErrorCode::kInvalidArgument) << c.what;
    EXPECT_NE(n.error().message().find(c.error), std::string::npos)
        << c.what << ": " << n.error().message();
  }
}

NotifierSpec Spec(Provider provider = Provider::kSlack) {
  NotifierSpec n;
  n.ns = "team";
  n.name = "chat";
  n.provider = provider;
  n.secret_name = "s";
  return n;
}

Event Of(EventType type, std::string ns = "team", std::string name = "web") {
  Event e;
  e.type = type;
  e.app_namespace = std::move(ns);
  e.app_name = std::move(name);
  e.app_labels = {{"team", "a"}, {"tier", "front"}};
  e.revision = std::string(40, 'a');
  return e;
}

TEST(Selects, OnlyApplicationsOfItsOwnNamespace) {
  const NotifierSpec n = Spec();
  EXPECT_TRUE(Selects(n, Of(EventType::kDeployed)));
  EXPECT_FALSE(Selects(n, Of(EventType::kDeployed, "other")));
  NotifierSpec named = Spec();
  named.application_names = {"web"};
  EXPECT_FALSE(Selects(named, Of(EventType::kDeployed, "other", "web")));
  NotifierSpec labelled = Spec();
  labelled.match_labels = {{"team", "a"}};
  EXPECT_FALSE(Selects(labelled, Of(EventType::kDeployed, "other", "web")));
}

TEST(Selects, ByNameOrByEveryLabel) {
  NotifierSpec n = Spec();
  n.application_names = {"api", "web"};
  EXPECT_TRUE(Selects(n, Of(EventType::kDeployed, "team", "web")));
  EXPECT_FALSE(Selects(n, Of(EventType::kDeployed, "team", "site")));

  NotifierSpec l = Spec();
  l.match_labels = {{"team", "a"}, {"tier", "front"}};
  EXPECT_TRUE(Selects(l, Of(EventType::kDeployed, "team", "site")));
  Event wrong = Of(EventType::kDeployed, "team", "site");
  wrong.app_labels["tier"] = "back";
  EXPECT_FALSE(Selects(l, wrong));
  wrong.app_labels.erase("tier");
  EXPECT_FALSE(Selects(l, wrong));

  NotifierSpec both = l;  // listed, or matching the labels
  both.application_names = {"api"};
  Event api = Of(EventType::kDeployed, "team", "api");
  api.app_labels.clear();
  EXPECT_TRUE(Selects(both, api));
  EXPECT_TRUE(Selects(both, Of(EventType::kDeployed, "team", "site")));
  Event other = Of(EventType::kDeployed, "team", "site");
  other.app_labels.clear();
  EXPECT_FALSE(Selects(both, other));
}

TEST(Selects, TheEventsListedOrAllButApplying) {
  NotifierSpec n = Spec();
  for (EventType t : {EventType::kDeployed, EventType::kFailed, EventType::kDrifted,
                      EventType::kDriftCorrected, EventType::kRecovered, EventType::kReverted}) {
    EXPECT_TRUE(Selects(n, Of(t))) << ToString(t);
  }
  EXPECT_FALSE(Selects(n, Of(EventType::kApplying)));
  n.events = {EventType::kFailed, EventType::kDrifted};
  EXPECT_TRUE(Selects(n, Of(EventType::kFailed)));
  EXPECT_TRUE(Selects(n, Of(EventType::kDrifted)));
  EXPECT_FALSE(Selects(n, Of(EventType::kDeployed)));
  EXPECT_FALSE(Selects(n, Of(EventType::kDriftCorrected)));
  NotifierSpec generic = Spec(Provider::kGeneric);
  EXPECT_FALSE(Selects(generic, Of(EventType::kApplying)));
  generic.events = {EventType::kDeployed, EventType::kFailed};
  EXPECT_FALSE(Selects(generic, Of(EventType::kApplying)));
  Event no_revision = Of(EventType::kFailed);
  no_revision.revision.clear();  // a fetch failure: still worth a message
  EXPECT_TRUE(Selects(generic, no_revision));
}

TEST(Selects, SuspendedSelectsNothing) {
  NotifierSpec n = Spec(Provider::kGithub);
  n.suspend = true;
  for (EventType t : {EventType::kApplying, EventType::kDeployed, EventType::kFailed}) {
    EXPECT_FALSE(Selects(n, Of(t))) << ToString(t);
  }
  n.provider = Provider::kSlack;
  EXPECT_FALSE(Selects(n, Of(EventType::kDeployed)));
}

TEST(Selects, CommitStatusesOnlyForCommitOutcomes) {
  for (Provider p : {Provider::kGithub, Provider::kGitlab}) {
    NotifierSpec n = Spec(p);
    for (EventType t : {EventType::kApplying, EventType::kDeployed, EventType::kReverted,
                        EventType::kRecovered, EventType::kFailed}) {
      EXPECT_TRUE(Selects(n, Of(t))) << ToString(p) << " " << ToString(t);
    }
    EXPECT_FALSE(Selects(n, Of(EventType::kDrifted)));
    EXPECT_FALSE(Selects(n, Of(EventType::kDriftCorrected)));
    Event no_revision = Of(EventType::kFailed);
    no_revision.revision.clear();  // failed before a commit was known: nothing to mark
    EXPECT_FALSE(Selects(n, no_revision));

    n.events = {EventType::kDeployed, EventType::kDrifted};
    EXPECT_TRUE(Selects(n, Of(EventType::kDeployed)));
    EXPECT_FALSE(Selects(n, Of(EventType::kFailed)));
    EXPECT_FALSE(Selects(n, Of(EventType::kDrifted)));
    // Pending only when both outcomes follow it: a commit is never left pending.
    EXPECT_FALSE(Selects(n, Of(EventType::kApplying)));
    n.events = {EventType::kFailed};
    EXPECT_FALSE(Selects(n, Of(EventType::kApplying)));
    n.events = {EventType::kFailed, EventType::kDeployed};
    EXPECT_TRUE(Selects(n, Of(EventType::kApplying)));
    // A revert ends its pending status as a deployment does.
    EXPECT_TRUE(Selects(n, Of(EventType::kReverted)));
  }
}

TEST(RepositoryFromUrl, TheRepositoryPathOfEachUrlForm) {
  const std::vector<std::pair<std::string, std::string>> good = {
      {"https://github.com/o/r.git", "o/r"},
      {"https://github.com/o/r", "o/r"},
      {"https://github.com/o/r/", "o/r"},
      {"https://x-access-token:secret@github.com/o/r.git", "o/r"},
      {"http://git.example:8080/o/r.git", "o/r"},
      {"git@github.com:o/r.git", "o/r"},
      {"github.com:o/r", "o/r"},
      {"ssh://git@host/group/sub/r", "group/sub/r"},
      {"ssh://git@host:2222/group/sub/r.git", "group/sub/r"},
      {"https://gitlab.com/group/sub/r.git", "group/sub/r"},
  };
  for (const auto& [url, repo] : good) EXPECT_EQ(RepositoryFromUrl(url), repo) << url;
  for (const std::string url :
       {"https://github.com/r.git", "https://github.com", "https://github.com/", "file:///srv/o/r",
        "/srv/git/o/r", "o/r", "https://host/o//r", "https://host/../r", "https://host/o/r?x=1",
        "git@host:", ":o/r", "https://token@/o/r", ""}) {
    EXPECT_EQ(RepositoryFromUrl(url), std::nullopt) << url;
  }
}

TEST(ValidRepository, EachProvidersShape) {
  EXPECT_TRUE(ValidRepository(Provider::kGithub, "acme/deploy.v2"));
  EXPECT_FALSE(ValidRepository(Provider::kGithub, "acme"));
  EXPECT_FALSE(ValidRepository(Provider::kGithub, "a/b/c"));
  EXPECT_FALSE(ValidRepository(Provider::kGithub, "a/b c"));
  EXPECT_FALSE(ValidRepository(Provider::kGithub, "a/%2e%2e"));
  EXPECT_FALSE(ValidRepository(Provider::kGithub, "123"));
  EXPECT_TRUE(ValidRepository(Provider::kGitlab, "group/sub/r"));
  EXPECT_TRUE(ValidRepository(Provider::kGitlab, "123"));
  EXPECT_FALSE(ValidRepository(Provider::kGitlab, "group"));
  EXPECT_FALSE(ValidRepository(Provider::kGitlab, "group/./r"));
  EXPECT_FALSE(ValidRepository(Provider::kGitlab, ""));
  EXPECT_FALSE(ValidRepository(Provider::kSlack, "o/r"));
}

}  // namespace
}  // namespace plumbline::notify
