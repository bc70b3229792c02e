// The Application verbs for people and pipelines: get, sync, suspend, resume, history.
#include <chrono>
#include <iomanip>
#include <sstream>
#include <thread>

#include "app/application.h"
#include "app/conditions.h"
#include "app/reasons.h"
#include "cli/app_client.h"
#include "cli/cli.h"
#include "common/duration.h"
#include "common/redact.h"
#include "common/rfc3339.h"
#include "yaml/yaml_json.h"

namespace plumbline::cli {
namespace {

// Parses flags; returns an exit code when the command must end here (help or a usage error).
std::optional<int> ParseOrExit(Flags& flags, const std::vector<std::string>& args,
                               const std::string& command, size_t positionals_min,
                               size_t positionals_max, std::ostream& out, std::ostream& err) {
  if (auto s = flags.Parse(args); !s.ok()) {
    err << "plumbline " << command << ": " << s.error().message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    out << flags.Help();
    return 0;
  }
  const size_t n = flags.positional().size();
  if (n < positionals_min || n > positionals_max) {
    err << "plumbline " << command << ": wrong arguments\n\n" << flags.Help();
    return 2;
  }
  return std::nullopt;
}

std::string Condition(const Json& app, const char* type, const char* field = "status") {
  const Json status = app.value("status", Json::object());
  const Json* c = app::FindCondition(status, type);
  return c ? c->value(field, "") : "";
}

std::string ShortSha(const std::string& sha) { return sha.substr(0, 12); }

// Pads columns to the widest cell, like kubectl's tables.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 3, ' ');
    }
    out << line << "\n";
  }
}

std::string OneLine(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s.size() > max ? s.substr(0, max - 3) + "..." : s;
}

}  // namespace

int GetCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "Usage: plumbline get [APP] [-n NS | -A] [-o table|json|yaml]\n\nShows "
      "Applications: revision, Ready, drift.");
  AddAppFlags(flags);
  flags.Add("all-namespaces", "false", "Applications of every namespace", true)
      .Add("A", "false", "short for --all-namespaces", true)
      .Add("output", "table", "table, json or yaml")
      .Add("o", "", "short for --output");
  if (auto code = ParseOrExit(flags, args, "get", 0, 1, out, err)) return *code;
  const std::string format = flags.Get("o").empty() ? flags.Get("output") : flags.Get("o");
  if (format != "table" && format != "json" && format != "yaml") {
    err << "plumbline get: --output must be table, json or yaml\n";
    return 2;
  }
  const bool all = flags.GetBool("all-namespaces") || flags.GetBool("A");
  auto apps = NewAppClient(flags);
  if (!apps.ok()) return Fail(err, "get", apps.error());

  std::vector<Json> items;
  if (!flags.positional().empty()) {
    auto one = apps->Get(flags.positional()[0]);
    if (!one.ok()) return Fail(err, "get", one.error());
    items.push_back(*one);
  } else {
    auto list = apps->client->List(apps->applications, all ? "" : apps->ns);
    if (!list.ok()) return Fail(err, "get", list.error());
    items = list->items;
  }
  // A repoURL may carry credentials (https://user:token@host/...): never print them, not even
  // from the spec, where whoever wrote them can read them with kubectl anyway.
  for (auto& item : items) MakeSafe(&item);
  if (format != "table") {
    Json doc = items.size() == 1 && !flags.positional().empty()
                   ? items[0]
                   : Json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
    out << (format == "json" ? doc.dump(2) + "\n" : yaml::ToYaml(doc));
    return 0;
  }
  if (items.empty()) {
    err << "No Applications found" << (all ? "" : " in namespace " + apps->ns) << ".\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"NAME",    "REVISION",  "READY",
                                     "DRIFTED", "SUSPENDED", "MESSAGE"};
  if (all) header.insert(header.begin(), "NAMESPACE");
  rows.push_back(header);
  for (const auto& app : items) {
    const Json status = app.value("status", Json::object());
    const Json spec = app.value("spec", Json::object());
    const Json drift = status.value("drift", Json::object());
    std::vector<std::string> row = {
        app["metadata"].value("name", ""),
        ShortSha(status.value("lastAppliedRevision", "")),
        Condition(app, app::kReady).empty() ? "Unknown" : Condition(app, app::kReady),
        drift.is_object() && drift.value("count", 0) > 0
            ? "True (" + std::to_string(drift.value("count", 0)) + ")"
            : (Condition(app, app::kDrifted).empty() ? "-" : Condition(app, app::kDrifted)),
        spec.is_object() && spec.value("suspend", false) ? "True" : "False",
        OneLine(Condition(app, app::kReady, "message"), 80)};
    if (all) row.insert(row.begin(), app["metadata"].value("namespace", ""));
    rows.push_back(row);
  }
  PrintTable(out, rows);
  return 0;
}

int SyncCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "Usage: plumbline sync APP [--wait] [--timeout 5m]\n\nAsks for a reconcile now, "
      "with a fresh fetch (the annotation plumbline.dev/requested-at).");
  AddAppFlags(flags);
  flags.Add("wait", "false", "wait until the request is handled and print the result", true)
      .Add("timeout", "5m", "how long --wait waits");
  if (auto code = ParseOrExit(flags, args, "sync", 1, 1, out, err)) return *code;
  auto timeout = ParseDuration(flags.Get("timeout"));
  if (!timeout.ok() || timeout->count() <= 0) {
    err << "plumbline sync: --timeout must be a positive duration\n";
    return 2;
  }
  const std::string name = flags.positional()[0];
  auto apps = NewAppClient(flags);
  if (!apps.ok()) return Fail(err, "sync", apps.error());
  const std::string token = FormatRfc3339Micro(std::chrono::system_clock::now());
  auto patched =
      apps->Patch(name, {{"metadata", {{"annotations", {{app::kRequestedAtAnnotation, token}}}}}},
                  "plumbline-cli-sync");
  if (!patched.ok()) return Fail(err, "sync", patched.error());
  if (!flags.GetBool("wait")) {
    out << "Application " << apps->ns << "/" << name << ": reconcile requested\n";
    return 0;
  }
  // Handled: the controller wrote a status answering this request; wait further while the
  // objects are only rolling out.
  const auto deadline = std::chrono::steady_clock::now() + *timeout;
  for (;;) {
    auto app = apps->Get(name);
    if (!app.ok()) return Fail(err, "sync", app.error());
    const Json status = app->value("status", Json::object());
    const bool handled = status.value("lastHandledRequestedAt", "") == token;
    const std::string ready = Condition(*app, app::kReady);
    const std::string reason = Condition(*app, app::kReady, "reason");
    if (handled && (ready == "True" || reason != app::reason::kProgressing)) {
      const std::string message = Condition(*app, app::kReady, "message");
      if (ready == "True") {
        out << "Application " << apps->ns << "/" << name << " synced: " << message << "\n";
        return 0;
      }
      err << "plumbline sync: Application " << apps->ns << "/" << name << " is not Ready ("
          << reason << "): " << message << "\n";
      return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      err << "plumbline sync: timed out after " << flags.Get("timeout")
          << (handled ? " waiting for the rollout: " + Condition(*app, app::kReady, "message")
                      : " before the controller handled the request (is it running?)")
          << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

int SuspendCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   bool suspend) {
  const std::string command = suspend ? "suspend" : "resume";
  Flags flags("Usage: plumbline " + command + " APP\n\n" +
              (suspend ? "Stops reconciling the Application; everything stays as it is."
                       : "Reconciles the Application again."));
  AddAppFlags(flags);
  if (auto code = ParseOrExit(flags, args, command, 1, 1, out, err)) return *code;
  const std::string name = flags.positional()[0];
  auto apps = NewAppClient(flags);
  if (!apps.ok()) return Fail(err, command, apps.error());
  auto patched = apps->Patch(name, {{"spec", {{"suspend", suspend}}}}, "plumbline-cli-suspend");
  if (!patched.ok()) return Fail(err, command, patched.error());
  out << "Application " << apps->ns << "/" << name << (suspend ? " suspended" : " resumed") << "\n";
  return 0;
}

int HistoryCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags(
      "Usage: plumbline history APP\n\nThe revisions the Application applied, newest "
      "first (status.history).");
  AddAppFlags(flags);
  if (auto code = ParseOrExit(flags, args, "history", 1, 1, out, err)) return *code;
  auto apps = NewAppClient(flags);
  if (!apps.ok()) return Fail(err, "history", apps.error());
  auto app = apps->Get(flags.positional()[0]);
  if (!app.ok()) return Fail(err, "history", app.error());
  const Json history = app->value("status", Json::object()).value("history", Json::array());
  if (!history.is_array() || history.empty()) {
    err << "No revision applied yet.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"REVISION", "APPLIED", "COMMITTED", "AUTHOR",
                                                 "CREATED", "CONFIGURED", "DELETED", "MESSAGE"}};
  for (const auto& h : history) {
    rows.push_back({ShortSha(h.value("revision", "")), h.value("appliedTime", ""),
                    h.value("commitTime", ""), OneLine(h.value("author", ""), 40),
                    std::to_string(h.value("created", 0)), std::to_string(h.value("configured", 0)),
                    std::to_string(h.value("deleted", 0)), OneLine(h.value("message", ""), 60)});
  }
  PrintTable(out, rows);
  return 0;
}

}  // namespace plumbline::cli
