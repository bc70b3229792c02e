// The flags every command that talks to a cluster shares (kubeconfig like kubectl, client rate
// limits), and building a kube::Client from them.
#pragma once

#include <memory>

#include "cli/flags.h"
#include "kube/client.h"

namespace plumbline::cli {

void AddKubeFlags(Flags& flags);
Result<std::unique_ptr<kube::Client>> ClientFromFlags(const Flags& flags);

}  // namespace plumbline::cli
