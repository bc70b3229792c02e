#include "cli/chatops_actions.h"

#include "app/application.h"
#include "app/conditions.h"
#include "app/reach.h"
#include "app/reasons.h"
#include "common/redact.h"
#include "common/rfc3339.h"
#include "http/http_client.h"
#include "kube/errors.h"
#include "notify/dispatcher.h"

namespace plumbline::cli {
namespace {

std::string Short(const std::string& sha) { return sha.substr(0, 12); }

bool IsFullSha(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string ConditionText(const Json& status, const char* type) {
  const Json* c = app::FindCondition(status, type);
  if (c == nullptr) return std::string(type) + ": unknown";
  return std::string(type) + ": " + c->value("status", "?") + " (" + c->value("reason", "") + ") " +
         c->value("message", "");
}

// The Slack user as a git author: their user name, and an address made of their Slack ID that
// names them without being a mailbox.
void SlackAuthor(const std::string& user_name, const std::string& user_id, std::string* name,
                 std::string* email) {
  auto clean = [](const std::string& text, size_t max) {
    std::string out;
    for (char c : text) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ' ') {
        out += c;
      }
    }
    return out.substr(0, max);
  };
  *name = clean(user_name, 100);
  if (name->empty()) *name = "Slack user " + clean(user_id, 32);
  *email = clean(user_id, 32) + "@users.slack.invalid";
}

}  // namespace

KubeChatOpsActions::KubeChatOpsActions(kube::Client& client,
                                       std::function<std::vector<Json>()> applications,
                                       ChatOpsActionsOptions options)
    : client_(client),
      applications_(std::move(applications)),
      options_(std::move(options)),
      git_(source::NewLibgit2Source(options_.git_cache_dir)) {}

Result<Json> KubeChatOpsActions::Find(const std::string& ns, const std::string& name) {
  for (const Json& a : applications_()) {
    const Json& meta = a["metadata"];
    if (meta.value("namespace", "") == ns && meta.value("name", "") == name) return a;
  }
  return Error(ErrorCode::kNotFound, "Application " + ns + "/" + name + " not found");
}

Result<std::string> KubeChatOpsActions::Patch(const std::string& ns, const std::string& name,
                                              const Json& fields,
                                              const std::string& field_manager) {
  if (auto found = Find(ns, name); !found.ok()) return found.error();
  Json patch = fields;
  patch["apiVersion"] = app::kApiVersion;
  patch["kind"] = app::kKind;
  patch["metadata"]["name"] = name;
  patch["metadata"]["namespace"] = ns;
  kube::ApplyOptions as_chatops;
  as_chatops.field_manager = field_manager;
  auto applied = client_.Apply(patch, as_chatops);
  if (!applied.ok()) return applied.error();
  return std::string();
}

Result<std::string> KubeChatOpsActions::Status(const std::string& ns, const std::string& name) {
  auto found = Find(ns, name);
  if (!found.ok()) return found.error();
  const Json status = found->value("status", Json::object());
  const Json spec = found->value("spec", Json::object());
  std::string out = "Application " + ns + "/" + name + "\n";
  out += "revision: " + Short(status.value("lastAppliedRevision", "(none applied)"));
  if (status.contains("lastAppliedTime")) {
    out += " applied " + status.value("lastAppliedTime", "");
  }
  out += "\n" + ConditionText(status, app::kReady) + "\n";
  out += ConditionText(status, app::kDrifted) + "\n";
  if (spec.is_object() && spec.value("suspend", false)) out += "suspended: true\n";
  if (status.contains("lastReconcileTraceID")) {
    out += "trace: " + status.value("lastReconcileTraceID", "") + "\n";
  }
  return SafeText(out);
}

Result<std::string> KubeChatOpsActions::History(const std::string& ns, const std::string& name) {
  auto found = Find(ns, name);
  if (!found.ok()) return found.error();
  const Json history = found->value("status", Json::object()).value("history", Json::array());
  if (!history.is_array() || history.empty()) {
    return "Application " + ns + "/" + name + " has applied nothing yet";
  }
  std::string out = "Application " + ns + "/" + name + ", newest first:\n";
  for (const Json& h : history) {
    out += Short(h.value("revision", "")) + "  " + h.value("appliedTime", "") + "  " +
           h.value("author", "") + "  " + h.value("message", "").substr(0, 80) + "\n";
  }
  return SafeText(out);
}

Result<std::string> KubeChatOpsActions::Sync(const std::string& ns, const std::string& name) {
  const std::string token = "chatops " + FormatRfc3339Micro(std::chrono::system_clock::now());
  auto patched =
      Patch(ns, name, {{"metadata", {{"annotations", {{app::kRequestedAtAnnotation, token}}}}}},
            "plumbline-chatops-sync");
  if (!patched.ok()) return patched.error();
  return "Application " + ns + "/" + name + ": reconcile requested";
}

Result<std::string> KubeChatOpsActions::Suspend(const std::string& ns, const std::string& name) {
  auto patched = Patch(ns, name, {{"spec", {{"suspend", true}}}}, "plumbline-chatops-suspend");
  if (!patched.ok()) return patched.error();
  return "Application " + ns + "/" + name + " suspended";
}

