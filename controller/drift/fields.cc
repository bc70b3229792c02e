#include "drift/fields.h"

#include <algorithm>

namespace plumbline::drift {
namespace {

// The item of `list` that a "k:{...}", "v:..." or "i:N" token names, or -1.
long FindItem(const Json& list, const std::string& token) {
  if (!list.is_array()) return -1;
  const std::string body = token.substr(2);
  if (token.rfind("i:", 0) == 0) {
    char* end = nullptr;
    long i = std::strtol(body.c_str(), &end, 10);
    return (*end == '\0' && i >= 0 && static_cast<size_t>(i) < list.size()) ? i : -1;
  }
  Json wanted = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (wanted.is_discarded()) return -1;
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& item = list[i];
    if (token[0] == 'v') {
      if (item == wanted) return static_cast<long>(i);
      continue;
    }
    if (!item.is_object() || !wanted.is_object()) continue;
    bool match = true;
    for (const auto& [k, v] : wanted.items()) {
      if (!item.contains(k) || item[k] != v) {
        match = false;
        break;
      }
    }
    if (match) return static_cast<long>(i);
  }
  return -1;
}

void Walk(const Json& fields, const Json* node, const std::string& path, const std::string& pointer,
          FieldValues* out) {
  for (const auto& [token, sub] : fields.items()) {
    const Json* child = nullptr;
    std::string child_pointer;
    if (token == ".") {
      (*out)[path + "/."] = FieldValue{pointer, node != nullptr, Json()};
      continue;
    }
    if (token.rfind("f:", 0) == 0) {
      const std::string name = token.substr(2);
      if (node != nullptr && node->is_object() && node->contains(name)) child = &(*node)[name];
      child_pointer = pointer + "/" + EscapePointerToken(name);
    } else if (token.size() > 2 && token[1] == ':' &&
               (token[0] == 'k' || token[0] == 'v' || token[0] == 'i')) {
      long i = node != nullptr ? FindItem(*node, token) : -1;
      if (i >= 0) child = &(*node)[static_cast<size_t>(i)];
      // An item the object lacks has no index in it; name it by its key instead.
      child_pointer = pointer + "/" + (i >= 0 ? std::to_string(i) : EscapePointerToken(token));
    } else {
      continue;  // a token kind this version does not know: compare nothing under it
    }
    const std::string child_path = path + "/" + token;
    if (sub.is_object() && !sub.empty()) {
      Walk(sub, child, child_path, child_pointer, out);
    } else {
      (*out)[child_path] = FieldValue{child_pointer, child != nullptr, child ? *child : Json()};
    }
  }
}

void CollectLeaves(const Json& fields, const std::string& path, std::set<std::string>* out) {
  for (const auto& [token, sub] : fields.items()) {
    if (token == ".") {
      out->insert(path + "/.");
    } else if (sub.is_object() && !sub.empty()) {
      CollectLeaves(sub, path + "/" + token, out);
    } else {
      out->insert(path + "/" + token);
    }
  }
}

bool IsEmptyContainer(const Json& v) { return (v.is_object() || v.is_array()) && v.empty(); }

}  // namespace

std::string EscapePointerToken(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

Json OwnedFields(const Json& object, const std::string& manager) {
  if (!object.is_object() || !object.contains("metadata")) return Json();
  const Json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains("managedFields") || !meta["managedFields"].is_array()) {
    return Json();
  }
  for (const auto& entry : meta["managedFields"]) {
    if (entry.value("manager", "") == manager && entry.value("operation", "") == "Apply" &&
        entry.value("subresource", "").empty() && entry.contains("fieldsV1")) {
      return entry["fieldsV1"];
    }
  }
  return Json();
}

FieldValues Extract(const Json& object, const Json& fields) {
  FieldValues out;
  if (fields.is_object()) Walk(fields, &object, "", "", &out);
  return out;
}

bool Covers(const std::string& ignored, const std::string& pointer) {
  if (ignored.empty()) return true;
  return pointer == ignored ||
         (pointer.size() > ignored.size() && pointer.compare(0, ignored.size(), ignored) == 0 &&
          pointer[ignored.size()] == '/');
}

std::set<std::string> LeafPaths(const Json& fields) {
  std::set<std::string> out;
  if (fields.is_object()) CollectLeaves(fields, "", &out);
  return out;
}

std::vector<std::string> Diff(const FieldValues& expected, const FieldValues& live,
                              const std::set<std::string>& owned_live) {
  std::vector<std::string> differing;
  for (const auto& [path, want] : expected) {
    auto it = live.find(path);
    bool same = it != live.end() ? it->second == want : !want.present;
    if (!same && it != live.end() && it->second.present) {
      const Json& got = it->second.value;
      if (want.present) {
        // Git's empty map (list), which others added to, and which is still ours.
        same = IsEmptyContainer(want.value) && want.value.type() == got.type() &&
               owned_live.count(path) > 0;
      } else {
        // Owned, yet not stored: a built-in type drops an empty map or list. The first key
        // another manager adds takes the field from us, so ownership tells nothing here.
        same = got.is_object() || got.is_array();
      }
    }
    if (!same) differing.push_back(want.pointer);
  }
  std::sort(differing.begin(), differing.end());
  differing.erase(std::unique(differing.begin(), differing.end()), differing.end());
  // Sorted, a covering pointer comes before the ones it covers.
  std::vector<std::string> collapsed;
  for (const auto& p : differing) {
    bool covered = std::any_of(collapsed.begin(), collapsed.end(),
                               [&](const std::string& c) { return Covers(c, p); });
    if (!covered) collapsed.push_back(p);
  }
  return collapsed;
}

}  // namespace plumbline::drift
