// How to reach and authenticate to an API server: read from kubeconfig files the way kubectl
// reads them, or from a Pod's service account (in-cluster). Plain values; load once, then hand
// to kube::Client::Create.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace plumbline::kube {

// A kubeconfig `exec` credential plugin (client.authentication.k8s.io).
struct ExecPlugin {
  std::string api_version;
  std::string command;  // resolved against the kubeconfig's directory when relative with a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  bool provide_cluster_info = false;
};

struct Impersonation {
  std::string user;  // "system:serviceaccount:NS:NAME" for a ServiceAccount
  std::vector<std::string> groups;
  bool empty() const { return user.empty(); }
};

struct Config {
  std::string server;   // "https://127.0.0.1:6443"
  std::string context;  // the kubeconfig context used ("" in-cluster)
  std::string default_namespace;

  // TLS
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;
  std::string client_key_pem;

  // Authentication: at most one of these is normally set.
  std::string token;
  std::string token_file;  // re-read when it changes (service account tokens rotate)
  std::string username;
  std::string password;
  bool has_exec = false;
  ExecPlugin exec;

  Impersonation impersonate;  // kubeconfig `as` / `as-groups`
};

// Reads and merges kubeconfig files as kubectl does: for clusters, users and contexts the first
// file that names an entry wins; current-context comes from the first file that sets it. Files in
// the list that do not exist are skipped, but at least one must exist. `context` overrides
// current-context. Relative file paths inside a file are relative to that file's directory.
Result<Config> LoadKubeconfig(const std::vector<std::string>& paths, const std::string& context);

// Where a Pod finds its service account credentials; overridable for tests.
struct InClusterPaths {
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_file = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
};

// Uses KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT and the service account files.
Result<Config> LoadInClusterConfig(const InClusterPaths& paths = {});

// The kubectl order: an explicit --kubeconfig file; else $KUBECONFIG (a ':'-separated list);
// else in-cluster when KUBERNETES_SERVICE_HOST is set; else ~/.kube/config.
Result<Config> LoadDefaultConfig(const std::string& kubeconfig_flag, const std::string& context);

}  // namespace plumbline::kube
