// A real OpenSSH server on loopback for git-over-ssh tests: its own host key, one authorized
// client key, git's upload-pack reached through the login shell. Needs root (sshd does).
#pragma once

#include <string>

#include "support/process.h"

namespace plumbline::testing {

class SshServer {
 public:
  // Keeps keys, config and logs under `dir`.
  explicit SshServer(std::string dir) : dir_(std::move(dir)) {}
  ~SshServer() { Stop(); }

  Status Start();
  void Stop() { process_.Stop(); }
  int port() const { return port_; }
  // "ssh://USER@127.0.0.1:PORT/ABSOLUTE/PATH"
  std::string Url(const std::string& absolute_path) const;
  // The client's private key (OpenSSH format) and a known_hosts line for this server.
  std::string client_key() const;
  std::string known_hosts() const;
  // A known_hosts line with a different key for this host: a server that changed its key.
  std::string wrong_known_hosts() const;

 private:
  std::string dir_;
  std::string user_;
  int port_ = 0;
  BackgroundProcess process_;
};

}  // namespace plumbline::testing
