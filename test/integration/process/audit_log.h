// The kube-apiserver audit log of this test binary's control plane: one JSON event per line,
// every write at Metadata level.
#pragma once

#include <string>

namespace plumbline::testing {

const std::string& AuditLogPath();

}  // namespace plumbline::testing
