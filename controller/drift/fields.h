// The fields a field manager owns, read out of objects, and compared (PRODUCT §3.5).
//
// Server-side apply records, per manager, the set of fields its last apply set (managedFields,
// format FieldsV1: "f:name" map keys, "k:{...}" list items by their keys, "v:..." set items,
// "." the item itself). Reading the same set out of the object as stored after our apply and out
// of the live object compares exactly what git sets, after the server's defaulting and
// normalization, and nothing another manager or the server added. Pure functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/json.h"

namespace plumbline::drift {

// One owned field's value in one object.
struct FieldValue {
  std::string pointer;   // JSON pointer into the object this was read from (list items by index)
  bool present = false;  // false: the object lacks the field
  Json value;            // the whole value (fields are owned as leaves)

  bool operator==(const FieldValue& o) const { return present == o.present && value == o.value; }
};

// Keyed by a path that names list items by their keys, so that items another manager inserted
// in front of ours do not shift the comparison.
using FieldValues = std::map<std::string, FieldValue>;

// The FieldsV1 tree of `manager`'s Apply entry in the object's metadata.managedFields, or null
// when the manager owns nothing there.
Json OwnedFields(const Json& object, const std::string& manager);

// The values of `object` at every leaf of `fields` (a FieldsV1 tree).
FieldValues Extract(const Json& object, const Json& fields);

// The paths (as FieldValues keys) of every leaf of `fields` (a FieldsV1 tree).
std::set<std::string> LeafPaths(const Json& fields);

// JSON pointers (from `expected`) of the fields whose live value differs or is missing; a
// missing map or list item is reported once, not field by field. Sorted.
//
// A map or list that git declares empty is owned as a leaf ("f:annotations": {}), like an atomic
// one. Where our manager still owns that leaf in the live object (`owned_live`: LeafPaths of its
// live FieldsV1), the keys or items in it belong to other managers: any map (list) matches. An
// atomic map or list that another manager changed has moved to that manager, so it is compared
// whole. A built-in type does not store an empty map or list at all (ConfigMap `data: {}`,
// `metadata.annotations: {}`); there any map or list another manager adds matches, atomic or not,
// since nothing tells them apart without the schema.
std::vector<std::string> Diff(const FieldValues& expected, const FieldValues& live,
                              const std::set<std::string>& owned_live = {});

// Whether `pointer` is `ignored` or lies beneath it ("/spec/replicas" covers itself only;
// "/spec/template" covers everything under it).
bool Covers(const std::string& ignored, const std::string& pointer);

// Escapes one JSON pointer token ("~" -> "~0", "/" -> "~1").
std::string EscapePointerToken(const std::string& token);

}  // namespace plumbline::drift
