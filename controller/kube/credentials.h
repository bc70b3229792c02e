// Where the Authorization header of each request comes from: a static token, a token file that
// rotates, basic auth, or an exec credential plugin whose token is cached until it expires.
// Thread-safe: one Credentials serves all of a client's requests.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/error.h"
#include "kube/config.h"

namespace plumbline::kube {

class Credentials {
 public:
  virtual ~Credentials() = default;
  // The Authorization header value for the next request; "" for none.
  virtual Result<std::string> Authorization() = 0;
  // Called after a 401: forget cached credentials so the next call fetches fresh ones.
  virtual void Invalidate() {}
};

// What an exec plugin printed (client.authentication.k8s.io ExecCredential status).
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;
};

// Runs the plugin with KUBERNETES_EXEC_INFO set and parses its ExecCredential. Errors name the
// command and include the install hint and the plugin's stderr.
Result<ExecCredential> RunExecPlugin(const ExecPlugin& plugin, const Config& config);

// Chooses the source that `config` names. `initial_exec` is the exec plugin's first answer when
// the caller already ran it (to learn client certificates before connecting).
std::unique_ptr<Credentials> NewCredentials(const Config& config,
                                            std::optional<ExecCredential> initial_exec = {});

}  // namespace plumbline::kube
