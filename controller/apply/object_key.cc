#include "apply/object_key.h"

#include "kube/resource.h"

namespace plumbline::apply {

ObjectKey ObjectKey::Of(const Json& object) {
  auto gvk = kube::GroupVersionKind::FromApiVersion(object.value("apiVersion", ""),
                                                    object.value("kind", ""));
  const Json& m = object.contains("metadata") ? object["metadata"] : Json::object();
  return {gvk.group, gvk.version, gvk.kind, m.value("namespace", ""), m.value("name", "")};
}

ObjectKey ObjectKey::FromInventory(const Json& e) {
  return {e.value("group", ""), e.value("version", ""), e.value("kind", ""),
          e.value("namespace", ""), e.value("name", "")};
}

Json ObjectKey::ToInventory() const {
  Json j = {{"group", group}, {"version", version}, {"kind", kind}, {"name", name}};
  if (!ns.empty()) j["namespace"] = ns;
  return j;
}

std::string ObjectKey::ToString() const { return kind + " " + (ns.empty() ? "" : ns + "/") + name; }

}  // namespace plumbline::apply
