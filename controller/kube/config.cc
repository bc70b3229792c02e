#include "kube/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/base64.h"
#include "common/json.h"
#include "yaml/yaml_json.h"

namespace plumbline::kube {
namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kInvalidArgument, "cannot read " + what + " \"" + path + "\"");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || fs::path(path).is_absolute() || base_dir.empty()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// One named entry (cluster, user or context) and the file it came from.
struct Entry {
  Json value;
  std::string file;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
};

Status MergeList(const Json& doc, const char* list_key, const char* item_key,
                 const std::string& file, std::map<std::string, Entry>* into) {
  if (!doc.contains(list_key) || doc[list_key].is_null()) return Status::Ok();
  if (!doc[list_key].is_array()) {
    return Error(ErrorCode::kInvalidArgument, file + ": \"" + list_key + "\" must be a list");
  }
  for (const auto& item : doc[list_key]) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
      return Error(ErrorCode::kInvalidArgument,
                   file + ": every entry of \"" + list_key + "\" needs a name");
    }
    std::string name = item["name"];
    Json value = item.value(item_key, Json::object());
    if (!value.is_object()) {
      return Error(ErrorCode::kInvalidArgument, file + ": " + list_key + " \"" + name + "\": \"" +
                                                    item_key + "\" must be a map");
    }
    into->try_emplace(name, Entry{value, file});  // first file wins
  }
  return Status::Ok();
}

// Reads PEM material from `<key>-data` (base64) or `<key>` (a file).
Result<std::string> DataOrFile(const Entry& entry, const std::string& key,
                               const std::string& what) {
  const Json& v = entry.value;
  std::string data_key = key + "-data";
  if (v.contains(data_key) && v[data_key].is_string() && !v[data_key].get<std::string>().empty()) {
    auto decoded = Base64Decode(v[data_key].get<std::string>());
    if (!decoded.ok()) {
      return Error(ErrorCode::kInvalidArgument,
                   entry.file + ": " + what + ": " + data_key + " is not valid base64");
    }
    return *decoded;
  }
  if (v.contains(key) && v[key].is_string() && !v[key].get<std::string>().empty()) {
    std::string dir = fs::path(entry.file).parent_path().string();
    auto content = ReadFile(Resolve(v[key], dir), what + " " + key);
    if (!content.ok()) return content.error().Wrap(entry.file);
    return *content;
  }
  return std::string();
}

std::string StringField(const Json& v, const char* key) {
  if (v.contains(key) && v[key].is_string()) return v[key];
  return "";
}

// Absent is false; a value that is not a boolean is an error (it threw from Json::value before).
Result<bool> BoolField(const Json& v, const char* key, const std::string& where) {
  if (!v.contains(key) || v[key].is_null()) return false;
  if (!v[key].is_boolean()) {
    return Error(ErrorCode::kInvalidArgument, where + ": \"" + key + "\" must be true or false");
  }
  return v[key].get<bool>();
}

Status FillExec(const Entry& user, const std::string& user_name, Config* config) {
  const Json& exec = user.value["exec"];
  if (!exec.is_object()) {
    return Error(ErrorCode::kInvalidArgument,
                 user.file + ": user \"" + user_name + "\": exec must be a map");
  }
  ExecPlugin& p = config->exec;
  p.api_version = StringField(exec, "apiVersion");
  p.command = StringField(exec, "command");
  if (p.command.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 user.file + ": user \"" + user_name + "\": exec needs a command");
  }
  if (p.api_version.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 user.file + ": user \"" + user_name + "\": exec needs an apiVersion");
  }
  // A command with a path separator is relative to the kubeconfig, as in client-go.
  if (p.command.find('/') != std::string::npos) {
    p.command = Resolve(p.command, fs::path(user.file).parent_path().string());
  }
  if (exec.contains("args") && exec["args"].is_array()) {
    for (const auto& a : exec["args"])
      p.args.push_back(a.is_string() ? a.get<std::string>() : a.dump());
  }
  if (exec.contains("env") && exec["env"].is_array()) {
    for (const auto& e : exec["env"]) {
      p.env.emplace_back(StringField(e, "name"), StringField(e, "value"));
    }
  }
  p.install_hint = StringField(exec, "installHint");
  auto provide = BoolField(exec, "provideClusterInfo", user.file + ": user \"" + user_name + "\"");
  if (!provide.ok()) return provide.error();
  p.provide_cluster_info = *provide;
  config->has_exec = true;
  return Status::Ok();
}

}  // namespace

