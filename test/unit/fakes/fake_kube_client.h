// An in-memory kube::Client for unit tests of the code above the API: the applier, the live
// cache, the elector. It keeps objects by path, numbers writes with a resourceVersion, answers
// with the API's own error shapes (ErrorFromResponse over a metav1.Status), streams writes to
// open watches, and records every request as "verb path" so tests can count them exactly.
//
// Server-side apply is simplified: the applied object is merged over the stored one (maps merge,
// everything else replaces); no field ownership. Tests of field ownership belong against the
// real API server (test/integration).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kube/client.h"

namespace plumbline::testing {

class FakeKubeClient final : public kube::Client {
 public:
  // Serves ConfigMap, Secret, Service, Namespace (v1), Deployment (apps/v1), Lease
  // (coordination.k8s.io/v1) and CustomResourceDefinition (apiextensions.k8s.io/v1).
  FakeKubeClient();
  ~FakeKubeClient() override;

  // Serves another kind from now on (discovery finds it after ForgetMisses or on first ask).
  void ServeKind(const std::string& group_version, const std::string& kind,
                 const std::string& resource, bool namespaced);

  // Called before each request with its verb and path; an Error fails the request unsent.
  using Interceptor =
      std::function<std::optional<Error>(const std::string& verb, const std::string& path)>;
  void SetInterceptor(Interceptor interceptor);

  // Stores an object as if another client wrote it (no request is recorded).
  Json Put(Json object);
  // The stored object, or nullopt.
  std::optional<Json> Stored(const std::string& api_version, const std::string& kind,
                             const std::string& ns, const std::string& name) const;
  // Every request so far, "verb path", in order (discovery not included).
  std::vector<std::string> Requests() const;
  // How many requests had this verb (get, list, watch, apply, create, update, delete).
  int Count(const std::string& verb) const;
  void ClearRequests();

  std::unique_ptr<kube::Client> Impersonate(const kube::Impersonation& who) const override;
  kube::Discovery& discovery() override { return discovery_; }
  Result<Json> Get(const kube::ResourceInfo& resource, const std::string& ns,
                   const std::string& name) override;
  Result<kube::ObjectList> ListPage(const kube::ResourceInfo& resource, const std::string& ns,
                                    const kube::ListOptions& options) override;
  Result<Json> Apply(const Json& object, const kube::ApplyOptions& options, bool* created) override;
  Result<Json> ApplyStatus(const Json& object, const kube::ApplyOptions& options) override;
  Result<Json> Create(const Json& object, bool dry_run) override;
  Result<Json> UpdateStatus(const Json& object) override;
  Result<Json> Update(const Json& object, const std::string& field_manager) override;
  Status Delete(const kube::ResourceInfo& resource, const std::string& ns, const std::string& name,
                const kube::DeleteOptions& options) override;
  Result<std::unique_ptr<kube::WatchStream>> Watch(const kube::ResourceInfo& resource,
                                                   const std::string& ns,
                                                   const kube::WatchOptions& options) override;
  Result<Json> GetPath(const std::string& path) override;
  Result<std::string> GetText(const std::string& path) override;
  const kube::Config& config() const override { return config_; }

 private:
  class Stream;
  struct Watcher {
    std::string prefix;  // collection path
    std::string label_selector;
    std::weak_ptr<Stream> stream;
  };

  // Records the request and asks the interceptor; mu_ must not be held.
  std::optional<Error> Begin(const std::string& verb, const std::string& path);
  Result<std::string> PathOf(const Json& object, std::string* ns, std::string* name);
  Json Store(const std::string& path, Json object, bool created);  // mu_ held
  // Logs the change and passes it to open watches; mu_ held, so events keep the store's order.
  void Notify(kube::WatchEvent::Type type, const std::string& path, const Json& object);

  kube::Config config_;
  kube::Discovery discovery_;

  mutable std::mutex mu_;
  std::map<std::string, Json> lists_;    // group-version -> APIResourceList
  std::map<std::string, Json> objects_;  // object path -> object
  int64_t version_ = 1;
  int64_t uid_ = 0;
  std::vector<std::string> requests_;
  Interceptor interceptor_;
  std::vector<Watcher> watchers_;
  struct Logged {
    int64_t version;
    kube::WatchEvent::Type type;
    std::string path;
    Json object;
  };
  std::vector<Logged> history_;  // every change, for watches that start from a resourceVersion
};

// True when `labels` satisfies a selector of "k=v", "k!=v" and "k" terms separated by commas.
bool MatchesLabels(const Json& labels, const std::string& selector);

}  // namespace plumbline::testing
