#include "kube/client.h"

namespace plumbline::kube {

Client::~Client() = default;

Result<ResourceInfo> Client::Resource(const GroupVersionKind& gvk) { return discovery().Find(gvk); }

Result<ResourceInfo> Client::ResourceFor(const Json& object) {
  if (!object.is_object() || !object.contains("apiVersion") || !object.contains("kind") ||
      !object["apiVersion"].is_string() || !object["kind"].is_string()) {
    return Error(ErrorCode::kInvalidArgument, "object has no apiVersion or kind");
  }
  return Resource(GroupVersionKind::FromApiVersion(object["apiVersion"], object["kind"]));
}

Result<ObjectList> Client::List(const ResourceInfo& resource, const std::string& ns,
                                ListOptions options) {
  ObjectList all;
  while (true) {
    auto page = ListPage(resource, ns, options);
    if (!page.ok()) return page.error();
    for (auto& item : page->items) all.items.push_back(std::move(item));
    all.resource_version = page->resource_version;
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
    // Later pages are served from the first page's snapshot; a resourceVersion would conflict.
    options.resource_version.clear();
  }
  return all;
}

}  // namespace plumbline::kube
