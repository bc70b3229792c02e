#include "drift/tracker.h"

#include "common/digest.h"
#include "common/mutex.h"

#include <algorithm>

namespace plumbline::drift {

std::optional<Expectation> ExpectationFrom(const Json& stored, const std::string& manager,
                                           size_t manifest_hash, std::vector<std::string> ignored) {
  Json fields = OwnedFields(stored, manager);
  if (!fields.is_object()) return std::nullopt;
  Expectation e;
  e.manager = manager;
  e.manifest_hash = manifest_hash;
  e.resource_version = stored["metadata"].value("resourceVersion", "");
  e.values = Extract(stored, fields);
  e.fields = std::move(fields);
  e.ignored = std::move(ignored);
  return e;
}

std::vector<std::string> Evaluate(const Expectation& expected, const Json& live) {
  if (!expected.resource_version.empty() &&
      live["metadata"].value("resourceVersion", "") == expected.resource_version) {
    return {};  // the very object our apply stored
  }
  const FieldValues values = Extract(live, expected.fields);
  std::vector<std::string> differing = Diff(expected.values, values);
  // Which empty maps are still ours matters only where something differs: read it then.
  if (!differing.empty()) {
    differing = Diff(expected.values, values, LeafPaths(OwnedFields(live, expected.manager)));
  }
  std::erase_if(differing, [&](const std::string& p) {
    return std::any_of(expected.ignored.begin(), expected.ignored.end(),
                       [&](const std::string& i) { return Covers(i, p); });
  });
  return differing;
}

std::string StoredDigest(const Expectation& expected) {
  Digest digest;
  digest.Add(uint64_t{expected.manifest_hash});
  for (const auto& entry : expected.values) {
    const std::string& path = entry.first;
    const FieldValue& v = entry.second;
    const bool ignored = std::any_of(expected.ignored.begin(), expected.ignored.end(),
                                     [&](const std::string& i) { return Covers(i, v.pointer); });
    if (ignored) continue;
    digest.Add(path).Add(v.present ? v.value.dump() : std::string_view("-"));
  }
  return digest.Hex();
}

Tracker::Packed Tracker::Pack(const Expectation& e) {
  Json values = Json::array();
  for (const auto& [path, v] : e.values) values.push_back({path, v.pointer, v.present, v.value});
  return {e.manager,       e.manifest_hash, e.resource_version,
          e.fields.dump(), values.dump(),   e.ignored};
}

Expectation Tracker::Unpack(const Packed& p) {
  Expectation e;
  e.manager = p.manager;
  e.manifest_hash = p.manifest_hash;
  e.resource_version = p.resource_version;
  e.fields = Json::parse(p.fields);
  for (const auto& v : Json::parse(p.values)) {
    e.values[v[0].get<std::string>()] = {v[1].get<std::string>(), v[2].get<bool>(), v[3]};
  }
  e.ignored = p.ignored;
  return e;
}

void Tracker::SetWakeUp(WakeUp wake_up) {
  MutexLock lock(mu_);
  wake_up_ = std::move(wake_up);
}

void Tracker::Record(const std::string& app, const apply::ObjectKey& key, Expectation expected,
                     std::vector<std::string> drifted) {
  MutexLock lock(mu_);
  Entry& e = apps_[app][key];
  e.digest = StoredDigest(expected);
  e.confirmed = true;
  e.expected = Pack(expected);
  e.correcting = false;
  e.missing = false;
  e.drifted = !drifted.empty();
  e.fields = std::move(drifted);
}

std::optional<Tracker::Known> Tracker::Find(const std::string& app,
                                            const apply::ObjectKey& key) const {
  MutexLock lock(mu_);
  auto a = apps_.find(app);
  if (a == apps_.end()) return std::nullopt;
  auto it = a->second.find(key);
  if (it == a->second.end() || !it->second.confirmed) return std::nullopt;
  return Known{it->second.expected.manifest_hash, it->second.drifted, it->second.missing,
               it->second.fields, it->second.digest};
}

std::optional<Tracker::Known> Tracker::Adopt(const std::string& app, const apply::ObjectKey& key,
                                             size_t manifest_hash, std::vector<std::string> ignored,
                                             const std::string& digest) {
  MutexLock lock(mu_);
  auto a = apps_.find(app);
  if (a == apps_.end()) return std::nullopt;
  auto it = a->second.find(key);
  if (it == a->second.end()) return std::nullopt;
  Entry& e = it->second;
  if (e.confirmed) return Known{e.expected.manifest_hash, e.drifted, e.missing, e.fields, e.digest};
  Expectation candidate = Unpack(e.expected);
  candidate.manifest_hash = manifest_hash;
  candidate.ignored = std::move(ignored);
  std::string candidate_digest = StoredDigest(candidate);
  if (candidate_digest != digest) return std::nullopt;
  e.expected = Pack(candidate);
  e.digest = std::move(candidate_digest);
  e.confirmed = true;
  e.drifted = e.missing = e.correcting = false;
  e.fields.clear();
  return Known{e.expected.manifest_hash, false, false, {}, e.digest};
}

void Tracker::BeginCorrection(const std::string& app, const apply::ObjectKey& key) {
  MutexLock lock(mu_);
  auto a = apps_.find(app);
  if (a == apps_.end()) return;
  if (auto it = a->second.find(key); it != a->second.end()) it->second.correcting = true;
}

void Tracker::EndCorrection(const std::string& app, const apply::ObjectKey& key) {
  MutexLock lock(mu_);
  auto a = apps_.find(app);
  if (a == apps_.end()) return;
  if (auto it = a->second.find(key); it != a->second.end()) it->second.correcting = false;
}

void Tracker::Retain(const std::string& app, const std::set<apply::ObjectKey>& keep) {
  MutexLock lock(mu_);
  auto a = apps_.find(app);
  if (a == apps_.end()) return;
  std::erase_if(a->second, [&](const auto& kv) { return !keep.count(kv.first); });
}

void Tracker::Forget(const std::string& app) {
  MutexLock lock(mu_);
  apps_.erase(app);
}

std::vector<ObjectDrift> Tracker::Drifted(const std::string& app) const {
  MutexLock lock(mu_);
  std::vector<ObjectDrift> out;
  auto a = apps_.find(app);
  if (a == apps_.end()) return out;
  for (const auto& [key, e] : a->second) {
    if (e.confirmed && e.drifted) out.push_back({key, e.missing, e.fields});
  }
  return out;
}

size_t Tracker::objects() const {
  MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& [_, objects] : apps_) n += objects.size();
  return n;
}

