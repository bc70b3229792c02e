#include "apply/owner.h"

namespace plumbline::apply {

void Owner::Label(Json* object) const {
  Json& labels = (*object)["metadata"]["labels"];
  if (!labels.is_object()) labels = Json::object();
  labels[name_label] = name;
  labels[namespace_label] = ns;
}

bool Owner::Owns(const Json& object) const {
  const Json* labels = MemberAt(MemberAt(&object, "metadata"), "labels");
  return StringAt(labels, name_label.c_str()) == name &&
         StringAt(labels, namespace_label.c_str()) == ns;
}

}  // namespace plumbline::apply
