#include "leader/elector.h"

#include <cmath>

#include "common/mutex.h"
#include "common/rfc3339.h"
#include "kube/errors.h"

namespace plumbline::leader {
namespace {

int Seconds(std::chrono::milliseconds d) {
  return static_cast<int>(std::ceil(static_cast<double>(d.count()) / 1000.0));
}

}  // namespace

Status Validate(const ElectorOptions& options) {
  if (options.identity.empty()) {
    return Error(ErrorCode::kInvalidArgument, "leader election needs an identity");
  }
  if (options.retry_period.count() <= 0 || options.renew_deadline <= options.retry_period) {
    return Error(ErrorCode::kInvalidArgument,
                 "the leader renew deadline must be longer than the retry period");
  }
  if (options.lease_duration <= options.renew_deadline) {
    return Error(ErrorCode::kInvalidArgument,
                 "the leader lease duration must be longer than the renew deadline");
  }
  // A candidate dates a renewal back to its previous look at the Lease, up to one retry period
  // early; the margin between deadline and duration must cover that.
  if (options.lease_duration - options.renew_deadline <= options.retry_period) {
    return Error(ErrorCode::kInvalidArgument,
                 "the leader lease duration must exceed the renew deadline by more than the "
                 "retry period");
  }
  return Status::Ok();
}

Elector::Elector(kube::Client& client, ElectorOptions options, log::Logger& logger,
                 const Clock& clock)
    : client_(client), options_(std::move(options)), log_(logger), clock_(clock) {}

Elector::~Elector() {
  Stop();
  MutexLock lock(thread_mu_);
  if (renewer_.joinable()) renewer_.join();  // Stop() was called from the renewer itself
}

Elector::Attempt Elector::TryAcquireOrRenew() {
  auto leases = client_.Resource({"coordination.k8s.io", "v1", "Lease"});
  if (!leases.ok()) {
    log_.Warn("leader election: leases are not served", {{"error", leases.error().message()}});
    return Attempt::kFailed;
  }
  // Our hold starts no later than this: take the time before the first request.
  const auto sent = clock_.Now();
  const auto wall = clock_.WallNow();
  auto current = client_.Get(*leases, options_.ns, options_.name);
  if (!current.ok() && !kube::IsNotFound(current.error())) {
    log_.Warn("leader election: cannot read the lease", {{"error", current.error().message()}});
    return Attempt::kFailed;
  }

  Json lease;
  std::string holder;
  if (current.ok()) {
    lease = std::move(*current);
    const Json& spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : Json();
    holder = spec.is_object() ? spec.value("holderIdentity", "") : "";
    std::string version = lease["metadata"].value("resourceVersion", "");
    {
      MutexLock lock(mu_);
      if (version != observed_version_) {
        // The renewal happened after our previous look: date it there, so that a dead holder is
        // replaced within the lease duration plus one retry period. The fence keeps this safe:
        // the holder stopped writing at least (duration - deadline) > retry period earlier.
        // (Never earlier than one retry period before this read, should our reads be slow.)
        observed_version_ = version;
        observed_at_ = std::max(last_look_.value_or(sent), sent - options_.retry_period);
      }
      last_look_ = sent;
      if (!holder.empty() && holder != options_.identity) {
        const int held_for = spec.is_object() ? spec.value("leaseDurationSeconds", 0) : 0;
        const auto duration =
            held_for > 0 ? std::chrono::milliseconds(held_for * 1000) : options_.lease_duration;
        if (clock_.Now() < observed_at_ + duration) return Attempt::kHeldByOther;
      }
    }
  } else {
    lease = {{"apiVersion", "coordination.k8s.io/v1"},
             {"kind", "Lease"},
             {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
             {"spec", Json::object()}};
  }

  Json& spec = lease["spec"];
  if (!spec.is_object()) spec = Json::object();
  const std::string now = FormatRfc3339Micro(wall);
  if (holder != options_.identity) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = spec.value("leaseTransitions", 0) + (holder.empty() ? 0 : 1);
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = Seconds(options_.lease_duration);
  spec["renewTime"] = now;
  // The resourceVersion read above is the precondition: of two candidates only one wins.
  auto written = current.ok() ? client_.Update(lease) : client_.Create(lease);
  if (!written.ok()) {
    if (!kube::IsConflict(written.error()) && !kube::IsAlreadyExists(written.error())) {
      log_.Warn("leader election: cannot write the lease", {{"error", written.error().message()}});
    }
    return Attempt::kFailed;
  }
  MutexLock lock(mu_);
  observed_version_ = (*written)["metadata"].value("resourceVersion", "");
  observed_at_ = clock_.Now();
  if (!lost_) renewed_at_ = sent;
  return Attempt::kHeld;
}

bool Elector::WaitRetry() {
  MutexLock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + options_.retry_period;
  while (!stopping_ && wake_.wait_until(lock, until) == std::cv_status::no_timeout) {
  }
  return !stopping_;
}

bool Elector::Acquire() {
  log_.Info("waiting to become the leader",
            {{"lease", options_.ns + "/" + options_.name}, {"identity", options_.identity}});
  for (;;) {
    {
      MutexLock lock(mu_);
      if (stopping_) return false;
    }
    if (TryAcquireOrRenew() == Attempt::kHeld) {
      log_.Info("became the leader",
                {{"lease", options_.ns + "/" + options_.name}, {"identity", options_.identity}});
      return true;
    }
    if (!WaitRetry()) return false;
  }
}

void Elector::StartRenewing(std::function<void()> on_lost) {
  MutexLock thread_lock(thread_mu_);
  {
    MutexLock lock(mu_);
    if (stopping_ || renewer_.joinable()) return;  // stopped first, or renewing already
  }
  renewer_ = std::thread([this, on_lost = std::move(on_lost)] {
    while (WaitRetry()) {
      Attempt attempt = TryAcquireOrRenew();
      if (attempt == Attempt::kHeld) continue;
      std::string why;
      {
        MutexLock lock(mu_);
        if (attempt == Attempt::kHeldByOther) {
          why = "another replica holds the lease";
        } else if (!renewed_at_ || clock_.Now() - *renewed_at_ >= options_.renew_deadline) {
          why = "the lease was not renewed within the renew deadline";
        } else {
          continue;  // a failed renewal with time left: try again
        }
        lost_ = true;
        renewed_at_.reset();
      }
      log_.Error("lost leadership; no more writes from this replica",
                 {{"identity", options_.identity}, {"reason", why}});
      if (on_lost) on_lost();
      return;
    }
  });
}

Status Elector::MayWrite() const {
  MutexLock lock(mu_);
  if (lost_) return Error(ErrorCode::kUnavailable, "this replica lost its leader lease");
  if (!renewed_at_) return Error(ErrorCode::kUnavailable, "this replica is not the leader");
  if (clock_.Now() - *renewed_at_ >= options_.renew_deadline) {
    return Error(ErrorCode::kUnavailable, "this replica could not renew its leader lease in time");
  }
  return Status::Ok();
}

void Elector::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  std::thread renewer;
  {
    MutexLock lock(thread_mu_);
    if (renewer_.get_id() != std::this_thread::get_id()) renewer = std::move(renewer_);
  }
  if (renewer.joinable()) renewer.join();
}

void Elector::Release() {
  Stop();
  {
    MutexLock lock(mu_);
    if (!renewed_at_) return;
    renewed_at_.reset();  // no write after this, whatever comes of the release
  }
  auto leases = client_.Resource({"coordination.k8s.io", "v1", "Lease"});
  if (!leases.ok()) return;
  auto lease = client_.Get(*leases, options_.ns, options_.name);
  if (!lease.ok() || !lease->contains("spec") ||
      (*lease)["spec"].value("holderIdentity", "") != options_.identity) {
    return;
  }
  Json& spec = (*lease)["spec"];
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = FormatRfc3339Micro(clock_.WallNow());
  if (auto released = client_.Update(*lease); !released.ok()) {
    log_.Warn("could not release the leader lease", {{"error", released.error().message()}});
    return;
  }
  log_.Info("released the leader lease", {{"identity", options_.identity}});
}

}  // namespace plumbline::leader
