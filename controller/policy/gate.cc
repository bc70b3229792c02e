#include "policy/gate.h"

#include <optional>

#include "common/redact.h"
#include "http/http_client.h"

namespace plumbline::policy {
namespace {

constexpr char kDataPrefix[] = "/v1/data/";
// Bounds on what a server's answer may make us keep and say.
constexpr size_t kMaxDenials = 1000;
constexpr size_t kMaxMessageBytes = 1024;
constexpr size_t kMaxAnswerBytes = 16 << 20;

std::string Bounded(std::string text) {
  if (text.size() > kMaxMessageBytes) text = text.substr(0, kMaxMessageBytes) + "...";
  return text;
}

// "Kind/namespace/name" of an object the rule returned in some shape: a string as is, an object
// by its kind, namespace and name.
std::string ObjectName(const Json& object) {
  if (object.is_string()) return object.get<std::string>();
  if (!object.is_object()) return "";
  const Json* meta = MemberAt(&object, "metadata");
  const std::string kind = StringAt(object, "kind");
  const std::string ns = meta ? StringAt(meta, "namespace") : StringAt(object, "namespace");
  const std::string name = meta ? StringAt(meta, "name") : StringAt(object, "name");
  if (name.empty()) return "";
  return kind + "/" + (ns.empty() ? "" : ns + "/") + name;
}

Result<std::vector<Denial>> ParseDecision(const std::string& rule, const http::Response& response) {
  if (response.body.size() > kMaxAnswerBytes) {
    return Error(ErrorCode::kInvalidArgument, "policy server's answer for " + rule + " is over " +
                                                  std::to_string(kMaxAnswerBytes) + " bytes");
  }
  if (response.status != 200) {
    const ErrorCode code =
        response.status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument;
    return Error(code, "policy server answered " + std::to_string(response.status) + " for " +
                           rule + ": " + Bounded(response.body));
  }
  Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) {
    return Error(ErrorCode::kInvalidArgument,
                 "policy server's answer for " + rule + " is not a JSON object");
  }
  const Json* result = MemberAt(&body, "result");
  if (result == nullptr) {
    // OPA answers an undefined document with no "result": a typo in a rule path must not pass.
    return Error(ErrorCode::kInvalidArgument,
                 "policy rule " + rule + " is not defined on the policy server");
  }
  if (!result->is_array()) {
    return Error(ErrorCode::kInvalidArgument, "policy rule " + rule +
                                                  " is not a set of denials (it is " +
                                                  std::string(result->type_name()) + ")");
  }
  std::vector<Denial> denials;
  for (const Json& entry : *result) {
    if (denials.size() == kMaxDenials) break;
    Denial d;
    d.rule = rule;
    if (entry.is_string()) {
      d.message = entry.get<std::string>();
    } else if (entry.is_object()) {
      d.message = StringAt(entry, "msg");
      if (d.message.empty()) d.message = StringAt(entry, "message");
      if (d.message.empty()) d.message = entry.dump();
      if (const Json* object = MemberAt(&entry, "object")) d.object = ObjectName(*object);
    } else {
      d.message = entry.dump();
    }
    d.message = Bounded(std::move(d.message));
    d.object = Bounded(std::move(d.object));
    denials.push_back(std::move(d));
  }
  return denials;
}

class OpaGate : public Gate {
 public:
  OpaGate(std::unique_ptr<http::Client> client, std::string default_rule)
      : client_(std::move(client)),
        default_rule_(std::move(default_rule)),
        package_(default_rule_.substr(0, default_rule_.rfind('/') + 1)) {}

