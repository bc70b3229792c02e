#include "fakes/fake_kube_client.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "kube/errors.h"

namespace plumbline::testing {
namespace {

std::string Meta(const Json& object, const char* field) {
  if (!object.is_object() || !object.contains("metadata")) return "";
  const Json& m = object["metadata"];
  if (!m.is_object() || !m.contains(field) || !m[field].is_string()) return "";
  return m[field];
}

Error ApiError(int code, const std::string& reason, const std::string& message,
               const std::string& context) {
  Json status = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                 {"reason", reason}, {"code", code},       {"message", message}};
  return kube::ErrorFromResponse(code, status.dump(), context);
}

// Maps merge key by key; anything else replaces.
void MergeInto(Json& base, const Json& patch) {
  if (!base.is_object() || !patch.is_object()) {
    base = patch;
    return;
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (base.contains(it.key())) {
      MergeInto(base[it.key()], it.value());
    } else {
      base[it.key()] = it.value();
    }
  }
}

// Whether an object's path lies in a collection: its own, or (for a namespaced kind) the
// cluster-wide one, ".../v1/configmaps" holding ".../v1/namespaces/NS/configmaps/NAME".
bool InCollection(const std::string& object_path, const std::string& collection) {
  const std::string own = object_path.substr(0, object_path.rfind('/'));
  if (own == collection) return true;
  const auto cut = collection.rfind('/');
  const std::string base = collection.substr(0, cut) + "/namespaces/";
  const std::string tail = collection.substr(cut);
  if (own.rfind(base, 0) != 0 || own.size() <= base.size() + tail.size()) return false;
  const std::string middle = own.substr(base.size(), own.size() - base.size() - tail.size());
  return own.compare(own.size() - tail.size(), tail.size(), tail) == 0 &&
         middle.find('/') == std::string::npos;
}

}  // namespace

bool MatchesLabels(const Json& labels, const std::string& selector) {
  std::stringstream terms(selector);
  std::string term;
  while (std::getline(terms, term, ',')) {
    if (term.empty()) continue;
    auto label = [&](const std::string& key) -> std::optional<std::string> {
      if (!labels.is_object() || !labels.contains(key) || !labels[key].is_string()) {
        return std::nullopt;
      }
      return labels[key].get<std::string>();
    };
    if (auto ne = term.find("!="); ne != std::string::npos) {
      if (label(term.substr(0, ne)) == term.substr(ne + 2)) return false;
    } else if (auto eq = term.find('='); eq != std::string::npos) {
      if (label(term.substr(0, eq)) != term.substr(eq + 1)) return false;
    } else if (!label(term)) {
      return false;
    }
  }
  return true;
}

// Events for one watch. The server side (Notify) pushes; Next() pops, and ends the watch when
// nothing came for a while, as the server's timeout would.
class FakeKubeClient::Stream final : public kube::WatchStream {
 public:
  void Push(kube::WatchEvent event) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(std::move(event));
    }
    cv_.notify_all();
  }

  Result<std::optional<kube::WatchEvent>> Next() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return cancelled_ || !events_.empty(); });
    if (cancelled_) return Error(ErrorCode::kCancelled, "watch cancelled");
    if (events_.empty()) return std::optional<kube::WatchEvent>();
    kube::WatchEvent event = std::move(events_.front());
    events_.pop_front();
    return std::optional<kube::WatchEvent>(std::move(event));
  }

  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<kube::WatchEvent> events_;
  bool cancelled_ = false;
};

namespace {

// Impersonate(): the same store, reached through the parent.
class Impersonated final : public kube::Client {
 public:
  explicit Impersonated(kube::Client& parent) : parent_(parent) {}
  std::unique_ptr<kube::Client> Impersonate(const kube::Impersonation& who) const override {
    return parent_.Impersonate(who);
  }
  kube::Discovery& discovery() override { return parent_.discovery(); }
  Result<Json> Get(const kube::ResourceInfo& r, const std::string& ns,
                   const std::string& name) override {
    return parent_.Get(r, ns, name);
  }
  Result<kube::ObjectList> ListPage(const kube::ResourceInfo& r, const std::string& ns,
                                    const kube::ListOptions& o) override {
    return parent_.ListPage(r, ns, o);
  }
  Result<Json> Apply(const Json& object, const kube::ApplyOptions& o, bool* created) override {
    return parent_.Apply(object, o, created);
  }
  Result<Json> ApplyStatus(const Json& object, const kube::ApplyOptions& o) override {
    return parent_.ApplyStatus(object, o);
  }
  Result<Json> Create(const Json& object, bool dry_run) override {
    return parent_.Create(object, dry_run);
  }
  Result<Json> UpdateStatus(const Json& object) override { return parent_.UpdateStatus(object); }
  Result<Json> Update(const Json& object, const std::string& manager) override {
    return parent_.Update(object, manager);
  }
  Status Delete(const kube::ResourceInfo& r, const std::string& ns, const std::string& name,
                const kube::DeleteOptions& o) override {
    return parent_.Delete(r, ns, name, o);
  }
  Result<std::unique_ptr<kube::WatchStream>> Watch(const kube::ResourceInfo& r,
                                                   const std::string& ns,
                                                   const kube::WatchOptions& o) override {
    return parent_.Watch(r, ns, o);
  }
  Result<Json> GetPath(const std::string& path) override { return parent_.GetPath(path); }
  Result<std::string> GetText(const std::string& path) override { return parent_.GetText(path); }
  const kube::Config& config() const override { return parent_.config(); }

