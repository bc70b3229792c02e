// The Client over REST to a real API server. Impersonate() copies are cheap: they share the
// connection pool, credentials, rate limiter and discovery cache. Obtain one with
// Client::Create. All methods are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "kube/client.h"

namespace plumbline::http {
struct Request;
}  // namespace plumbline::http

namespace plumbline::kube {

class RestClient final : public Client {
 public:
  ~RestClient() override;

  std::unique_ptr<Client> Impersonate(const Impersonation& who) const override;
  Discovery& discovery() override;
  Result<Json> Get(const ResourceInfo& resource, const std::string& ns,
                   const std::string& name) override;
  Result<ObjectList> ListPage(const ResourceInfo& resource, const std::string& ns,
                              const ListOptions& options) override;
  Result<Json> Apply(const Json& object, const ApplyOptions& options, bool* created) override;
  Result<Json> ApplyStatus(const Json& object, const ApplyOptions& options) override;
  Result<Json> Create(const Json& object, bool dry_run) override;
  Result<Json> UpdateStatus(const Json& object) override;
  Result<Json> Update(const Json& object, const std::string& field_manager) override;
  Status Delete(const ResourceInfo& resource, const std::string& ns, const std::string& name,
                const DeleteOptions& options) override;
  Result<std::unique_ptr<WatchStream>> Watch(const ResourceInfo& resource, const std::string& ns,
                                             const WatchOptions& options) override;
  Result<Json> GetPath(const std::string& path) override;
  Result<std::string> GetText(const std::string& path) override;
  const Config& config() const override;

 private:
  friend class Client;  // Client::Create builds the first one
  struct Shared;
  RestClient(std::shared_ptr<Shared> shared, Impersonation who);

  struct Call;
  // Waits for the rate limiter, then builds a request with auth and impersonation headers.
  Result<http::Request> NewRequest(const std::string& method, const std::string& path,
                                   const std::string& context);
  Result<std::string> Do(const Call& call, int* status = nullptr);
  Result<Json> ApplyTo(const Json& object, const std::string& subresource,
                       const ApplyOptions& options, bool* created);

  std::shared_ptr<Shared> shared_;
  const Impersonation impersonate_;
};

}  // namespace plumbline::kube