  Result<std::vector<Denial>> Evaluate(const Json& input,
                                       const std::vector<std::string>& extra_rules) override {
    // Text that is not UTF-8 (a Latin-1 author name) is replaced, never thrown on.
    const std::string body =
        Json{{"input", input}}.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::vector<std::string> rules = {default_rule_};
    for (const std::string& rule : extra_rules) {
      // An Application adds rules of the default rule's package, not any document of the
      // server (another tenant's data would come back as "denials" in its status).
      if (rule.compare(0, package_.size(), package_) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "spec.policy rule " + rule + " is not under " + package_ +
                         " (the package of the controller's --policy-url rule)");
      }
      rules.push_back(rule);
    }
    // Every rule is asked: a denial stands even when another rule cannot be evaluated.
    std::vector<Denial> all;
    std::optional<Error> failure;
    for (const std::string& rule : rules) {
      http::Request request;
      request.method = "POST";
      request.path = kDataPrefix + rule;
      request.body = body;
      request.content_type = "application/json";
      auto response = client_->Send(request);
      if (!response.ok()) {
        if (!failure) failure = response.error().Wrap("policy server, rule " + rule);
        continue;
      }
      auto denials = ParseDecision(rule, *response);
      if (!denials.ok()) {
        if (!failure) failure = denials.error();
        continue;
      }
      for (auto& d : *denials) all.push_back(std::move(d));
    }
    if (all.empty() && failure) return *failure;
    return all;
  }

 private:
  std::unique_ptr<http::Client> client_;
  const std::string default_rule_;
  const std::string package_;  // "plumbline/": extra rules must start with it
};

Json MaskedSecret(Json object) {
  for (const char* field : {"data", "stringData"}) {
    if (object.contains(field) && object[field].is_object()) {
      for (auto& value : object[field]) value = "***";
    }
  }
  return object;
}

}  // namespace

std::string Describe(const std::vector<Denial>& denials, size_t max) {
  std::string out;
  for (size_t i = 0; i < denials.size() && i < max; ++i) {
    if (i) out += "; ";
    if (!denials[i].object.empty()) out += denials[i].object + ": ";
    out += denials[i].message;
  }
  if (denials.size() > max) out += "; and " + std::to_string(denials.size() - max) + " more";
  return out;
}

Json InputFor(const Subject& subject, const std::vector<Json>& objects) {
  Json input;
  input["application"] = {{"namespace", subject.app_namespace}, {"name", subject.app_name}};
  input["commit"] = {{"sha", subject.commit_sha},
                     {"author", SafeText(subject.commit_author)},
                     {"message", SafeText(subject.commit_message)}};
  Json list = Json::array();
  for (const Json& object : objects) {
    const bool secret =
        StringAt(object, "kind") == "Secret" && StringAt(object, "apiVersion") == "v1";
    list.push_back(secret ? MaskedSecret(object) : object);
  }
  input["objects"] = std::move(list);
  return input;
}

Result<std::unique_ptr<Gate>> NewOpaGate(const GateOptions& options) {
  const std::string& url = options.url;
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0)) {
    return Error(ErrorCode::kInvalidArgument, "policy URL \"" + url + "\" is not an http(s) URL");
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  const std::string path = path_start == std::string::npos ? "" : url.substr(path_start);
  if (path.compare(0, sizeof(kDataPrefix) - 1, kDataPrefix) != 0 ||
      path.size() == sizeof(kDataPrefix) - 1 || path.find_first_of("?#") != std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "policy URL \"" + url +
                                                  "\" does not name a rule of OPA's data API (like "
                                                  "http://opa:8181/v1/data/plumbline/deny)");
  }
  std::string rule = path.substr(sizeof(kDataPrefix) - 1);
  while (!rule.empty() && rule.back() == '/') rule.pop_back();
  http::ClientOptions client_options;
  client_options.base_url = url.substr(0, path_start);
  client_options.timeout = options.timeout;
  client_options.tls.ca_pem = options.ca_pem;
  auto client = http::NewClient(client_options);
  if (!client.ok()) return client.error();
  return std::unique_ptr<Gate>(new OpaGate(std::move(*client), std::move(rule)));
}

}  // namespace plumbline::policy