void Tracker::Observe(const apply::ObjectKey& key, const std::string& app, const Json* object,
                      bool health_changed) {
  if (app.empty()) return;
  bool changed = false;
  WakeUp wake_up;
  {
    MutexLock lock(mu_);
    wake_up = wake_up_;
    Entry* found = nullptr;
    if (auto a = apps_.find(app); a != apps_.end()) {
      if (auto it = a->second.find(key); it != a->second.end()) found = &it->second;
    }
    if (found == nullptr || !found->confirmed) {
      KeepCandidate(app, key, object);
      return;
    }
    Entry& e = *found;
    bool missing = object == nullptr;
    std::vector<std::string> fields;
    // Our own write (the resourceVersion our apply stored) needs no comparison, nor unpacking.
    if (!missing && (e.expected.resource_version.empty() ||
                     StringAt(MemberAt(object, "metadata"), "resourceVersion") !=
                         e.expected.resource_version)) {
      fields = Evaluate(Unpack(e.expected), *object);
    }
    bool drifted = missing || !fields.empty();
    changed = drifted != e.drifted || missing != e.missing || fields != e.fields;
    // Our correction's own write, seen before the reconcile recorded it: nothing to wake for.
    if (e.correcting && !drifted) changed = false;
    e.drifted = drifted;
    e.missing = missing;
    e.fields = std::move(fields);
  }
  if ((changed || health_changed) && wake_up) wake_up(app);
}

void Tracker::KeepCandidate(const std::string& app, const apply::ObjectKey& key,
                            const Json* object) {
  if (adopt_manager_.empty()) return;
  std::optional<Expectation> seen;
  if (object != nullptr) seen = ExpectationFrom(*object, adopt_manager_, 0, {});
  if (!seen) {
    // Gone, or not (or no longer) applied by us: nothing to adopt.
    auto a = apps_.find(app);
    if (a == apps_.end()) return;
    a->second.erase(key);
    if (a->second.empty()) apps_.erase(a);
    return;
  }
  Entry& e = apps_[app][key];
  e.expected = Pack(*seen);
  e.confirmed = false;
}

}  // namespace plumbline::drift
