// Discovery maps a group/version/kind to its REST resource and scope. It asks the API server
// for one group-version at a time (never the whole cluster), caches the answer, and asks again
// when a kind is not in the cache, so a CRD installed after start is found without a restart.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "kube/resource.h"

namespace plumbline::kube {

// Parses an APIResourceList (the body of GET /api/v1 or /apis/GROUP/VERSION) into one entry per
// kind. Subresources are folded into their parent (has_status).
Result<std::vector<ResourceInfo>> ParseResourceList(const Json& list);

class Discovery {
 public:
  // Fetches a path from the API server; used for "/api/v1" and "/apis/GROUP/VERSION".
  using Fetch = std::function<Result<Json>(const std::string& path)>;

  explicit Discovery(Fetch fetch) : fetch_(std::move(fetch)) {}

  // NotFound when the API server serves no such group-version or kind.
  Result<ResourceInfo> Find(const GroupVersionKind& gvk);
  // How many group-versions were fetched so far (for tests and benchmarks).
  int fetch_count() const;

 private:
  Status Refresh(const std::string& group_version);  // requires mu_ held

  const Fetch fetch_;
  mutable std::mutex mu_;
  // group-version -> kind -> resource; guarded by mu_
  std::map<std::string, std::map<std::string, ResourceInfo>> cache_;
  int fetch_count_ = 0;  // guarded by mu_
};

}  // namespace plumbline::kube
