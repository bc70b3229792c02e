#include "chatops/command.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace plumbline::chatops {
namespace {

// User input quoted back in an error is cut here: the text may be anything.
constexpr size_t kMaxQuoted = 80;

Error Usage(const std::string& message) { return Error(ErrorCode::kInvalidArgument, message); }

std::string Quote(const std::string& s) {
  // Step by step: GCC 12 at -O2 warns (falsely, -Warray-bounds) on the one-expression form.
  std::string out = "\"";
  out += s.substr(0, kMaxQuoted);
  if (s.size() > kMaxQuoted) out += "…";
  out += '"';
  return out;
}

bool IsLabel(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*, at most 253.
bool IsSubdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!IsLabel(s.substr(start, dot - start), 63)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

// Slack IDs (U0123ABCD, C0123ABCD) go into mentions like <@U0123ABCD>: nothing else may.
bool IsSlackId(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_';
  });
}

std::string Field(const std::map<std::string, std::string>& form, const char* key) {
  auto it = form.find(key);
  return it == form.end() ? "" : it->second;
}

}  // namespace

bool IsNamespaceName(const std::string& s) { return IsLabel(s, 63); }
bool IsApplicationName(const std::string& s) { return IsSubdomain(s); }

const char* ToString(Verb verb) {
  switch (verb) {
    case Verb::kStatus:
      return "status";
    case Verb::kHistory:
      return "history";
    case Verb::kSync:
      return "sync";
    case Verb::kRollback:
      return "rollback";
    case Verb::kSuspend:
      return "suspend";
    case Verb::kResume:
      return "resume";
    case Verb::kHelp:
      return "help";
  }
  return "help";
}

const std::vector<Verb>& AllVerbs() {
  static const std::vector<Verb> verbs = {Verb::kStatus,   Verb::kHistory, Verb::kSync,
                                          Verb::kRollback, Verb::kSuspend, Verb::kResume,
                                          Verb::kHelp};
  return verbs;
}

std::string VerbNames() {
  std::string out;
  for (Verb v : AllVerbs()) out += std::string(out.empty() ? "" : ", ") + ToString(v);
  return out;
}

std::optional<Verb> ParseVerb(const std::string& word) {
  for (Verb v : AllVerbs()) {
    if (word == ToString(v)) return v;
  }
  return std::nullopt;
}

Result<Command> ParseCommand(const std::map<std::string, std::string>& form,
                             const std::string& default_namespace) {
  Command c;
  c.user_id = Field(form, "user_id");
  c.user_name = Field(form, "user_name");
  c.channel_id = Field(form, "channel_id");
  c.response_url = Field(form, "response_url");
  c.text = Field(form, "text");
  if (!IsSlackId(c.user_id)) return Usage("the request has no valid user_id");
  if (!IsSlackId(c.channel_id)) return Usage("the request has no valid channel_id");

  std::vector<std::string> words;
  std::istringstream in(c.text);
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) return c;  // help

  std::string verb = words[0];
  std::transform(verb.begin(), verb.end(), verb.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  std::optional<Verb> parsed = ParseVerb(verb);
  if (!parsed) {
    return Usage("unknown command " + Quote(words[0]) + "; the commands are " + VerbNames());
  }
  c.verb = *parsed;
  const std::string usage = c.verb == Verb::kRollback ? "rollback [NAMESPACE/]NAME [COMMIT-SHA]"
                                                      : verb + " [NAMESPACE/]NAME";
  if (c.verb == Verb::kHelp) {
    if (words.size() > 1) return Usage("help takes nothing after it");
    return c;
  }
  const size_t most = c.verb == Verb::kRollback ? 3 : 2;
  if (words.size() < 2) return Usage(verb + " needs an Application: " + usage);
  if (words.size() > most) {
    return Usage("too many words after " + verb + " (" + Quote(words[most]) + "): " + usage);
  }

  const std::string& app = words[1];
  const size_t slash = app.find('/');
  if (slash == std::string::npos) {
    if (default_namespace.empty()) {
      return Usage("give the Application's namespace: " + verb + " NAMESPACE/NAME");
    }
    c.ns = default_namespace;
    c.name = app;
  } else {
    c.ns = app.substr(0, slash);
    c.name = app.substr(slash + 1);
    if (!IsNamespaceName(c.ns)) {
      return Usage(Quote(c.ns) +
                   " is not a namespace (lowercase letters, digits and '-', at most 63)");
    }
  }
  if (!IsApplicationName(c.name)) {
    return Usage(Quote(c.name) +
                 " is not an Application name (lowercase letters, digits, '-' and '.', at "
                 "most 253)");
  }
  if (words.size() == 3) {
    std::string sha = words[2];
    std::transform(sha.begin(), sha.end(), sha.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    if (sha.size() != 40 ||
        !std::all_of(sha.begin(), sha.end(), [](unsigned char ch) { return std::isxdigit(ch); })) {
      return Usage(Quote(words[2]) + " is not a full commit SHA (40 hex digits)");
    }
    c.sha = sha;
  }
  // The outcome is posted there later; verification proved Slack sent it.
  if (c.response_url.rfind("https://", 0) != 0 && c.response_url.rfind("http://", 0) != 0) {
    return Usage("the request has no http(s) response_url to post the outcome to");
  }
  return c;
}

std::string CommandLine(const Command& c) {
  std::string line = ToString(c.verb);
  if (c.verb == Verb::kHelp) return line;
  line += " " + c.ns + "/" + c.name;
  if (!c.sha.empty()) line += " " + c.sha;
  return line;
}

std::string HelpText() {
  return "Commands, each on an Application given as `NAMESPACE/NAME` (or `NAME` in the default "
         "namespace):\n"
         "• `status APP`: its sync state and health\n"
         "• `history APP`: the revisions it applied\n"
         "• `sync APP`: reconcile it now, with a fresh fetch\n"
         "• `rollback APP [COMMIT-SHA]`: push a git revert of that commit (without a SHA, the "
         "last one applied; a SHA is the full 40 hex digits) to the branch it tracks\n"
         "• `suspend APP` and `resume APP`: stop and restart its reconciles\n"
         "• `help`: this text\n"
         "Who may run what, on which Applications and from which channels, is set by the "
         "cluster's chatops rules.";
}

}  // namespace plumbline::chatops
