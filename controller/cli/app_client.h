// What the Application verbs (get, sync, suspend, resume, history, diff, revert) share: kube
// flags plus -n/--namespace, a client, and reading one Application with clear errors.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "cli/flags.h"
#include "common/error.h"
#include "common/json.h"
#include "kube/client.h"
#include "kube/resource.h"

namespace plumbline::cli {

// Adds the kube flags and -n/--namespace.
void AddAppFlags(Flags& flags);

struct AppClient {
  std::unique_ptr<kube::Client> client;
  kube::ResourceInfo applications;
  std::string ns;  // --namespace, else the kubeconfig context's, else "default"

  Result<Json> Get(const std::string& name);
  // Server-side apply of `fields` (an Application with only what to set) as `field_manager`.
  // One manager per field set (sync's annotation, suspend): an apply drops whatever the same
  // manager set before and leaves out now, so a sync would resume a suspended Application.
  Result<Json> Patch(const std::string& name, const Json& fields, const std::string& field_manager);
};

Result<AppClient> NewAppClient(const Flags& flags);

// $XDG_CACHE_HOME/plumbline/<leaf>, else ~/.cache/plumbline/<leaf>, else /tmp/plumbline/<leaf>.
std::string UserCacheDir(const std::string& leaf);

// "command: message" and the exit code for an error (1: missing, forbidden, unreachable).
int Fail(std::ostream& err, const std::string& command, const Error& error);

}  // namespace plumbline::cli
