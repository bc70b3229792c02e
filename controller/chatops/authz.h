// Who may run which command on which Applications, from which channels: rules from a
// ConfigMap's `rules.yaml`, default deny.
//
//   rules:
//   - users: [U0123ABCD]          # Slack user IDs, or "*"
//     channels: [C0123ABCD]       # Slack channel IDs, or "*"
//     applications: ["team-a/*"]  # "NAMESPACE/NAME", "NAMESPACE/*" or "*"
//     verbs: [status, history, sync]  # or ["*"]
//
// A command is allowed when one rule matches its user, channel, Application and verb; help is
// always allowed. Every field of a rule must be given (an empty list matches nothing), and
// unknown fields, unknown verbs and malformed IDs or patterns are errors: a typo must neither
// grant nor silently deny. Immutable once parsed; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chatops/command.h"
#include "common/error.h"

namespace plumbline::chatops {

struct Rule {
  std::vector<std::string> users, channels;  // Slack IDs; "*" = any; an empty list = none
  std::vector<std::string> applications;     // "ns/name", "ns/*", "*"
  std::vector<Verb> verbs;                   // "*" is read as every verb
};

class Authorizer {
 public:
  Authorizer() = default;  // no rules: denies everything but help
  explicit Authorizer(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  // Errors (kInvalidArgument) name the rule (1-based) and the field.
  static Result<Authorizer> Parse(const std::string& rules_yaml);

  bool Allows(const Command& command) const;
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  std::vector<Rule> rules_;
};

}  // namespace plumbline::chatops
