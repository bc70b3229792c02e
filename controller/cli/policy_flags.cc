#include "cli/policy_flags.h"

#include <fstream>
#include <sstream>

namespace plumbline::cli {

void AddPolicyFlags(Flags& flags) {
  flags
      .Add("policy-url", "",
           "the policy server's rule every revision must pass before it is applied: OPA's data "
           "API, like http://opa.opa:8181/v1/data/plumbline/deny (default: no policy); an "
           "Application's spec.policy rules, under the same package, are asked too")
      .Add("policy-timeout", "10",
           "seconds the policy server may take to answer each rule (connecting, and each read)")
      .Add("policy-ca-file", "", "CA certificates (PEM) for an https policy server");
}

Result<std::unique_ptr<policy::Gate>> PolicyGateFromFlags(const Flags& flags) {
  const std::string url = flags.Get("policy-url");
  if (url.empty()) return std::unique_ptr<policy::Gate>();
  auto timeout = flags.GetDouble("policy-timeout");
  if (!timeout.ok() || *timeout <= 0) {
    return Error(ErrorCode::kInvalidArgument, "--policy-timeout must be a positive number");
  }
  policy::GateOptions options;
  options.url = url;
  options.timeout = std::chrono::milliseconds(int64_t(*timeout * 1000));
  if (const std::string ca = flags.Get("policy-ca-file"); !ca.empty()) {
    std::ifstream in(ca, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in || pem.str().empty()) {
      return Error(ErrorCode::kInvalidArgument, "--policy-ca-file: cannot read " + ca);
    }
    options.ca_pem = pem.str();
  }
  auto gate = policy::NewOpaGate(options);
  if (!gate.ok()) return gate.error().Wrap("--policy-url");
  return std::move(*gate);
}

}  // namespace plumbline::cli
