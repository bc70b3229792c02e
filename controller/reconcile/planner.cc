#include "reconcile/planner.h"

#include "common/digest.h"

namespace plumbline::reconcile {

Step Decide(const ObjectFacts& facts, size_t manifest_hash, app::DriftMode mode,
            bool applied_before) {
  const bool report_only = mode == app::DriftMode::kReport;
  if (facts.known && facts.known->manifest_hash == manifest_hash && facts.watched) {
    if (!facts.known->drifted && !facts.live) return Step::kConfirm;
    if (!facts.known->drifted) return Step::kKeep;  // git and the cluster agree: no request
    return report_only ? Step::kKeep : Step::kCorrect;
  }
  if (!facts.known && report_only && facts.watched && facts.live && applied_before) {
    return Step::kLearn;
  }
  return Step::kApply;
}

ObjectFacts FoundMissing(ObjectFacts facts) {
  facts.live.reset();
  if (facts.known) {
    facts.known->drifted = true;
    facts.known->missing = true;
  }
  return facts;
}

std::optional<std::string> KnownLiveVersion(const ObjectFacts& facts) {
  if (!facts.watched) return std::nullopt;
  return facts.live ? facts.live->resource_version : "";
}

size_t ManifestHash(const Json& object, const std::vector<std::string>& ignored) {
  // Stable across restarts: status.inventory keeps digests built on it.
  Digest digest;
  digest.Add(object.dump());
  for (const auto& p : ignored) digest.Add(p);
  return digest.value();
}

}  // namespace plumbline::reconcile
