// Decides, per rendered object, what this reconcile does with it (PRODUCT §3.5): only objects
// that changed in git, drifted (drift: correct) or are missing are applied; the rest cost no
// request. A pure function of what the watches (the live cache) and the drift tracker already
// know. Where that is not enough, the decision names the one request that settles it (kConfirm,
// kLearn); the reconciler makes it and, for kConfirm, asks again with what it learnt.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "app/application.h"
#include "common/json.h"
#include "drift/live_cache.h"
#include "drift/tracker.h"

namespace plumbline::reconcile {

// What is known about one object without a request.
struct ObjectFacts {
  bool watched = false;                        // its kind is listed and watched (synced)
  std::optional<drift::LiveObject> live;       // the cached object; meaningful when watched
  std::optional<drift::Tracker::Known> known;  // what our last apply stored, judged against live
};

enum class Step {
  kKeep,     // git and the cluster agree, or its drift is only reported: send nothing
  kApply,    // changed in git, never applied by this process, or not watched: apply it
  kCorrect,  // drifted or missing, and drift: correct: apply it as a correction
  kConfirm,  // unchanged and not drifted, yet absent from the cache although no deletion was
             // seen (the watch may lag behind our own create): read it once
  kLearn,    // drift: report, first sight of an object this commit already applied (after a
             // restart): learn what our apply stores with a dry run, writing nothing
};

// `manifest_hash`: ManifestHash of the prepared object. `applied_before`: the Application's
// last applied revision is the commit at hand.
Step Decide(const ObjectFacts& facts, size_t manifest_hash, app::DriftMode mode,
            bool applied_before);

// The facts once a kConfirm read found no such object: it is missing (a deletion no watch saw).
ObjectFacts FoundMissing(ObjectFacts facts);

// The live resourceVersion ("" when absent) known without a request, or nullopt.
std::optional<std::string> KnownLiveVersion(const ObjectFacts& facts);

// Identifies what git asks for one object, so an unchanged object is not applied again.
size_t ManifestHash(const Json& object, const std::vector<std::string>& ignored);

}  // namespace plumbline::reconcile
