// Discovery maps a group/version/kind to its REST resource and scope. It asks the API server
// for one group-version at a time (never the whole cluster), caches the answer, and asks again
// when a kind is not in the cache, so a CRD installed after start is found without a restart.
// A kind the server does not serve is remembered as missing for a short while, so a manifest of
// an unknown kind costs one request, not one per object and reconcile. Thread-safe; no lock is
// held while asking the server, so a slow answer delays only the kinds that wait for it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "common/mutex.h"
#include "kube/resource.h"

namespace plumbline::kube {

// Parses an APIResourceList (the body of GET /api/v1 or /apis/GROUP/VERSION) into one entry per
// kind. Subresources are folded into their parent (has_status).
Result<std::vector<ResourceInfo>> ParseResourceList(const Json& list);

class Discovery {
 public:
  // Fetches a path from the API server; used for "/api/v1" and "/apis/GROUP/VERSION".
  using Fetch = std::function<Result<Json>(const std::string& path)>;

  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // How long a kind found missing is answered NotFound without asking again.
  static constexpr std::chrono::seconds kMissTtl{10};

  explicit Discovery(Fetch fetch, Clock now = std::chrono::steady_clock::now)
      : fetch_(std::move(fetch)), now_(std::move(now)) {}

  // NotFound when the API server serves no such group-version or kind.
  Result<ResourceInfo> Find(const GroupVersionKind& gvk);
  // Forgets every kind found missing: call once new kinds may be served (CRDs established).
  void ForgetMisses();
  // How many group-versions were fetched so far (for tests and benchmarks).
  int fetch_count() const;

 private:
  using Kinds = std::map<std::string, ResourceInfo>;
  // Asks the server for one group-version; called without mu_ held.
  Result<Kinds> FetchGroupVersion(const std::string& group_version) EXCLUDES(mu_);
  const ResourceInfo* Cached(const std::string& group_version, const std::string& kind) const
      REQUIRES(mu_);

  const Fetch fetch_;
  const Clock now_;
  mutable Mutex mu_;
  std::map<std::string, Kinds> cache_ GUARDED_BY(mu_);  // group-version -> kind -> resource
  // "group-version kind" -> until when it counts as missing
  std::map<std::string, std::chrono::steady_clock::time_point> misses_ GUARDED_BY(mu_);
  int fetch_count_ GUARDED_BY(mu_) = 0;
};

}  // namespace plumbline::kube