 private:
  kube::Client& parent_;
};

}  // namespace

FakeKubeClient::FakeKubeClient()
    : discovery_([this](const std::string& path) -> Result<Json> {
        std::string gv = path.rfind("/api/", 0) == 0 ? path.substr(5) : path.substr(6);
        std::lock_guard<std::mutex> lock(mu_);
        auto it = lists_.find(gv);
        if (it == lists_.end()) {
          return ApiError(404, "NotFound", "the server could not find the requested resource",
                          path);
        }
        return it->second;
      }) {
  config_.server = "https://fake.invalid";
  ServeKind("v1", "ConfigMap", "configmaps", true);
  ServeKind("v1", "Secret", "secrets", true);
  ServeKind("v1", "Service", "services", true);
  ServeKind("v1", "Namespace", "namespaces", false);
  ServeKind("apps/v1", "Deployment", "deployments", true);
  ServeKind("coordination.k8s.io/v1", "Lease", "leases", true);
  ServeKind("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions",
            false);
}

FakeKubeClient::~FakeKubeClient() = default;

void FakeKubeClient::ServeKind(const std::string& group_version, const std::string& kind,
                               const std::string& resource, bool namespaced) {
  std::lock_guard<std::mutex> lock(mu_);
  Json& list = lists_[group_version];
  if (list.is_null()) {
    list = {
        {"kind", "APIResourceList"}, {"groupVersion", group_version}, {"resources", Json::array()}};
  }
  Json verbs = {"get", "list", "watch", "create", "update", "patch", "delete"};
  list["resources"].push_back(
      {{"name", resource}, {"kind", kind}, {"namespaced", namespaced}, {"verbs", verbs}});
  list["resources"].push_back({{"name", resource + "/status"},
                               {"kind", kind},
                               {"namespaced", namespaced},
                               {"verbs", {"get", "patch", "update"}}});
}

void FakeKubeClient::SetInterceptor(Interceptor interceptor) {
  std::lock_guard<std::mutex> lock(mu_);
  interceptor_ = std::move(interceptor);
}

std::optional<Error> FakeKubeClient::Begin(const std::string& verb, const std::string& path) {
  Interceptor interceptor;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(verb + " " + path);
    interceptor = interceptor_;
  }
  if (interceptor) return interceptor(verb, path);
  return std::nullopt;
}

Result<std::string> FakeKubeClient::PathOf(const Json& object, std::string* ns, std::string* name) {
  auto resource = ResourceFor(object);
  if (!resource.ok()) return resource.error();
  *ns = resource->namespaced ? Meta(object, "namespace") : "";
  *name = Meta(object, "name");
  if (name->empty()) return Error(ErrorCode::kInvalidArgument, "object has no name");
  return resource->ObjectPath(*ns, *name);
}

Json FakeKubeClient::Store(const std::string& path, Json object, bool created) {
  Json& meta = object["metadata"];
  meta["resourceVersion"] = std::to_string(++version_);
  if (created) {
    meta["uid"] = "uid-" + std::to_string(++uid_);
    meta["generation"] = 1;
  }
  objects_[path] = object;
  return object;
}

void FakeKubeClient::Notify(kube::WatchEvent::Type type, const std::string& path,
                            const Json& object) {
  history_.push_back({version_, type, path, object});
  for (const auto& w : watchers_) {
    auto stream = w.stream.lock();
    if (!stream || !InCollection(path, w.prefix)) continue;
    if (!MatchesLabels(object["metadata"].value("labels", Json::object()), w.label_selector)) {
      continue;
    }
    stream->Push({type, object});
  }
}

