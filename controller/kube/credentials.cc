#include "kube/credentials.h"

#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "common/base64.h"
#include "common/json.h"
#include "common/mutex.h"
#include "common/rfc3339.h"
#include "common/subprocess.h"

namespace plumbline::kube {
namespace {

class NoCredentials : public Credentials {
 public:
  Result<std::string> Authorization() override { return std::string(); }
};

class StaticCredentials : public Credentials {
 public:
  explicit StaticCredentials(std::string header) : header_(std::move(header)) {}
  Result<std::string> Authorization() override { return header_; }

 private:
  const std::string header_;
};

// Re-reads the file whenever its size or modification time changes, so a rotated service
// account token is picked up without a restart.
class TokenFileCredentials : public Credentials {
 public:
  explicit TokenFileCredentials(std::string path) : path_(std::move(path)) {}

  Result<std::string> Authorization() override {
    struct stat st {};
    if (stat(path_.c_str(), &st) != 0) {
      return Error(ErrorCode::kUnauthorized, "cannot read token file \"" + path_ + "\"");
    }
    MutexLock lock(mu_);
    if (!loaded_ || st.st_mtim.tv_sec != mtime_.tv_sec || st.st_mtim.tv_nsec != mtime_.tv_nsec ||
        st.st_size != size_) {
      std::ifstream in(path_);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string token = ss.str();
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
      }
      if (token.empty()) {
        return Error(ErrorCode::kUnauthorized, "token file \"" + path_ + "\" is empty");
      }
      token_ = token;
      mtime_ = st.st_mtim;
      size_ = st.st_size;
      loaded_ = true;
    }
    return "Bearer " + token_;
  }

  void Invalidate() override {
    MutexLock lock(mu_);
    loaded_ = false;
  }

 private:
  const std::string path_;
  Mutex mu_;
  bool loaded_ GUARDED_BY(mu_) = false;
  std::string token_ GUARDED_BY(mu_);
  timespec mtime_ GUARDED_BY(mu_){};
  off_t size_ GUARDED_BY(mu_) = 0;
};

class ExecCredentials : public Credentials {
 public:
  ExecCredentials(Config config, std::optional<ExecCredential> initial)
      : config_(std::move(config)), cached_(std::move(initial)) {}

  Result<std::string> Authorization() override {
    MutexLock lock(mu_);
    // Refresh a little before expiry so a request never carries a token that dies in flight.
    auto now = std::chrono::system_clock::now();
    if (!cached_ || (cached_->expiry && *cached_->expiry - std::chrono::seconds(10) <= now)) {
      auto fresh = RunExecPlugin(config_.exec, config_);
      if (!fresh.ok()) return fresh.error();
      cached_ = std::move(*fresh);
    }
    if (cached_->token.empty()) return std::string();
    return "Bearer " + cached_->token;
  }

  void Invalidate() override {
    MutexLock lock(mu_);
    cached_.reset();
  }

 private:
  const Config config_;
  Mutex mu_;
  std::optional<ExecCredential> cached_ GUARDED_BY(mu_);
};

}  // namespace

Result<ExecCredential> RunExecPlugin(const ExecPlugin& plugin, const Config& config) {
  Json info = {{"apiVersion", plugin.api_version},
               {"kind", "ExecCredential"},
               {"spec", {{"interactive", false}}}};
  if (plugin.provide_cluster_info) {
    Json cluster = {{"server", config.server},
                    {"insecure-skip-tls-verify", config.insecure_skip_tls_verify}};
    if (!config.ca_pem.empty()) cluster["certificate-authority-data"] = Base64Encode(config.ca_pem);
    info["spec"]["cluster"] = cluster;
  }
  SubprocessOptions options;
  options.extra_env = plugin.env;
  options.extra_env.emplace_back("KUBERNETES_EXEC_INFO", info.dump());
  options.timeout = std::chrono::seconds(60);
  std::vector<std::string> argv = {plugin.command};
  argv.insert(argv.end(), plugin.args.begin(), plugin.args.end());
  std::string what = "exec credential plugin \"" + plugin.command + "\"";
  auto run = RunSubprocess(argv, options);
  if (!run.ok()) {
    std::string msg = what + ": " + run.error().message();
    if (!plugin.install_hint.empty()) msg += "\n" + plugin.install_hint;
    return Error(ErrorCode::kUnauthorized, msg);
  }
  if (run->exit_code != 0) {
    return Error(ErrorCode::kUnauthorized,
                 what + " exited with code " + std::to_string(run->exit_code) + ": " + run->err);
  }
  Json out = Json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (!out.is_object() || out.value("kind", "") != "ExecCredential" || !out.contains("status") ||
      !out["status"].is_object()) {
    return Error(ErrorCode::kUnauthorized, what + " did not print an ExecCredential");
  }
  if (out.value("apiVersion", "") != plugin.api_version) {
    return Error(ErrorCode::kUnauthorized, what + " answered apiVersion \"" +
                                               out.value("apiVersion", "") + "\", expected \"" +
                                               plugin.api_version + "\"");
  }
  const Json& status = out["status"];
  ExecCredential cred;
  cred.token = status.value("token", "");
  cred.client_cert_pem = status.value("clientCertificateData", "");
  cred.client_key_pem = status.value("clientKeyData", "");
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return Error(ErrorCode::kUnauthorized, what + " gave neither a token nor a client certificate");
  }
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return Error(ErrorCode::kUnauthorized,
                 what + " gave a client certificate without a key, or a key without a certificate");
  }
  std::string expiry = status.value("expirationTimestamp", "");
  if (!expiry.empty()) {
    auto t = ParseRfc3339(expiry);
    if (!t.ok()) return t.error().Wrap(what);
    cred.expiry = *t;
  }
  return cred;
}

std::unique_ptr<Credentials> NewCredentials(const Config& config,
                                            std::optional<ExecCredential> initial_exec) {
  if (config.has_exec) return std::make_unique<ExecCredentials>(config, std::move(initial_exec));
  if (!config.token.empty()) return std::make_unique<StaticCredentials>("Bearer " + config.token);
  if (!config.token_file.empty()) return std::make_unique<TokenFileCredentials>(config.token_file);
  if (!config.username.empty()) {
    return std::make_unique<StaticCredentials>(
        "Basic " + Base64Encode(config.username + ":" + config.password));
  }
  return std::make_unique<NoCredentials>();
}

}  // namespace plumbline::kube
