// Standard base64 (RFC 4648 with padding), as Kubernetes uses in kubeconfig *-data fields
// and Secret data. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace plumbline {

std::string Base64Encode(std::string_view data);
// Accepts padded input; ignores ASCII whitespace (kubeconfigs often wrap long lines).
Result<std::string> Base64Decode(std::string_view text);

}  // namespace plumbline