Result<std::string> KubeChatOpsActions::Resume(const std::string& ns, const std::string& name) {
  auto patched = Patch(ns, name, {{"spec", {{"suspend", false}}}}, "plumbline-chatops-suspend");
  if (!patched.ok()) return patched.error();
  return "Application " + ns + "/" + name + " resumed";
}

Result<std::string> KubeChatOpsActions::Rollback(const std::string& ns, const std::string& name,
                                                 const std::string& sha,
                                                 const std::string& user_name,
                                                 const std::string& user_id) {
  auto found = Find(ns, name);
  if (!found.ok()) return found.error();
  auto spec = app::ParseSpec(*found);
  if (!spec.ok()) return spec.error().Wrap("the Application's spec");
  const std::string applied =
      found->value("status", Json::object()).value("lastAppliedRevision", "");
  if (applied.empty()) {
    return Error(ErrorCode::kConflict,
                 "Application " + ns + "/" + name + " has applied nothing yet");
  }
  if (IsFullSha(spec->revision)) {
    return Error(ErrorCode::kConflict,
                 "Application " + ns + "/" + name +
                     " tracks a commit, not a branch: change spec.source.revision instead");
  }
  if (spec->verify) {
    // An unsigned revert would be refused by the controller: say so before pushing it.
    return Error(ErrorCode::kConflict,
                 "Application " + ns + "/" + name +
                     " accepts only signed commits (spec.verify) and a rollback from chat cannot "
                     "sign: run `plumbline revert " +
                     name + " --signing-key KEY`");
  }
  source::RevertRequest request;
  request.url = spec->repo_url;
  request.branch = spec->revision;
  request.commit = sha.empty() ? applied : sha;
  // As `plumbline revert` without --force: refused when the branch moved past what is applied.
  request.expected_head = applied;
  request.timeout = options_.git_timeout;
  SlackAuthor(user_name, user_id, &request.author_name, &request.author_email);
  request.trailer = "Reverted from Slack by " + request.author_name + " (" + request.author_email +
                    ") for Application " + ns + "/" + name + ".";
  if (!spec->secret_name.empty()) {
    auto auth = app::ReadGitAuth(client_, ns, spec->secret_name);
    if (!auth.ok()) return auth.error();
    request.auth = *auth;
  }
  auto reverted = git_->Revert(request);
  if (!reverted.ok()) return reverted.error();
  auto synced = Sync(ns, name);
  const std::string subject = reverted->message.substr(0, reverted->message.find('\n'));
  std::string out = "Pushed " + Short(reverted->sha) + " to " + reverted->branch + ": " + subject;
  out += synced.ok() ? "; reconcile requested"
                     : "; requesting a reconcile failed: " + synced.error().message();
  return SafeText(out);
}

chatops::Handler::AuthorizerFn ChatOpsRules(kube::Client& client, std::string ns,
                                            std::string name) {
  return [&client, ns, name]() -> Result<chatops::Authorizer> {
    auto configmaps = client.Resource({"", "v1", "ConfigMap"});
    if (!configmaps.ok()) return configmaps.error();
    auto configmap = client.Get(*configmaps, ns, name);
    if (!configmap.ok() && kube::IsNotFound(configmap.error())) return chatops::Authorizer();
    if (!configmap.ok()) return configmap.error().Wrap("ConfigMap " + ns + "/" + name);
    const Json data = configmap->value("data", Json::object());
    if (!data.is_object() || !data.contains("rules.yaml") || !data["rules.yaml"].is_string()) {
      return chatops::Authorizer();
    }
    auto rules = chatops::Authorizer::Parse(data["rules.yaml"].get<std::string>());
    if (!rules.ok()) return rules.error().Wrap("ConfigMap " + ns + "/" + name + " rules.yaml");
    return rules;
  };
}

namespace {

plumbline::Status PostJson(const std::string& url, const std::string& json) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) {
    return Error(ErrorCode::kInvalidArgument, "response_url is not an http(s) URL");
  }
  const size_t path = url.find('/', scheme + 3);
  http::Request request;
  request.method = "POST";
  request.path = path == std::string::npos ? "/" : url.substr(path);
  request.body = json;
  request.content_type = "application/json";
  // Bounded as a notification is: 10 s in all, 64 KiB of answer.
  auto response = notify::SendHttp(url.substr(0, path), request, std::chrono::seconds(10));
  if (!response.ok()) return response.error();
  if (response->status / 100 != 2) {
    return Error(ErrorCode::kUnavailable,
                 "response_url answered HTTP " + std::to_string(response->status));
  }
  return plumbline::Status::Ok();
}

}  // namespace

chatops::Handler::RespondFn SlackResponder(std::string allowed_prefix) {
  return [allowed_prefix](const std::string& url, const std::string& json) -> plumbline::Status {
    if (url.rfind(allowed_prefix, 0) != 0) {
      return Error(ErrorCode::kForbidden, "response_url is not under " + allowed_prefix +
                                              " (--slack-response-url-prefix)");
    }
    return PostJson(url, json);
  };
}

}  // namespace plumbline::cli