Json FakeKubeClient::Put(Json object) {
  std::string ns, name;
  auto path = PathOf(object, &ns, &name);
  if (!path.ok()) return Json();
  Json stored;
  bool created;
  {
    std::lock_guard<std::mutex> lock(mu_);
    created = objects_.count(*path) == 0;
    stored = Store(*path, std::move(object), created);
    Notify(created ? kube::WatchEvent::Type::kAdded : kube::WatchEvent::Type::kModified, *path,
           stored);
  }
  return stored;
}

std::optional<Json> FakeKubeClient::Stored(const std::string& api_version, const std::string& kind,
                                           const std::string& ns, const std::string& name) const {
  auto resource = const_cast<FakeKubeClient*>(this)->Resource(
      kube::GroupVersionKind::FromApiVersion(api_version, kind));
  if (!resource.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(resource->ObjectPath(resource->namespaced ? ns : "", name));
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> FakeKubeClient::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

int FakeKubeClient::Count(const std::string& verb) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(std::count_if(
      requests_.begin(), requests_.end(),
      [&](const std::string& r) { return r.compare(0, verb.size() + 1, verb + " ") == 0; }));
}

void FakeKubeClient::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

std::unique_ptr<kube::Client> FakeKubeClient::Impersonate(const kube::Impersonation&) const {
  return std::make_unique<Impersonated>(const_cast<FakeKubeClient&>(*this));
}

Result<Json> FakeKubeClient::Get(const kube::ResourceInfo& resource, const std::string& ns,
                                 const std::string& name) {
  const std::string path = resource.ObjectPath(ns, name);
  if (auto e = Begin("get", path)) return *e;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(path);
  if (it == objects_.end()) {
    return ApiError(404, "NotFound", resource.resource + " \"" + name + "\" not found",
                    kube::ObjectContext(resource.gvk.kind, ns, name));
  }
  return it->second;
}

Result<kube::ObjectList> FakeKubeClient::ListPage(const kube::ResourceInfo& resource,
                                                  const std::string& ns,
                                                  const kube::ListOptions& options) {
  const std::string collection = resource.CollectionPath(ns);
  if (auto e = Begin("list", collection)) return *e;
  std::lock_guard<std::mutex> lock(mu_);
  kube::ObjectList list;
  for (const auto& [path, object] : objects_) {
    if (!InCollection(path, collection)) continue;
    if (!MatchesLabels(object["metadata"].value("labels", Json::object()),
                       options.label_selector)) {
      continue;
    }
    list.items.push_back(object);
  }
  list.resource_version = std::to_string(version_);
  return list;
}

Result<Json> FakeKubeClient::Apply(const Json& object, const kube::ApplyOptions& options,
                                   bool* created) {
  std::string ns, name;
  auto path = PathOf(object, &ns, &name);
  if (!path.ok()) return path.error();
  if (auto e = Begin(options.dry_run ? "apply-dry-run" : "apply", *path)) return *e;
  Json stored;
  bool is_new;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(*path);
    is_new = it == objects_.end();
    Json merged = is_new ? Json::object() : it->second;
    MergeInto(merged, object);
    if (created) *created = is_new;
    if (options.dry_run) return merged;
    // An apply that changes nothing keeps the resourceVersion and sends no event, as SSA does.
    if (!is_new && merged == it->second) return merged;
    stored = Store(*path, std::move(merged), is_new);
    Notify(is_new ? kube::WatchEvent::Type::kAdded : kube::WatchEvent::Type::kModified, *path,
           stored);
  }
  return stored;
}

Result<Json> FakeKubeClient::ApplyStatus(const Json& object, const kube::ApplyOptions& options) {
  std::string ns, name;
  auto path = PathOf(object, &ns, &name);
  if (!path.ok()) return path.error();
  if (auto e = Begin("apply-status", *path)) return *e;
  Json stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(*path);
    if (it == objects_.end()) {
      return ApiError(404, "NotFound", "not found", kube::ObjectContext("", ns, name));
    }
    Json merged = it->second;
    if (object.contains("status")) MergeInto(merged["status"], object["status"]);
    if (options.dry_run) return merged;
    stored = Store(*path, std::move(merged), false);
    Notify(kube::WatchEvent::Type::kModified, *path, stored);
  }
  return stored;
}

Result<Json> FakeKubeClient::Create(const Json& object, bool dry_run) {
  std::string ns, name;
  auto path = PathOf(object, &ns, &name);
  if (!path.ok()) return path.error();
  if (auto e = Begin(dry_run ? "create-dry-run" : "create", *path)) return *e;
  Json stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (objects_.count(*path)) {
      return ApiError(409, "AlreadyExists", "\"" + name + "\" already exists",
                      kube::ObjectContext(object.value("kind", ""), ns, name));
    }
    if (dry_run) return object;
    stored = Store(*path, object, true);
    Notify(kube::WatchEvent::Type::kAdded, *path, stored);
  }
  return stored;
}

