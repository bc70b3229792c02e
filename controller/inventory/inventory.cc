#include "inventory/inventory.h"

namespace plumbline::inventory {

Keys Stale(const Keys& previous, const KeySet& in_git) {
  Keys stale;
  for (const auto& k : previous) {
    if (!in_git.count(k)) stale.push_back(k);
  }
  return stale;
}

Keys AfterApply(const Keys& previous, const KeySet& in_git, const apply::ChangeSet& applied) {
  Keys next;
  for (const auto& c : applied.changes) {
    if (c.action != apply::Action::kFailed) next.push_back(c.key);
  }
  const KeySet placed(next.begin(), next.end());
  for (const auto& k : previous) {
    if (!placed.count(k) && in_git.count(k)) next.push_back(k);
  }
  if (applied.HasFailures()) {
    for (const auto& k : Stale(previous, in_git)) next.push_back(k);
  }
  return next;
}

Keys AfterPrune(Keys after_apply, const apply::ChangeSet& pruned) {
  for (const auto& c : pruned.changes) {
    if (c.action == apply::Action::kFailed) after_apply.push_back(c.key);
  }
  return after_apply;
}

Json ToJson(const Keys& keys, const Digests& digests) {
  Json inv = Json::array();
  for (const auto& k : keys) {
    Json entry = k.ToInventory();
    if (auto d = digests.find(k); d != digests.end() && !d->second.empty()) {
      entry["digest"] = d->second;
    }
    inv.push_back(std::move(entry));
  }
  return inv;
}

Digests DigestsOf(const Json& inventory) {
  Digests out;
  if (!inventory.is_array()) return out;
  for (const auto& e : inventory) {
    if (!e.is_object()) continue;
    auto d = e.find("digest");
    if (d == e.end() || !d->is_string()) continue;
    out[apply::ObjectKey::FromInventory(e)] = d->get<std::string>();
  }
  return out;
}

}  // namespace plumbline::inventory
