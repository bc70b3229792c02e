// What a slash command asks for: its text ("sync team-a/web") read into a verb and the
// Application it names, with who sent it from where. Stateless and thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace plumbline::chatops {

enum class Verb { kStatus, kHistory, kSync, kRollback, kSuspend, kResume, kHelp };

// "status", "history", "sync", "rollback", "suspend", "resume", "help".
const char* ToString(Verb verb);
// Every verb, in the order above.
const std::vector<Verb>& AllVerbs();
// "status, history, ..., help".
std::string VerbNames();
// The verb spelled exactly as ToString gives it, or nothing.
std::optional<Verb> ParseVerb(const std::string& word);

struct Command {
  Verb verb = Verb::kHelp;
  std::string ns, name;  // the Application; empty for help
  std::string sha;       // rollback's target commit (40 hex, lower case); "" = the last applied
  // From Slack's form: who, where, and where to post the outcome.
  std::string user_id, user_name, channel_id, response_url, text;
};

// Reads Slack's form (user_id, user_name, channel_id, response_url, text). The text is
// "VERB [NAMESPACE/]NAME" ("rollback" may add a full commit SHA), "help" or empty (help); the
// verb is case-insensitive. Without a namespace, `default_namespace` ("" = one must be given).
// Names must be Kubernetes names (a DNS-1123 label for the namespace, a subdomain for the
// Application). A command other than help needs an http(s) response_url. Errors
// (kInvalidArgument) are meant for the user: they say what to type instead.
Result<Command> ParseCommand(const std::map<std::string, std::string>& form,
                             const std::string& default_namespace);

// Kubernetes names: a namespace is a DNS-1123 label, an Application a DNS-1123 subdomain.
bool IsNamespaceName(const std::string& s);
bool IsApplicationName(const std::string& s);

// "VERB NAMESPACE/NAME [SHA]", as the channel sees it.
std::string CommandLine(const Command& command);

// The usage, for Slack (mrkdwn).
std::string HelpText();

}  // namespace plumbline::chatops