Result<Json> FakeKubeClient::UpdateStatus(const Json& object) {
  std::string ns, name;
  auto path = PathOf(object, &ns, &name);
  if (!path.ok()) return path.error();
  if (auto e = Begin("update-status", *path)) return *e;
  Json stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(*path);
    const std::string context = kube::ObjectContext(object.value("kind", ""), ns, name);
    if (it == objects_.end()) return ApiError(404, "NotFound", "not found", context);
    if (Meta(object, "resourceVersion") != Meta(it->second, "resourceVersion")) {
      return ApiError(409, "Conflict", "the object has been modified", context);
    }
    Json updated = it->second;
    updated["status"] = object.value("status", Json::object());
    stored = Store(*path, std::move(updated), false);
    Notify(kube::WatchEvent::Type::kModified, *path, stored);
  }
  return stored;
}

Result<Json> FakeKubeClient::Update(const Json& object, const std::string&) {
  std::string ns, name;
  auto path = PathOf(object, &ns, &name);
  if (!path.ok()) return path.error();
  if (auto e = Begin("update", *path)) return *e;
  Json stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(*path);
    const std::string context = kube::ObjectContext(object.value("kind", ""), ns, name);
    if (it == objects_.end()) return ApiError(404, "NotFound", "not found", context);
    const std::string precondition = Meta(object, "resourceVersion");
    if (!precondition.empty() && precondition != Meta(it->second, "resourceVersion")) {
      return ApiError(409, "Conflict",
                      "Operation cannot be fulfilled: the object has been modified", context);
    }
    stored = Store(*path, object, false);
    Notify(kube::WatchEvent::Type::kModified, *path, stored);
  }
  return stored;
}

Status FakeKubeClient::Delete(const kube::ResourceInfo& resource, const std::string& ns,
                              const std::string& name, const kube::DeleteOptions& options) {
  const std::string path = resource.ObjectPath(ns, name);
  if (auto e = Begin(options.dry_run ? "delete-dry-run" : "delete", path)) return *e;
  Json gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(path);
    if (it == objects_.end()) {
      return ApiError(404, "NotFound", resource.resource + " \"" + name + "\" not found",
                      kube::ObjectContext(resource.gvk.kind, ns, name));
    }
    if (!options.precondition_uid.empty() && options.precondition_uid != Meta(it->second, "uid")) {
      return ApiError(409, "Conflict", "Precondition failed: UID in precondition",
                      kube::ObjectContext(resource.gvk.kind, ns, name));
    }
    if (options.dry_run) return Status::Ok();
    gone = std::move(it->second);
    objects_.erase(it);
    ++version_;
    Notify(kube::WatchEvent::Type::kDeleted, path, gone);
  }
  return Status::Ok();
}

Result<std::unique_ptr<kube::WatchStream>> FakeKubeClient::Watch(
    const kube::ResourceInfo& resource, const std::string& ns, const kube::WatchOptions& options) {
  const std::string collection = resource.CollectionPath(ns);
  if (auto e = Begin("watch", collection)) return *e;
  auto stream = std::make_shared<Stream>();
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back({collection, options.label_selector, stream});
  // As the API server does: a watch from a resourceVersion first replays what came after it.
  if (!options.resource_version.empty()) {
    const int64_t from = std::stoll(options.resource_version);
    for (const auto& e : history_) {
      if (e.version <= from || !InCollection(e.path, collection)) continue;
      if (MatchesLabels(e.object["metadata"].value("labels", Json::object()),
                        options.label_selector)) {
        stream->Push({e.type, e.object});
      }
    }
  }
  // The caller owns the stream; we keep a weak reference for events.
  struct Owned final : kube::WatchStream {
    std::shared_ptr<Stream> s;
    Result<std::optional<kube::WatchEvent>> Next() override { return s->Next(); }
    void Cancel() override { s->Cancel(); }
  };
  auto owned = std::make_unique<Owned>();
  owned->s = std::move(stream);
  return std::unique_ptr<kube::WatchStream>(std::move(owned));
}

Result<Json> FakeKubeClient::GetPath(const std::string& path) {
  if (auto e = Begin("get", path)) return *e;
  return ApiError(404, "NotFound", "no such path", path);
}

Result<std::string> FakeKubeClient::GetText(const std::string& path) {
  if (auto e = Begin("get", path)) return *e;
  return ApiError(404, "NotFound", "no such path", path);
}

}  // namespace plumbline::testing
