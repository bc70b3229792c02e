// Who applies and owns an object: the field manager its applies use and the labels that mark it
// as one Application's. A value, so that apply and drift need not know the Application type
// (Flux's ssa.Owner plays the same part).
#pragma once

#include <string>

#include "common/json.h"

namespace plumbline::apply {

// Per-object annotations in git that steer the applier and the prune.
inline constexpr char kPruneAnnotation[] = "plumbline.dev/prune";          // disabled: never pruned
inline constexpr char kReconcileAnnotation[] = "plumbline.dev/reconcile";  // disabled: left alone
inline constexpr char kForceAnnotation[] = "plumbline.dev/force";  // enabled: recreate if immutable

struct Owner {
  std::string field_manager;
  // Label keys, and the Application they name.
  std::string name_label;
  std::string namespace_label;
  std::string name;
  std::string ns;

  // Sets both labels on `object` (making metadata.labels a map if it was not one).
  void Label(Json* object) const;
  // Whether `object` carries both labels with this owner's values.
  bool Owns(const Json& object) const;
};

}  // namespace plumbline::apply
