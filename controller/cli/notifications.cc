#include "cli/notifications.h"

#include "app/application.h"
#include "notify/providers.h"

namespace plumbline::cli {

Notifications::Notifications(kube::Client& client, log::Logger& logger, metrics::Metrics& metrics)
    : client_(client), log_(logger), metrics_(metrics) {}

Notifications::~Notifications() { Stop(); }

Result<std::unique_ptr<Notifications>> Notifications::Start(kube::Client& client,
                                                            const std::string& watch_namespace,
                                                            log::Logger& logger,
                                                            metrics::Metrics& metrics) {
  auto resource = client.Resource({app::kGroup, app::kVersion, notify::kKind});
  if (!resource.ok()) {
    return resource.error().Wrap("the Notifier CRD is not installed (kubectl apply -f crds/)");
  }
  std::unique_ptr<Notifications> n(new Notifications(client, logger, metrics));
  Notifications* self = n.get();
  n->dispatcher_ = std::make_unique<notify::Dispatcher>(
      [self] { return self->Current(); },
      [self](const std::string& ns, const std::string& name) { return self->ReadSecret(ns, name); },
      notify::SendHttp, logger,
      [&metrics](notify::Provider provider, std::string_view result) {
        metrics.Notification(notify::ToString(provider), std::string(result));
      },
      notify::Dispatcher::Options());
  kube::ListWatchOptions lw;
  lw.ns = watch_namespace;
  n->watch_ = std::make_unique<kube::ListWatcher>(
      client, *resource, lw,
      kube::ListWatchHandlers{
          [self](const std::vector<Json>& items) { self->OnList(items); },
          [self](const kube::WatchEvent& e) { self->OnEvent(e); },
          [&logger](const Error& e) {
            logger.Warn("watch of Notifiers interrupted", {{"error", e.message()}});
          }});
  n->watch_->Start();
  return n;
}

void Notifications::Stop() {
  if (watch_) watch_->Stop();
  if (dispatcher_) dispatcher_->Stop();
}

std::vector<notify::NotifierSpec> Notifications::Current() {
  MutexLock lock(mu_);
  std::vector<notify::NotifierSpec> out;
  out.reserve(notifiers_.size());
  for (const auto& entry : notifiers_) out.push_back(entry.second);
  return out;
}

void Notifications::Put(const Json& notifier) {
  const std::string key = app::KeyOf(notifier);
  auto spec = notify::ParseNotifier(notifier);
  if (!spec.ok()) {
    // Nothing is sent for it: say why where the operator looks (the Notifier has no status).
    log_.Error("invalid Notifier, nothing is sent for it",
               {{"notifier", key}, {"error", spec.error().message()}});
    notifiers_.erase(key);
    return;
  }
  notifiers_[key] = std::move(*spec);
}

void Notifications::OnList(const std::vector<Json>& items) {
  MutexLock lock(mu_);
  notifiers_.clear();
  for (const Json& item : items) Put(item);
}

void Notifications::OnEvent(const kube::WatchEvent& event) {
  MutexLock lock(mu_);
  using Type = kube::WatchEvent::Type;
  if (event.type == Type::kDeleted) {
    notifiers_.erase(app::KeyOf(event.object));
  } else if (event.type == Type::kAdded || event.type == Type::kModified) {
    Put(event.object);
  }
}

Result<notify::ProviderSecret> Notifications::ReadSecret(const std::string& ns,
                                                         const std::string& name) {
  constexpr auto kKeep = std::chrono::seconds(10);  // a rotated Secret applies within this
  const std::string key = ns + "/" + name;
  const auto now = std::chrono::steady_clock::now();
  {
    MutexLock lock(secrets_mu_);
    auto kept = secrets_.find(key);
    if (kept != secrets_.end() && now - kept->second.at < kKeep) return kept->second.secret;
  }
  Result<notify::ProviderSecret> read = Error(ErrorCode::kInternal, "unread");
  auto secrets = client_.Resource({"", "v1", "Secret"});
  auto secret = secrets.ok() ? client_.Get(*secrets, ns, name) : Result<Json>(secrets.error());
  if (!secret.ok()) {
    read = secret.error().Wrap("the Notifier's spec.secretRef");
  } else {
    read = notify::ParseProviderSecret(*secret);
  }
  if (!read.ok()) return read;  // not kept: the next retry reads again
  MutexLock lock(secrets_mu_);
  if (secrets_.size() >= 1024) secrets_.clear();  // bounded: tenants choose the names
  secrets_[key] = KeptSecret{read, now};
  return read;
}

}  // namespace plumbline::cli
