// The flags every command that talks to a cluster shares (kubeconfig like kubectl, client rate
// limits), and building a kube::Client from them.
#pragma once

#include <memory>

#include "cli/flags.h"
#include "kube/client.h"

namespace plumbline::cli {

void AddKubeFlags(Flags& flags);
// `options` carries what the flags do not set (e.g. a request hook); the flags override the rest.
Result<std::unique_ptr<kube::Client>> ClientFromFlags(const Flags& flags,
                                                      kube::ClientOptions options = {});

}  // namespace plumbline::cli
