#include "kube/rest_client.h"

#include <thread>

#include "http/http_client.h"
#include "kube/credentials.h"
#include "kube/errors.h"
#include "kube/rate_limiter.h"
#include "kube/watch.h"

namespace plumbline::kube {

struct RestClient::Shared {
  Config config;
  ClientOptions options;
  std::unique_ptr<http::Client> http;        // requests: bounded by request_timeout
  std::unique_ptr<http::Client> http_watch;  // watches: bounded by watch_idle_timeout
  std::unique_ptr<Credentials> credentials;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<Discovery> discovery;
};

struct RestClient::Call {
  std::string verb;  // for metrics
  std::string method;
  std::string path;
  std::string body;
  std::string content_type;
  std::string context;  // names the object in errors
  std::string accept = "application/json";
};

namespace {

// The server's metadata-only representations (as controller-runtime's metadata client asks
// for them). A watch's events then each carry a PartialObjectMetadata.
constexpr const char* kMetadataListAccept =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
constexpr const char* kMetadataAccept =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

std::string Meta(const Json& object, const char* field) {
  if (!object.is_object() || !object.contains("metadata")) return "";
  const Json& m = object["metadata"];
  if (!m.is_object() || !m.contains(field) || !m[field].is_string()) return "";
  return m[field];
}

void AddQuery(std::string* path, const std::string& key, const std::string& value) {
  if (value.empty()) return;
  *path += path->find('?') == std::string::npos ? '?' : '&';
  *path += key + "=" + http::EscapeQueryValue(value);
}

// Retry-After in whole seconds, bounded so a misbehaving server cannot park us.
std::chrono::seconds RetryAfter(const http::Response& response) {
  auto it = response.headers.find("Retry-After");
  int seconds = 1;
  if (it != response.headers.end()) seconds = std::atoi(it->second.c_str());
  return std::chrono::seconds(std::clamp(seconds, 1, 10));
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Create(const Config& config, const ClientOptions& options) {
  if (config.impersonate.groups.size() > 1) {
    return Error(ErrorCode::kInvalidArgument, "impersonating more than one group is not supported");
  }
  auto shared = std::make_shared<RestClient::Shared>();
  shared->config = config;
  shared->options = options;

  http::ClientOptions http_options;
  http_options.base_url = config.server;
  http_options.tls.ca_pem = config.ca_pem;
  http_options.tls.insecure_skip_verify = config.insecure_skip_tls_verify;
  http_options.tls.client_cert_pem = config.client_cert_pem;
  http_options.tls.client_key_pem = config.client_key_pem;

  // An exec plugin may hand out a client certificate, which the TLS setup needs up front.
  std::optional<ExecCredential> initial_exec;
  if (config.has_exec) {
    auto cred = RunExecPlugin(config.exec, config);
    if (!cred.ok()) return cred.error();
    if (!cred->client_cert_pem.empty()) {
      http_options.tls.client_cert_pem = cred->client_cert_pem;
      http_options.tls.client_key_pem = cred->client_key_pem;
    }
    initial_exec = std::move(*cred);
  }

  http_options.timeout = options.request_timeout;
  auto http = http::NewClient(http_options);
  if (!http.ok()) return http.error();
  http_options.timeout = options.watch_idle_timeout;
  auto http_watch = http::NewClient(http_options);
  if (!http_watch.ok()) return http_watch.error();
  shared->http = std::move(*http);
  shared->http_watch = std::move(*http_watch);
  shared->credentials = NewCredentials(config, std::move(initial_exec));
  shared->limiter = std::make_unique<RateLimiter>(options.qps, options.burst);

  std::weak_ptr<RestClient::Shared> weak = shared;
  shared->discovery = std::make_unique<Discovery>([weak](const std::string& path) -> Result<Json> {
    auto s = weak.lock();
    if (!s) return Error(ErrorCode::kCancelled, "client closed");
    RestClient client(s, {});
    auto body = client.Do(RestClient::Call{"discovery", "GET", path, "", "", path});
    if (!body.ok()) return body.error();
    return Json::parse(*body, nullptr, false);
  });
  return std::unique_ptr<Client>(new RestClient(std::move(shared), config.impersonate));
}

RestClient::RestClient(std::shared_ptr<Shared> shared, Impersonation who)
    : shared_(std::move(shared)), impersonate_(std::move(who)) {}

RestClient::~RestClient() = default;

std::unique_ptr<Client> RestClient::Impersonate(const Impersonation& who) const {
  return std::unique_ptr<Client>(new RestClient(shared_, who));
}

const Config& RestClient::config() const { return shared_->config; }
Discovery& RestClient::discovery() { return *shared_->discovery; }

Result<http::Request> RestClient::NewRequest(const std::string& method, const std::string& path,
                                             const std::string& context) {
  shared_->limiter->Wait();
  http::Request req;
  req.method = method;
  req.path = path;
  req.headers["Accept"] = "application/json";
  req.headers["User-Agent"] = shared_->options.user_agent;
  auto auth = shared_->credentials->Authorization();
  if (!auth.ok()) return auth.error().Wrap(context);
  if (!auth->empty()) req.headers["Authorization"] = *auth;
  if (!impersonate_.empty()) {
    req.headers["Impersonate-User"] = impersonate_.user;
    if (!impersonate_.groups.empty()) req.headers["Impersonate-Group"] = impersonate_.groups[0];
  }
  return req;
}

Result<std::string> RestClient::Do(const Call& call, int* status) {
  constexpr int kMaxThrottleRetries = 3;
  bool reauthenticated = false;
  const bool fenced = call.method != "GET" && shared_->options.may_write &&
                      call.path.find("dryRun=All") == std::string::npos;
  for (int attempt = 0;; ++attempt) {
    auto req = NewRequest(call.method, call.path, call.context);
    if (!req.ok()) return req.error();
    req->body = call.body;
    req->content_type = call.content_type;
    req->headers["Accept"] = call.accept;
    // Asked right before every send: the rate limiter, a credential plugin or a Retry-After
    // wait may each have outlasted the lease since the last one.
    if (fenced) {
      if (Status allowed = shared_->options.may_write(); !allowed.ok()) {
        return allowed.error().Wrap(call.context);
      }
    }

    auto start = std::chrono::steady_clock::now();
    auto resp = shared_->http->Send(*req);
    RequestRecord record{call.verb, resp.ok() ? resp->status : 0,
                         std::chrono::steady_clock::now() - start};
    if (shared_->options.on_request) shared_->options.on_request(record);
    if (!resp.ok()) return resp.error().Wrap(call.context);

    if (resp->status == 401 && !reauthenticated) {
      reauthenticated = true;
      shared_->credentials->Invalidate();
      continue;
    }
    if (resp->status == 429 && attempt < kMaxThrottleRetries) {
      std::this_thread::sleep_for(RetryAfter(*resp));
      continue;
    }
    if (status) *status = resp->status;
    if (resp->status >= 200 && resp->status < 300) return std::move(resp->body);
    return ErrorFromResponse(resp->status, resp->body, call.context);
  }
}

namespace {
Result<Json> ParseBody(const Result<std::string>& body, const std::string& context) {
  if (!body.ok()) return body.error();
  Json parsed = Json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Error(ErrorCode::kInternal, context + ": the server answered with invalid JSON");
  }
  return parsed;
}

// Where a request about `object` goes: its resource's path for the object, and the
// "Kind namespace/name" that names it in errors.
struct Target {
  std::string path;
  std::string context;
};

Result<Target> TargetOf(const Result<ResourceInfo>& resource, const Json& object) {
  Target t;
  t.context =
      ObjectContext(object.value("kind", ""), Meta(object, "namespace"), Meta(object, "name"));
  if (!resource.ok()) return resource.error().Wrap(t.context);
  if (Meta(object, "name").empty()) {
    return Error(ErrorCode::kInvalidArgument, t.context + ": metadata.name is required");
  }
  std::string ns = Meta(object, "namespace");
  if (resource->namespaced && ns.empty()) {
    return Error(ErrorCode::kInvalidArgument, t.context + ": metadata.namespace is required");
  }
  t.path = resource->ObjectPath(resource->namespaced ? ns : "", Meta(object, "name"));
  return t;
}
}  // namespace

Result<Json> RestClient::Get(const ResourceInfo& resource, const std::string& ns,
                             const std::string& name) {
  std::string context = ObjectContext(resource.gvk.kind, ns, name);
  return ParseBody(Do(Call{"get", "GET", resource.ObjectPath(ns, name), "", "", context}), context);
}

Result<ObjectList> RestClient::ListPage(const ResourceInfo& resource, const std::string& ns,
                                        const ListOptions& options) {
  std::string path = resource.CollectionPath(ns);
  if (options.limit > 0) AddQuery(&path, "limit", std::to_string(options.limit));
  AddQuery(&path, "continue", options.continue_token);
  AddQuery(&path, "labelSelector", options.label_selector);
  AddQuery(&path, "fieldSelector", options.field_selector);
  AddQuery(&path, "resourceVersion", options.resource_version);
  std::string context = "list " + resource.resource + (ns.empty() ? "" : " in " + ns);
  Call call{"list", "GET", path, "", "", context};
  if (options.metadata_only) call.accept = kMetadataListAccept;
  auto body = ParseBody(Do(call), context);
  if (!body.ok()) return body.error();
  ObjectList list;
  if (body->contains("items") && (*body)["items"].is_array()) {
    list.items = std::move((*body)["items"].get_ref<Json::array_t&>());
  }
  // Items in a list carry no apiVersion/kind; fill them in so each stands alone.
  for (auto& item : list.items) {
    item["apiVersion"] = resource.gvk.ApiVersion();
    item["kind"] = resource.gvk.kind;
  }
  if (body->contains("metadata")) {
    list.resource_version = (*body)["metadata"].value("resourceVersion", "");
    list.continue_token = (*body)["metadata"].value("continue", "");
  }
  return list;
}

Result<Json> RestClient::Apply(const Json& object, const ApplyOptions& options, bool* created) {
  return ApplyTo(object, "", options, created);
}

Result<Json> RestClient::ApplyStatus(const Json& object, const ApplyOptions& options) {
  return ApplyTo(object, "/status", options, nullptr);
}

Result<Json> RestClient::ApplyTo(const Json& object, const std::string& subresource,
                                 const ApplyOptions& options, bool* created) {
  auto target = TargetOf(ResourceFor(object), object);
  if (!target.ok()) return target.error();
  std::string path = target->path + subresource;
  AddQuery(&path, "fieldManager", options.field_manager);
  if (options.force) AddQuery(&path, "force", "true");
  if (options.dry_run) AddQuery(&path, "dryRun", "All");
  // JSON is YAML, so the apply-patch+yaml body can be the object's JSON text.
  int status = 0;
  auto body = Do(
      Call{"apply", "PATCH", path, object.dump(), "application/apply-patch+yaml", target->context},
      &status);
  if (created) *created = status == 201;
  return ParseBody(body, target->context);
}

Result<Json> RestClient::Create(const Json& object, bool dry_run) {
  auto resource = ResourceFor(object);
  std::string name = Meta(object, "name");
  if (name.empty()) name = Meta(object, "generateName") + "*";
  std::string context = ObjectContext(object.value("kind", ""), Meta(object, "namespace"), name);
  if (!resource.ok()) return resource.error().Wrap(context);
  if (resource->namespaced && Meta(object, "namespace").empty()) {
    return Error(ErrorCode::kInvalidArgument, context + ": metadata.namespace is required");
  }
  std::string path = resource->CollectionPath(Meta(object, "namespace"));
  if (dry_run) AddQuery(&path, "dryRun", "All");
  return ParseBody(Do(Call{"create", "POST", path, object.dump(), "application/json", context}),
                   context);
}

Result<Json> RestClient::UpdateStatus(const Json& object) {
  auto target = TargetOf(ResourceFor(object), object);
  if (!target.ok()) return target.error();
  return ParseBody(Do(Call{"update", "PUT", target->path + "/status", object.dump(),
                           "application/json", target->context}),
                   target->context);
}

Result<Json> RestClient::Update(const Json& object, const std::string& field_manager) {
  auto target = TargetOf(ResourceFor(object), object);
  if (!target.ok()) return target.error();
  std::string path = target->path;
  AddQuery(&path, "fieldManager", field_manager);
  return ParseBody(
      Do(Call{"update", "PUT", path, object.dump(), "application/json", target->context}),
      target->context);
}

Status RestClient::Delete(const ResourceInfo& resource, const std::string& ns,
                          const std::string& name, const DeleteOptions& options) {
  std::string context = ObjectContext(resource.gvk.kind, ns, name);
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  std::string path = resource.ObjectPath(ns, name);
  if (options.dry_run) AddQuery(&path, "dryRun", "All");
  auto result = Do(Call{"delete", "DELETE", path, body.dump(), "application/json", context});
  if (!result.ok()) return result.error();
  return Status::Ok();
}

Result<Json> RestClient::GetPath(const std::string& path) {
  return ParseBody(Do(Call{"get", "GET", path, "", "", path}), path);
}

Result<std::string> RestClient::GetText(const std::string& path) {
  return Do(Call{"get", "GET", path, "", "", path});
}

Result<std::unique_ptr<WatchStream>> RestClient::Watch(const ResourceInfo& resource,
                                                       const std::string& ns,
                                                       const WatchOptions& options) {
  std::string path = resource.CollectionPath(ns);
  AddQuery(&path, "watch", "1");
  AddQuery(&path, "resourceVersion", options.resource_version);
  if (options.allow_bookmarks) AddQuery(&path, "allowWatchBookmarks", "true");
  if (options.timeout_seconds > 0) {
    AddQuery(&path, "timeoutSeconds", std::to_string(options.timeout_seconds));
  }
  AddQuery(&path, "labelSelector", options.label_selector);
  AddQuery(&path, "fieldSelector", options.field_selector);
  std::string context = "watch " + resource.resource + (ns.empty() ? "" : " in " + ns);

  auto req = NewRequest("GET", path, context);
  if (!req.ok()) return req.error();
  if (options.metadata_only) req->headers["Accept"] = kMetadataAccept;
  auto start = std::chrono::steady_clock::now();
  auto stream = shared_->http_watch->OpenStream(*req);
  RequestRecord record{"watch", stream.ok() ? (*stream)->status() : 0,
                       std::chrono::steady_clock::now() - start};
  if (shared_->options.on_request) shared_->options.on_request(record);
  if (!stream.ok()) return stream.error().Wrap(context);
  int status = (*stream)->status();
  if (status < 200 || status >= 300) {
    // Read the error body (a Status object) to report the API's reason.
    std::string body;
    while (body.size() < 65536) {
      auto chunk = (*stream)->ReadSome();
      if (!chunk.ok() || chunk->empty()) break;
      body += *chunk;
    }
    if (status == 401) shared_->credentials->Invalidate();
    return ErrorFromResponse(status, body, context);
  }
  return NewWatchStream(std::move(*stream), context);
}

}  // namespace plumbline::kube
