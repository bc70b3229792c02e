// The Kubernetes API client: typed verbs for any kind (objects are JSON), with discovery,
// impersonation and errors as values. Client is the interface; kube/rest_client.h is the
// implementation over REST, with a client-side rate limit, request metrics and a write fence.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/resource.h"

namespace plumbline::kube {

// One finished request, for metrics (plumbline_kube_requests_total{verb,code}).
struct RequestRecord {
  std::string verb;  // get, list, watch, apply, create, update, delete, discovery
  int code = 0;      // HTTP status; 0 when no response came
  std::chrono::duration<double> latency{};
};

struct ClientOptions {
  double qps = 50;  // client-side rate limit; <= 0 disables it
  int burst = 100;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // The longest a watch may go without a byte before it is dropped and opened again (the HTTP
  // client's timer is an idle timer, across headers and body). The API server sends a watch
  // that asks for bookmarks one about every minute (measured: 60 s, once 120 s), so a stream
  // that says nothing for three is dead, as behind a load balancer that dropped it silently.
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(3)};
  std::string user_agent = "plumbline";
  std::function<void(const RequestRecord&)> on_request;  // called after every request
  // Asked before every write that is not a dry run; an error refuses the write unsent. Leader
  // election fences writes with it: a replica that may have lost its lease does not write.
  std::function<Status()> may_write;
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 500;  // page size; 0 for no paging
  std::string continue_token;
  std::string resource_version;
  // Only each object's metadata (PartialObjectMetadata): for a watcher that needs to know that
  // something changed, not what it holds (Secrets: their data never reaches our memory).
  bool metadata_only = false;
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;
  std::string continue_token;  // empty on the last page
};

struct ApplyOptions {
  std::string field_manager = "plumbline";
  bool force = true;
  bool dry_run = false;
};

struct DeleteOptions {
  std::string propagation_policy = "Background";  // Foreground, Background or Orphan
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int timeout_seconds = 300;   // the server ends the watch after this
  bool metadata_only = false;  // as ListOptions::metadata_only
};

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  Json object;
};

// One open watch. Next() blocks for the next event; Cancel() from another thread unblocks it.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // nullopt when the server ended the watch (its timeout); an Error when the connection broke,
  // went idle past the client's idle timeout, or was cancelled.
  virtual Result<std::optional<WatchEvent>> Next() = 0;
  virtual void Cancel() = 0;
};

// The API verbs Plumbline uses, as an interface: RestClient speaks them to a real API server,
// and unit tests substitute an in-memory fake. Implementations are thread-safe.
class Client {
 public:
  // A client for the API server of `config` (a RestClient).
  static Result<std::unique_ptr<Client>> Create(const Config& config,
                                                const ClientOptions& options = {});
  virtual ~Client();

  // A client that sends every request as `who` (Impersonate-User / Impersonate-Group).
  virtual std::unique_ptr<Client> Impersonate(const Impersonation& who) const = 0;

  // Discovery: the resource and scope of a kind.
  Result<ResourceInfo> Resource(const GroupVersionKind& gvk);
  // The resource for an object's apiVersion and kind.
  Result<ResourceInfo> ResourceFor(const Json& object);
  virtual Discovery& discovery() = 0;

  virtual Result<Json> Get(const ResourceInfo& resource, const std::string& ns,
                           const std::string& name) = 0;
  // One page.
  virtual Result<ObjectList> ListPage(const ResourceInfo& resource, const std::string& ns,
                                      const ListOptions& options) = 0;
  // Every page, following `continue`.
  Result<ObjectList> List(const ResourceInfo& resource, const std::string& ns,
                          ListOptions options = {});
  // Server-side apply (PATCH application/apply-patch+yaml). Returns the object as stored (or as
  // it would be stored, for a dry run). `created` (optional) tells whether the apply created it.
  virtual Result<Json> Apply(const Json& object, const ApplyOptions& options = {},
                             bool* created = nullptr) = 0;
  // Server-side apply of the status subresource.
  virtual Result<Json> ApplyStatus(const Json& object, const ApplyOptions& options = {}) = 0;
  virtual Result<Json> Create(const Json& object, bool dry_run = false) = 0;
  // PUT of the status subresource; the object's resourceVersion is the precondition.
  virtual Result<Json> UpdateStatus(const Json& object) = 0;
  // PUT of the whole object; its resourceVersion, when set, is the precondition. A non-empty
  // `field_manager` names the manager the server records for the change.
  virtual Result<Json> Update(const Json& object, const std::string& field_manager = "") = 0;
  virtual Status Delete(const ResourceInfo& resource, const std::string& ns,
                        const std::string& name, const DeleteOptions& options = {}) = 0;
  virtual Result<std::unique_ptr<WatchStream>> Watch(const ResourceInfo& resource,
                                                     const std::string& ns,
                                                     const WatchOptions& options) = 0;

  // GET of a non-resource path ("/version", "/readyz").
  virtual Result<Json> GetPath(const std::string& path) = 0;
  // The same for a path whose body is not JSON ("/metrics").
  virtual Result<std::string> GetText(const std::string& path) = 0;

  virtual const Config& config() const = 0;
};

}  // namespace plumbline::kube
