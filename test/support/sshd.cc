#include "support/sshd.h"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace plumbline::testing {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// "ssh-ed25519 AAAA..." from a .pub file, without the comment.
std::string PublicKey(const std::string& pub_file) {
  std::string line = Trim(ReadFile(pub_file));
  auto first = line.find(' ');
  auto second = line.find(' ', first + 1);
  return second == std::string::npos ? line : line.substr(0, second);
}

}  // namespace

Status SshServer::Start() {
  std::filesystem::create_directories(dir_);
  std::filesystem::create_directories("/run/sshd");  // privilege separation directory
  passwd* pw = getpwuid(getuid());
  user_ = pw ? pw->pw_name : "root";
  for (const char* name : {"host_key", "other_host_key", "client_key"}) {
    std::string path = dir_ + "/" + name;
    if (!std::filesystem::exists(path)) {
      MustRun({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path});
    }
  }
  WriteFile(dir_ + "/authorized_keys", ReadFile(dir_ + "/client_key.pub"));
  if (port_ == 0) port_ = FreePort();
  WriteFile(dir_ + "/sshd_config", "Port " + std::to_string(port_) +
                                       "\n"
                                       "ListenAddress 127.0.0.1\n"
                                       "HostKey " +
                                       dir_ +
                                       "/host_key\n"
                                       "AuthorizedKeysFile " +
                                       dir_ +
                                       "/authorized_keys\n"
                                       "PasswordAuthentication no\n"
                                       "KbdInteractiveAuthentication no\n"
                                       "PubkeyAuthentication yes\n"
                                       "PermitRootLogin prohibit-password\n"
                                       "StrictModes no\n"
                                       "UsePAM no\n"
                                       "PidFile " +
                                       dir_ + "/sshd.pid\n");
  auto started = process_.Start({"/usr/sbin/sshd", "-D", "-e", "-f", dir_ + "/sshd_config"},
                                dir_ + "/sshd.log");
  if (!started.ok()) return started;
  for (int i = 0; i < 300 && !PortOpen(port_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!PortOpen(port_)) {
    return Error(ErrorCode::kUnavailable, "sshd did not start: " + ReadFile(dir_ + "/sshd.log"));
  }
  return Status::Ok();
}

std::string SshServer::Url(const std::string& absolute_path) const {
  return "ssh://" + user_ + "@127.0.0.1:" + std::to_string(port_) + absolute_path;
}

std::string SshServer::client_key() const { return ReadFile(dir_ + "/client_key"); }

std::string SshServer::known_hosts() const {
  return "[127.0.0.1]:" + std::to_string(port_) + " " + PublicKey(dir_ + "/host_key.pub") + "\n";
}

std::string SshServer::wrong_known_hosts() const {
  return "[127.0.0.1]:" + std::to_string(port_) + " " + PublicKey(dir_ + "/other_host_key.pub") +
         "\n";
}

}  // namespace plumbline::testing
