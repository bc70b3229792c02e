// The JSON value type used for Kubernetes objects throughout the controller.
// nlohmann/json is heavy to compile: include this only where objects are handled.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace plumbline {
using Json = nlohmann::json;

// Readers for documents from git or the network, which may hold anything: a field is read only
// when it has the expected type, never throwing.

// The member `key` of an object, or null (also when `j` is null or not an object).
inline const Json* MemberAt(const Json* j, const char* key) {
  if (j == nullptr || !j->is_object()) return nullptr;
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

// The string at `key` of an object, or "" when absent or not a string.
inline std::string StringAt(const Json* j, const char* key) {
  const Json* member = MemberAt(j, key);
  return member != nullptr && member->is_string() ? member->get<std::string>() : "";
}
inline std::string StringAt(const Json& j, const char* key) { return StringAt(&j, key); }

}  // namespace plumbline
