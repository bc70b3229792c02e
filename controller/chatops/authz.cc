#include "chatops/authz.h"

#include <algorithm>
#include <utility>

#include "common/json.h"
#include "yaml/yaml_json.h"

namespace plumbline::chatops {
namespace {

constexpr const char* kFields[] = {"users", "channels", "applications", "verbs"};

Error Invalid(size_t rule, const std::string& message) {
  return Error(ErrorCode::kInvalidArgument,
               "rules.yaml: rule " + std::to_string(rule + 1) + ": " + message);
}

// Slack IDs are upper-case letters and digits: "alice" or "#deploys" is a mistake to report,
// not a user or channel no request will ever match.
bool IsSlackIdPattern(const std::string& s) {
  return s == "*" || (!s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         }));
}

// "*", "ns/*" or "ns/name", with names a command could give.
bool IsApplicationPattern(const std::string& s) {
  if (s == "*") return true;
  const size_t slash = s.find('/');
  if (slash == std::string::npos) return false;
  const std::string name = s.substr(slash + 1);
  return IsNamespaceName(s.substr(0, slash)) && (name == "*" || IsApplicationName(name));
}

Result<std::vector<std::string>> Strings(const Json& rule, size_t index, const char* field) {
  const Json* list = MemberAt(&rule, field);
  if (list == nullptr || list->is_null()) {
    return Invalid(index, std::string(field) + " is missing (use [\"*\"] for any)");
  }
  if (!list->is_array()) return Invalid(index, std::string(field) + " must be a list");
  std::vector<std::string> out;
  for (const Json& item : *list) {
    if (!item.is_string()) {
      return Invalid(index, std::string(field) + ": " +
                                item.dump(-1, ' ', false, Json::error_handler_t::replace) +
                                " is not a string");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<Rule> ReadRule(const Json& j, size_t index) {
  if (!j.is_object()) {
    return Invalid(index, "must be a map of users, channels, applications, verbs");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (std::find_if(std::begin(kFields), std::end(kFields),
                     [&key](const char* f) { return key == f; }) == std::end(kFields)) {
      return Invalid(index, "unknown field \"" + key +
                                "\" (the fields are users, channels, applications, verbs)");
    }
  }
  Rule rule;
  Result<std::vector<std::string>> users = Strings(j, index, "users");
  if (!users.ok()) return users.error();
  Result<std::vector<std::string>> channels = Strings(j, index, "channels");
  if (!channels.ok()) return channels.error();
  Result<std::vector<std::string>> applications = Strings(j, index, "applications");
  if (!applications.ok()) return applications.error();
  Result<std::vector<std::string>> verbs = Strings(j, index, "verbs");
  if (!verbs.ok()) return verbs.error();
  for (const std::string& u : *users) {
    if (!IsSlackIdPattern(u)) {
      return Invalid(index,
                     "users: \"" + u + "\" is not a Slack user ID (like U0123ABCD) or \"*\"");
    }
  }
  for (const std::string& c : *channels) {
    if (!IsSlackIdPattern(c)) {
      return Invalid(index,
                     "channels: \"" + c + "\" is not a Slack channel ID (like C0123ABCD) or \"*\"");
    }
  }
  for (const std::string& a : *applications) {
    if (!IsApplicationPattern(a)) {
      return Invalid(
          index, "applications: \"" + a + "\" is not \"NAMESPACE/NAME\", \"NAMESPACE/*\" or \"*\"");
    }
  }
  for (const std::string& v : *verbs) {
    if (v == "*") {
      rule.verbs = AllVerbs();
      continue;
    }
    std::optional<Verb> verb = ParseVerb(v);
    if (!verb) {
      return Invalid(
          index, "verbs: unknown verb \"" + v + "\" (the verbs are " + VerbNames() + ", or \"*\")");
    }
    if (std::find(rule.verbs.begin(), rule.verbs.end(), *verb) == rule.verbs.end()) {
      rule.verbs.push_back(*verb);
    }
  }
  rule.users = std::move(users).value();
  rule.channels = std::move(channels).value();
  rule.applications = std::move(applications).value();
  return rule;
}

bool MatchesId(const std::vector<std::string>& patterns, const std::string& id) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&id](const std::string& p) { return p == "*" || p == id; });
}

bool MatchesApplication(const std::vector<std::string>& patterns, const Command& c) {
  return std::any_of(patterns.begin(), patterns.end(), [&c](const std::string& p) {
    return p == "*" || p == c.ns + "/*" || p == c.ns + "/" + c.name;
  });
}

}  // namespace

Result<Authorizer> Authorizer::Parse(const std::string& rules_yaml) {
  Result<Json> doc = yaml::ParseDocument(rules_yaml, "rules.yaml");
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) {
    return Error(ErrorCode::kInvalidArgument, "rules.yaml: must be a map with a rules list");
  }
  for (auto it = doc->begin(); it != doc->end(); ++it) {
    const std::string& key = it.key();
    if (key != "rules") {
      return Error(ErrorCode::kInvalidArgument,
                   "rules.yaml: unknown field \"" + key + "\" (the only field is rules)");
    }
  }
  std::vector<Rule> rules;
  const Json* list = MemberAt(&*doc, "rules");
  if (list == nullptr || list->is_null()) return Authorizer();
  if (!list->is_array()) {
    return Error(ErrorCode::kInvalidArgument, "rules.yaml: rules must be a list");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    Result<Rule> rule = ReadRule((*list)[i], i);
    if (!rule.ok()) return rule.error();
    rules.push_back(std::move(rule).value());
  }
  return Authorizer(std::move(rules));
}

bool Authorizer::Allows(const Command& c) const {
  if (c.verb == Verb::kHelp) return true;
  return std::any_of(rules_.begin(), rules_.end(), [&c](const Rule& r) {
    return MatchesId(r.users, c.user_id) && MatchesId(r.channels, c.channel_id) &&
           MatchesApplication(r.applications, c) &&
           std::find(r.verbs.begin(), r.verbs.end(), c.verb) != r.verbs.end();
  });
}

}  // namespace plumbline::chatops
