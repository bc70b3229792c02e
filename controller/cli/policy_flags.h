// --policy-url and --policy-timeout, which `plumbline run` and `plumbline diff` read the same way:
// the gate a revision (or a pull request's checkout) must pass.
#pragma once

#include <memory>

#include "cli/flags.h"
#include "common/error.h"
#include "policy/gate.h"

namespace plumbline::cli {

void AddPolicyFlags(Flags& flags);

// The gate the flags name; null without --policy-url. Errors name the flag.
Result<std::unique_ptr<policy::Gate>> PolicyGateFromFlags(const Flags& flags);

}  // namespace plumbline::cli
