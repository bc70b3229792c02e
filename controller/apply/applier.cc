#include "apply/applier.h"

#include <algorithm>
#include <functional>
#include <set>
#include <thread>

#include "apply/order.h"
#include "kube/errors.h"

namespace plumbline::apply {
namespace {

std::string Annotation(const Json& obj, const char* name) {
  return StringAt(MemberAt(MemberAt(&obj, "metadata"), "annotations"), name);
}

bool Expired(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::steady_clock::now() >= deadline;
}

bool CrdEstablished(const Json& crd) {
  if (!crd.contains("status")) return false;
  for (const auto& c : crd["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == "Established" && c.value("status", "") == "True") return true;
  }
  return false;
}

// Polls until each CRD is Established or the deadline passes.
Status WaitForCrds(kube::Client& client, const std::vector<std::string>& names,
                   std::chrono::steady_clock::time_point deadline) {
  if (names.empty()) return Status::Ok();
  auto crds = client.Resource({"apiextensions.k8s.io", "v1", "CustomResourceDefinition"});
  if (!crds.ok()) return crds.error();
  auto pause = std::chrono::milliseconds(50);
  for (const auto& name : names) {
    while (true) {
      auto crd = client.Get(*crds, "", name);
      if (crd.ok() && CrdEstablished(*crd)) break;
      if (Expired(deadline)) {
        return Error(ErrorCode::kTimeout,
                     "CustomResourceDefinition " + name + " was not Established in time");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
  }
  return Status::Ok();
}

// Fills in the namespace the object will have, and whether its kind is known.
Result<kube::ResourceInfo> Resolve(Json* obj, kube::Client& client, const std::string& owner_ns,
                                   const std::string& default_namespace) {
  auto resource = client.ResourceFor(*obj);
  if (!resource.ok()) return resource.error();
  Json& meta = (*obj)["metadata"];
  if (resource->namespaced) {
    if (meta.value("namespace", "").empty()) {
      meta["namespace"] = default_namespace.empty() ? owner_ns : default_namespace;
    }
  } else {
    meta.erase("namespace");
  }
  return resource;
}

bool IsImmutableFieldError(const Error& e) {
  return kube::IsInvalid(e) && e.message().find("immutable") != std::string::npos;
}

// ignoreDifferences: sets `pointer` in `obj` to what `live` holds there, or removes it when live
// has nothing there, so the apply neither reverts nor drops another writer's value. A pointer
// that does not fit the object's shape is left alone: never fail an apply over one.
void KeepLiveValue(const std::string& pointer, const Json& live, Json* obj) {
  try {
    Json::json_pointer p(pointer);
    if (live.contains(p)) {
      (*obj)[p] = live.at(p);
      return;
    }
    if (p.empty() || !obj->contains(p)) return;
    Json& parent = obj->at(p.parent_pointer());
    if (parent.is_object()) {
      parent.erase(p.back());
    } else if (parent.is_array()) {
      parent.erase(static_cast<size_t>(std::stoul(p.back())));
    }
  } catch (const std::exception&) {
  }
}

// The groups of CRDs this run created or changed, and until when discovery may still lag them:
// the API server serves a new group-version a moment after the CRD says Established.
struct NewGroups {
  std::set<std::string> groups;
  std::chrono::steady_clock::time_point grace_until{};
};

// Resolves a kind that was not served when prepared. A kind of a group that a CRD of this run
// just brought is asked for again, briefly, instead of failing its objects; any other missing
// kind fails at once.
Result<kube::ResourceInfo> ResolveLate(Json* obj, const ApplyContext& ctx, const NewGroups& fresh) {
  auto resource = Resolve(obj, *ctx.client, ctx.owner.ns, ctx.default_namespace);
  const bool may_lag = fresh.groups.count(ObjectKey::Of(*obj).group) > 0;
  auto pause = std::chrono::milliseconds(100);
  while (may_lag && !resource.ok() && kube::IsNotFound(resource.error()) &&
         std::chrono::steady_clock::now() < fresh.grace_until && !Expired(ctx.deadline)) {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    ctx.client->discovery().ForgetMisses();
    resource = Resolve(obj, *ctx.client, ctx.owner.ns, ctx.default_namespace);
  }
  return resource;
}

Change ApplyOne(PlannedObject planned, const ApplyContext& ctx, const NewGroups& fresh) {
  PreparedObject& prepared = planned.prepared;
  Change change;
  change.key = prepared.key;
  if (prepared.disabled) {
    change.action = Action::kSkipped;
    change.message = change.key.ToString() + ": reconcile disabled by annotation";
    return change;
  }
  Json& obj = prepared.object;
  if (!prepared.resource) {
    // Not served when prepared: a CRD of an earlier phase may serve it now.
    auto resource = ResolveLate(&obj, ctx, fresh);
    change.key = ObjectKey::Of(obj);
    if (!resource.ok()) {
      change.action = Action::kFailed;
      change.message = change.key.ToString() + ": " + resource.error().message();
      return change;
    }
    prepared.resource = std::move(*resource);
  }
  if (planned.outcome) {
    planned.outcome->desired = std::move(obj);
    return std::move(*planned.outcome);
  }
  change.desired = obj;
  const kube::ResourceInfo& resource = *prepared.resource;
  const std::string ns = obj["metadata"].value("namespace", "");
  const std::string name = obj["metadata"]["name"];

  // The live resourceVersion before the apply: unchanged if the apply leaves it as it was.
  std::optional<std::string> before = planned.live_version;
  const std::vector<std::string>& ignored = planned.ignored;
  std::optional<Json> live;
  if (!before || !ignored.empty()) {
    auto got = ctx.client->Get(resource, ns, name);
    if (got.ok()) {
      live = std::move(*got);
      before = (*live)["metadata"].value("resourceVersion", "");
    } else if (kube::IsNotFound(got.error())) {
      before = "";
    } else {
      change.action = Action::kFailed;
      change.message = got.error().message();
      return change;
    }
  }
  if (live) {
    for (const auto& pointer : ignored) KeepLiveValue(pointer, *live, &obj);
  }

  kube::ApplyOptions options;
  options.field_manager = ctx.owner.field_manager;
  options.force = true;
  bool created = false;
  auto applied = ctx.client->Apply(obj, options, &created);
  if (!applied.ok() && IsImmutableFieldError(applied.error()) &&
      Annotation(obj, kForceAnnotation) == "enabled") {
    // Recreate: only when the object asks for it, since it loses the live object's state.
    // Background: the object itself goes at once; the garbage collector takes its dependents.
    Status deleted = ctx.client->Delete(resource, ns, name);
    if (deleted.ok() || kube::IsNotFound(deleted.error())) {
      while (ctx.client->Get(resource, ns, name).ok() && !Expired(ctx.deadline)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      applied = ctx.client->Apply(obj, options, &created);
      created = false;  // it existed before: the recreate is a change to it
      before = "recreated";
    }
  }
  if (!applied.ok()) {
    change.action = Action::kFailed;
    change.message = applied.error().message();
    return change;
  }
  if (created) {
    change.action = Action::kCreated;  // the server says so (201)
  } else {
    // Server-side apply that changes nothing keeps the resourceVersion.
    bool same = !before->empty() && (*applied)["metadata"].value("resourceVersion", "") == *before;
    change.action = same ? Action::kUnchanged : Action::kConfigured;
  }
  change.live = std::move(*applied);
  return change;
}

}  // namespace

std::vector<PreparedObject> Prepare(std::vector<Json> objects, const PrepareContext& ctx) {
  std::vector<PreparedObject> prepared;
  prepared.reserve(objects.size());
  for (Json& object : objects) {
    PreparedObject p;
    p.index = prepared.size();
    p.disabled = Annotation(object, kReconcileAnnotation) == "disabled";
    p.object = std::move(object);
    auto resource = Resolve(&p.object, *ctx.client, ctx.owner.ns, ctx.default_namespace);
    if (resource.ok()) {
      p.resource = std::move(*resource);
    } else {
      p.unresolved = resource.error();
    }
    ctx.owner.Label(&p.object);
    p.key = ObjectKey::Of(p.object);
    prepared.push_back(std::move(p));
  }
  std::stable_sort(prepared.begin(), prepared.end(),
                   [](const PreparedObject& a, const PreparedObject& b) {
                     return ApplyPhase(a.key) < ApplyPhase(b.key);
                   });
  return prepared;
}

ChangeSet ApplyAll(std::vector<PlannedObject> plan, const ApplyContext& ctx) {
  ChangeSet result;
  result.changes.resize(plan.size());
  size_t next = 0;
  NewGroups fresh;  // filled once this run's CRDs are Established
  for (int phase = 0; phase < kPhaseCount; ++phase) {
    // The objects of one phase do not depend on each other: they go out at once, as many as the
    // pool allows; the next phase waits for all of them (PRODUCT §3.3).
    const size_t first = next;
    std::vector<std::function<void()>> tasks;
    for (; next < plan.size() && ApplyPhase(plan[next].prepared.key) <= phase; ++next) {
      tasks.push_back([&plan, &result, &ctx, &fresh, i = next] {
        const ObjectKey& key = plan[i].prepared.key;
        if (Expired(ctx.deadline)) {
          result.changes[i] = {key, Action::kFailed,
                               key.ToString() + ": not applied, the reconcile timed out", Json(),
                               Json()};
          return;
        }
        result.changes[i] = ApplyOne(std::move(plan[i]), ctx, fresh);
      });
    }
    if (ctx.pool != nullptr && tasks.size() > 1) {
      ctx.pool->RunAll(std::move(tasks));
    } else {
      for (auto& task : tasks) task();
    }
    // CRDs applied in this phase: their objects (in later phases) need them served first.
    std::vector<std::string> crds;
    std::set<std::string> new_groups;
    for (size_t i = first; i < next; ++i) {
      const Change& c = result.changes[i];
      if (c.key.group != "apiextensions.k8s.io" || c.key.kind != "CustomResourceDefinition" ||
          c.action == Action::kFailed || c.action == Action::kSkipped || c.live.is_null()) {
        continue;
      }
      crds.push_back(c.key.name);
      if (c.action != Action::kUnchanged) {
        new_groups.insert(StringAt(MemberAt(&c.desired, "spec"), "group"));
      }
    }
    Status established = WaitForCrds(*ctx.client, crds, ctx.deadline);
    // Their kinds may have been looked up (and found missing) before: ask the server again.
    if (!crds.empty()) {
      ctx.client->discovery().ForgetMisses();
      if (established.ok() && !new_groups.empty()) {
        fresh.groups.insert(new_groups.begin(), new_groups.end());
        fresh.grace_until = std::chrono::steady_clock::now() + ctx.discovery_grace;
      }
    }
    if (!established.ok()) {
      for (size_t i = first; i < next; ++i) {
        Change& c = result.changes[i];
        if (c.key.kind == "CustomResourceDefinition" && c.action != Action::kFailed) {
          c.action = Action::kFailed;
          c.message = established.error().message();
        }
      }
    }
  }
  return result;
}

ChangeSet Prune(std::vector<ObjectKey> stale, const PruneContext& ctx) {
  SortForPrune(&stale);
  ChangeSet result;
  for (const auto& key : stale) {
    Change change{key, Action::kDeleted, "", Json(), Json()};
    if (Expired(ctx.deadline)) {
      change.action = Action::kFailed;
      change.message = key.ToString() + ": not pruned, the reconcile timed out";
      result.changes.push_back(change);
      continue;
    }
    if (key.group.empty() && key.kind == "Namespace" && key.name == ctx.controller_namespace) {
      change.action = Action::kSkipped;
      change.message = key.ToString() + ": the controller's own namespace is never pruned";
      result.changes.push_back(change);
      continue;
    }
    auto resource = ctx.client->Resource({key.group, key.version, key.kind});
    if (!resource.ok()) {
      if (kube::IsNotFound(resource.error())) {
        change.message = key.ToString() + ": its kind is gone, so is the object";
      } else {
        change.action = Action::kFailed;
        change.message = key.ToString() + ": " + resource.error().message();
      }
      result.changes.push_back(change);
      continue;
    }
    auto live = ctx.client->Get(*resource, key.ns, key.name);
    if (!live.ok()) {
      if (!kube::IsNotFound(live.error())) {
        change.action = Action::kFailed;
        change.message = live.error().message();
      }
      result.changes.push_back(change);  // already gone: it leaves the inventory
      continue;
    }
    if (!ctx.owner.Owns(*live)) {
      change.action = Action::kSkipped;
      change.message = key.ToString() + ": no longer labelled as this Application's; left alone";
      result.changes.push_back(change);
      continue;
    }
    if (Annotation(*live, kPruneAnnotation) == "disabled") {
      change.action = Action::kSkipped;
      change.message = key.ToString() + ": pruning disabled by annotation";
      result.changes.push_back(change);
      continue;
    }
    kube::DeleteOptions del;
    del.precondition_uid = (*live)["metadata"].value("uid", "");
    Status deleted = ctx.client->Delete(*resource, key.ns, key.name, del);
    if (!deleted.ok() && !kube::IsNotFound(deleted.error())) {
      change.action = Action::kFailed;
      change.message = deleted.error().message();
    }
    result.changes.push_back(change);
  }
  return result;
}

}  // namespace plumbline::apply
