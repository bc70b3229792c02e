// The identity of a managed object (PRODUCT §2 inventory entry): group, version, kind,
// namespace, name. Two keys name the same object when all but the version match.
#pragma once

#include <string>
#include <tuple>

#include "common/json.h"

namespace plumbline::apply {

struct ObjectKey {
  std::string group;
  std::string version;
  std::string kind;
  std::string ns;
  std::string name;

  static ObjectKey Of(const Json& object);
  // The status.inventory form: {group, version, kind, namespace, name}.
  static ObjectKey FromInventory(const Json& entry);
  Json ToInventory() const;
  std::string ApiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "Deployment web/api", "Namespace web".
  std::string ToString() const;

  // Ordering and equality ignore the version: apps/v1 and apps/v1beta2 name one object.
  bool operator<(const ObjectKey& o) const {
    return std::tie(group, kind, ns, name) < std::tie(o.group, o.kind, o.ns, o.name);
  }
  bool operator==(const ObjectKey& o) const {
    return std::tie(group, kind, ns, name) == std::tie(o.group, o.kind, o.ns, o.name);
  }
};

}  // namespace plumbline::apply