Result<Config> LoadKubeconfig(const std::vector<std::string>& paths, const std::string& context) {
  Merged merged;
  int files_read = 0;
  for (const auto& path : paths) {
    if (path.empty()) continue;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    auto text = ReadFile(path, "kubeconfig");
    if (!text.ok()) return text.error();
    auto doc = yaml::ParseDocument(*text, path);
    if (!doc.ok()) return doc.error();
    if (doc->is_null()) *doc = Json::object();
    if (!doc->is_object()) {
      return Error(ErrorCode::kInvalidArgument, path + ": a kubeconfig must be a YAML map");
    }
    std::string abs = fs::absolute(path).string();
    if (auto s = MergeList(*doc, "clusters", "cluster", abs, &merged.clusters); !s.ok())
      return s.error();
    if (auto s = MergeList(*doc, "users", "user", abs, &merged.users); !s.ok()) return s.error();
    if (auto s = MergeList(*doc, "contexts", "context", abs, &merged.contexts); !s.ok())
      return s.error();
    if (merged.current_context.empty())
      merged.current_context = StringField(*doc, "current-context");
    ++files_read;
  }
  if (files_read == 0) {
    std::string list;
    for (const auto& p : paths) list += (list.empty() ? "" : ", ") + p;
    return Error(ErrorCode::kInvalidArgument, "no kubeconfig file found (looked at: " + list + ")");
  }

  Config config;
  config.context = context.empty() ? merged.current_context : context;
  if (config.context.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "kubeconfig sets no current-context and no --context was given");
  }
  auto ctx_it = merged.contexts.find(config.context);
  if (ctx_it == merged.contexts.end()) {
    return Error(ErrorCode::kInvalidArgument,
                 "context \"" + config.context + "\" not found in kubeconfig");
  }
  const Json& ctx = ctx_it->second.value;
  std::string cluster_name = StringField(ctx, "cluster");
  std::string user_name = StringField(ctx, "user");
  config.default_namespace = StringField(ctx, "namespace");

  auto cluster_it = merged.clusters.find(cluster_name);
  if (cluster_it == merged.clusters.end()) {
    return Error(ErrorCode::kInvalidArgument,
                 "context \"" + config.context + "\": cluster \"" + cluster_name + "\" not found");
  }
  const Entry& cluster = cluster_it->second;
  config.server = StringField(cluster.value, "server");
  if (config.server.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 cluster.file + ": cluster \"" + cluster_name + "\" has no server");
  }
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return Error(ErrorCode::kInvalidArgument, cluster.file + ": cluster \"" + cluster_name +
                                                  "\": server \"" + config.server +
                                                  "\" must start with https:// or http://");
  }
  while (config.server.size() > 8 && config.server.back() == '/') config.server.pop_back();
  auto insecure = BoolField(cluster.value, "insecure-skip-tls-verify",
                            cluster.file + ": cluster \"" + cluster_name + "\"");
  if (!insecure.ok()) return insecure.error();
  config.insecure_skip_tls_verify = *insecure;
  auto ca = DataOrFile(cluster, "certificate-authority", "cluster \"" + cluster_name + "\"");
  if (!ca.ok()) return ca.error();
  config.ca_pem = *ca;

  if (!user_name.empty()) {
    auto user_it = merged.users.find(user_name);
    if (user_it == merged.users.end()) {
      return Error(ErrorCode::kInvalidArgument,
                   "context \"" + config.context + "\": user \"" + user_name + "\" not found");
    }
    const Entry& user = user_it->second;
    std::string what = "user \"" + user_name + "\"";
    auto cert = DataOrFile(user, "client-certificate", what);
    if (!cert.ok()) return cert.error();
    auto key = DataOrFile(user, "client-key", what);
    if (!key.ok()) return key.error();
    config.client_cert_pem = *cert;
    config.client_key_pem = *key;
    if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   user.file + ": " + what + " needs both a client certificate and a client key");
    }
    config.token = StringField(user.value, "token");
    std::string token_file = StringField(user.value, "tokenFile");
    if (!token_file.empty()) {
      config.token_file = Resolve(token_file, fs::path(user.file).parent_path().string());
    }
    config.username = StringField(user.value, "username");
    config.password = StringField(user.value, "password");
    if (user.value.contains("exec") && !user.value["exec"].is_null()) {
      if (auto s = FillExec(user, user_name, &config); !s.ok()) return s.error();
    }
    if (user.value.contains("auth-provider") && !user.value["auth-provider"].is_null()) {
      return Error(ErrorCode::kInvalidArgument,
                   user.file + ": " + what +
                       ": auth-provider plugins are not supported; use an exec plugin");
    }
    config.impersonate.user = StringField(user.value, "as");
    if (user.value.contains("as-groups") && user.value["as-groups"].is_array()) {
      for (const auto& g : user.value["as-groups"]) {
        if (g.is_string()) config.impersonate.groups.push_back(g);
      }
    }
  }
  return config;
}

Result<Config> LoadInClusterConfig(const InClusterPaths& paths) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    return Error(ErrorCode::kInvalidArgument,
                 "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                 "must be set");
  }
  Config config;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  config.server = "https://" + h + ":" + port;
  std::error_code ec;
  if (!fs::exists(paths.token_file, ec)) {
    return Error(ErrorCode::kInvalidArgument,
                 "in-cluster: service account token file \"" + paths.token_file + "\" not found");
  }
  config.token_file = paths.token_file;
  auto ca = ReadFile(paths.ca_file, "in-cluster CA file");
  if (!ca.ok()) return ca.error();
  config.ca_pem = *ca;
  auto ns = ReadFile(paths.namespace_file, "namespace file");
  if (ns.ok()) {
    std::string n = *ns;
    while (!n.empty() && std::isspace(static_cast<unsigned char>(n.back()))) n.pop_back();
    config.default_namespace = n;
  }
  return config;
}

Result<Config> LoadDefaultConfig(const std::string& kubeconfig_flag, const std::string& context) {
  if (!kubeconfig_flag.empty()) {
    std::error_code ec;
    if (!fs::exists(kubeconfig_flag, ec)) {
      return Error(ErrorCode::kInvalidArgument,
                   "kubeconfig \"" + kubeconfig_flag + "\" does not exist");
    }
    return LoadKubeconfig({kubeconfig_flag}, context);
  }
  const char* env = std::getenv("KUBECONFIG");
  if (env && *env) {
    std::vector<std::string> paths;
    std::stringstream ss(env);
    std::string p;
    while (std::getline(ss, p, ':')) paths.push_back(p);
    return LoadKubeconfig(paths, context);
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  if (host && *host && context.empty()) return LoadInClusterConfig();
  const char* home = std::getenv("HOME");
  std::string path = std::string(home ? home : "") + "/.kube/config";
  return LoadKubeconfig({path}, context);
}

}  // namespace plumbline::kube
