#include "kube/discovery.h"

#include <algorithm>

#include "common/mutex.h"
#include "kube/errors.h"

namespace plumbline::kube {

GroupVersionKind GroupVersionKind::FromApiVersion(const std::string& api_version,
                                                  const std::string& kind) {
  GroupVersionKind gvk;
  auto slash = api_version.find('/');
  if (slash == std::string::npos) {
    gvk.version = api_version;
  } else {
    gvk.group = api_version.substr(0, slash);
    gvk.version = api_version.substr(slash + 1);
  }
  gvk.kind = kind;
  return gvk;
}

std::string ResourceInfo::CollectionPath(const std::string& ns) const {
  std::string path =
      gvk.group.empty() ? "/api/" + gvk.version : "/apis/" + gvk.group + "/" + gvk.version;
  if (namespaced && !ns.empty()) path += "/namespaces/" + ns;
  return path + "/" + resource;
}

std::string ResourceInfo::ObjectPath(const std::string& ns, const std::string& name) const {
  return CollectionPath(ns) + "/" + name;
}

Result<std::vector<ResourceInfo>> ParseResourceList(const Json& list) {
  if (!list.is_object() || !list.contains("resources") || !list["resources"].is_array()) {
    return Error(ErrorCode::kInvalidArgument, "discovery: not an APIResourceList");
  }
  GroupVersionKind base = GroupVersionKind::FromApiVersion(list.value("groupVersion", ""), "");
  std::vector<ResourceInfo> out;
  std::vector<std::string> with_status;
  for (const auto& r : list["resources"]) {
    std::string name = r.value("name", "");
    auto slash = name.find('/');
    if (slash != std::string::npos) {
      if (name.substr(slash + 1) == "status") with_status.push_back(name.substr(0, slash));
      continue;
    }
    ResourceInfo info;
    info.gvk = base;
    // A resource may live in another group-version than the list (rare); honour it.
    if (r.contains("group") && r["group"].is_string()) info.gvk.group = r["group"];
    if (r.contains("version") && r["version"].is_string()) info.gvk.version = r["version"];
    info.gvk.kind = r.value("kind", "");
    info.resource = name;
    info.namespaced = r.value("namespaced", false);
    if (r.contains("verbs") && r["verbs"].is_array()) {
      for (const auto& v : r["verbs"]) {
        if (v.is_string()) info.verbs.push_back(v);
      }
    }
    out.push_back(std::move(info));
  }
  for (auto& info : out) {
    info.has_status =
        std::find(with_status.begin(), with_status.end(), info.resource) != with_status.end();
  }
  return out;
}

Result<Discovery::Kinds> Discovery::FetchGroupVersion(const std::string& group_version) {
  std::string path = group_version.find('/') == std::string::npos ? "/api/" + group_version
                                                                  : "/apis/" + group_version;
  {
    MutexLock lock(mu_);
    ++fetch_count_;
  }
  auto body = fetch_(path);
  if (!body.ok()) return body.error();
  auto parsed = ParseResourceList(*body);
  if (!parsed.ok()) return parsed.error();
  Kinds kinds;
  for (auto& info : *parsed) {
    // The first resource of a kind is the canonical one (e.g. "pods", not "pods/eviction").
    kinds.try_emplace(info.gvk.kind, info);
  }
  return kinds;
}

const ResourceInfo* Discovery::Cached(const std::string& group_version,
                                      const std::string& kind) const {
  auto it = cache_.find(group_version);
  if (it == cache_.end()) return nullptr;
  auto k = it->second.find(kind);
  return k == it->second.end() ? nullptr : &k->second;
}

Result<ResourceInfo> Discovery::Find(const GroupVersionKind& gvk) {
  const std::string gv = gvk.ApiVersion();
  const std::string miss_key = gv + " " + gvk.kind;
  const std::string no_match = "no matches for kind \"" + gvk.kind + "\" in version \"" + gv + "\"";
  auto not_found = [&] { return Error(ErrorCode::kNotFound, no_match).WithHttp(404, "NotFound"); };
  {
    MutexLock lock(mu_);
    if (const ResourceInfo* hit = Cached(gv, gvk.kind)) return *hit;
    auto miss = misses_.find(miss_key);
    if (miss != misses_.end()) {
      if (now_() < miss->second) return not_found();
      misses_.erase(miss);
    }
  }
  // Two callers missing the same kind at once may both ask; both get the same answer.
  auto fetched = FetchGroupVersion(gv);
  MutexLock lock(mu_);
  if (!fetched.ok()) {
    if (!IsNotFound(fetched.error())) return fetched.error().Wrap("discovery of " + gv);
    cache_.erase(gv);
  } else {
    cache_[gv] = std::move(*fetched);
    if (const ResourceInfo* hit = Cached(gv, gvk.kind)) return *hit;
  }
  misses_[miss_key] = now_() + kMissTtl;
  return not_found();
}

void Discovery::ForgetMisses() {
  MutexLock lock(mu_);
  misses_.clear();
}

int Discovery::fetch_count() const {
  MutexLock lock(mu_);
  return fetch_count_;
}

}  // namespace plumbline::kube
