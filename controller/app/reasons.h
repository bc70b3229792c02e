// The reasons of the Application's conditions and Events (PRODUCT §2), which users' alerts,
// scripts and `plumbline sync --wait` match on: each is spelled here once.
#pragma once

namespace plumbline::app::reason {

// A phase failed (Ready=False).
inline constexpr char kFetchFailed[] = "FetchFailed";
inline constexpr char kRenderFailed[] = "RenderFailed";
inline constexpr char kApplyFailed[] = "ApplyFailed";
inline constexpr char kPruneFailed[] = "PruneFailed";
inline constexpr char kHealthCheckFailed[] = "HealthCheckFailed";
// spec.verify: the revision is unsigned, badly signed or signed by a key not trusted (also the
// reason of SourceVerified=False).
inline constexpr char kVerificationFailed[] = "VerificationFailed";
// The policy server denied the revision (--policy-url, spec.policy).
inline constexpr char kPolicyDenied[] = "PolicyDenied";
// The policy server could not be asked, and the controller fails closed.
inline constexpr char kPolicyCheckFailed[] = "PolicyCheckFailed";
// Deleting the Application's objects failed (Event only).
inline constexpr char kFinalizeFailed[] = "FinalizeFailed";
// Stalled: retrying will not help, a change of the spec or of git will.
inline constexpr char kInvalidSpec[] = "InvalidSpec";
inline constexpr char kCrossNamespaceRef[] = "CrossNamespaceRef";

// Ready=True, and the Event of a reconcile that changed something.
inline constexpr char kReconciliationSucceeded[] = "ReconciliationSucceeded";
// Reconciling=False once a reconcile finished.
inline constexpr char kSucceeded[] = "Succeeded";
inline constexpr char kSuspended[] = "Suspended";
// SourceVerified=True.
inline constexpr char kVerified[] = "Verified";
// Healthy.
inline constexpr char kHealthy[] = "Healthy";
inline constexpr char kProgressing[] = "Progressing";
// Drifted.
inline constexpr char kDriftDetected[] = "DriftDetected";
inline constexpr char kDriftCorrected[] = "DriftCorrected";
inline constexpr char kNoDrift[] = "NoDrift";

}  // namespace plumbline::app::reason
