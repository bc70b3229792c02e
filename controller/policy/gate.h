// The policy seam: before a revision is applied, its rendered objects go to a policy server
// (OPA's data API), and any deny entry it returns blocks the whole revision. The same gate runs
// in `plumbline diff --local`, so a pull request learns about a violation before merge.
//
// The server is asked with POST {"input": INPUT} at the rule's data path
// (/v1/data/plumbline/deny). INPUT is {"application": {namespace, name}, "commit": {sha, author,
// message}, "objects": [...]}; Secret values are masked ("***") before they leave, since policy
// servers log decisions. The rule's value is the set of denials: strings, or objects
// {"msg": ..., "object": "Kind/namespace/name"}.
//
// Thread-safe: Evaluate may be called by many workers at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"

namespace plumbline::policy {

// What a revision is, for the policy.
struct Subject {
  std::string app_namespace, app_name;
  std::string commit_sha, commit_author, commit_message;
};

struct Denial {
  std::string message;
  std::string object;  // "Deployment/team-a/web"; "" when the rule named none
  std::string rule;    // the data path that denied ("plumbline/deny")
};

// "Deployment/team-a/web: container \"web\" uses ...; ..." (at most `max` entries, then "and N
// more").
std::string Describe(const std::vector<Denial>& denials, size_t max = 10);

// The input document for `objects`, with every Secret's data and stringData values masked.
Json InputFor(const Subject& subject, const std::vector<Json>& objects);

class Gate {
 public:
  virtual ~Gate() = default;
  // Asks the default rule, then each of `extra_rules` (data paths, "plumbline/prod/deny"), and
  // returns every denial. Fails with kUnavailable or kTimeout when the server does not answer, and
  // kInvalidArgument when it answers something that is not a set of denials (an undefined rule
  // included): the caller decides whether that blocks (fail closed) or not.
  virtual Result<std::vector<Denial>> Evaluate(const Json& input,
                                               const std::vector<std::string>& extra_rules) = 0;
};

struct GateOptions {
  // The default rule's data API URL: "http://opa.opa:8181/v1/data/plumbline/deny".
  std::string url;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::string ca_pem;  // for an https server with a private CA
};

// An OPA client. The URL must be http(s) and name a path under /v1/data/.
Result<std::unique_ptr<Gate>> NewOpaGate(const GateOptions& options);

}  // namespace plumbline::policy
