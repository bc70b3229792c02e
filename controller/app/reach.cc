#include "app/reach.h"

#include "common/base64.h"

namespace plumbline::app {

std::vector<std::string> IgnoredPointers(const Spec& spec, const apply::ObjectKey& key) {
  std::vector<std::string> out;
  for (const auto& rule : spec.ignore_differences) {
    if (rule.group != key.group || rule.kind != key.kind) continue;
    if (!rule.name.empty() && rule.name != key.name) continue;
    if (!rule.ns.empty() && rule.ns != key.ns) continue;
    out.insert(out.end(), rule.json_pointers.begin(), rule.json_pointers.end());
  }
  return out;
}

std::vector<apply::ObjectKey> InventoryOf(const Json& status) {
  std::vector<apply::ObjectKey> keys;
  if (!status.is_object() || !status.contains("inventory") || !status["inventory"].is_array()) {
    return keys;
  }
  for (const auto& e : status["inventory"]) keys.push_back(apply::ObjectKey::FromInventory(e));
  return keys;
}

std::unique_ptr<kube::Client> ClientForObjects(kube::Client& client, const std::string& ns,
                                               const Spec& spec,
                                               const std::string& default_service_account) {
  const std::string& account =
      spec.service_account_name.empty() ? default_service_account : spec.service_account_name;
  if (account.empty()) return nullptr;
  return client.Impersonate({"system:serviceaccount:" + ns + ":" + account, {}});
}

namespace {

// The data of the Secret `ns`/`name` (still base64), which the spec names at `field`.
Result<Json> ReadSecretData(kube::Client& client, const std::string& ns, const std::string& name,
                            const char* field) {
  auto secrets = client.Resource({"", "v1", "Secret"});
  if (!secrets.ok()) return secrets.error();
  auto secret = client.Get(*secrets, ns, name);
  if (!secret.ok()) return secret.error().Wrap(field);
  const Json* data = MemberAt(&*secret, "data");
  return data != nullptr && data->is_object() ? *data : Json::object();
}

}  // namespace

Result<source::GitAuth> ReadGitAuth(kube::Client& client, const std::string& ns,
                                    const std::string& name) {
  auto secret_data = ReadSecretData(client, ns, name, "spec.source.secretRef");
  if (!secret_data.ok()) return secret_data.error();
  source::GitAuth auth;
  const Json& data = *secret_data;
  auto field = [&](const char* key) -> std::string {
    if (!data.contains(key) || !data[key].is_string()) return "";
    auto decoded = Base64Decode(data[key].get<std::string>());
    return decoded.ok() ? *decoded : "";
  };
  auth.username = field("username");
  auth.password = field("password");
  auth.bearer_token = field("bearerToken");
  auth.ssh_private_key = field("identity");
  auth.known_hosts = field("known_hosts");
  auth.ca_pem = field("ca.crt");
  return auth;
}

Result<std::string> ReadDecryptionKeys(kube::Client& client, const std::string& ns,
                                       const std::string& name) {
  auto secret_data = ReadSecretData(client, ns, name, "spec.decryption.secretRef");
  if (!secret_data.ok()) return secret_data.error();
  std::string keys;
  const std::string suffix = ".agekey";
  const Json& data = *secret_data;
  for (auto it = data.begin(); it != data.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    if (key.size() < suffix.size() ||
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0 || !value.is_string()) {
      continue;
    }
    auto decoded = Base64Decode(value.get<std::string>());
    if (!decoded.ok()) continue;
    keys += *decoded;
    if (!keys.empty() && keys.back() != '\n') keys += '\n';
  }
  if (keys.empty()) {
    return Error(ErrorCode::kInvalidArgument, "spec.decryption.secretRef: Secret " + ns + "/" +
                                                  name + " has no key ending in .agekey");
  }
  return keys;
}

Result<verify::TrustedKeys> ReadTrustedKeys(kube::Client& client, const std::string& ns,
                                            const std::string& name) {
  auto secret_data = ReadSecretData(client, ns, name, "spec.verify.secretRef");
  if (!secret_data.ok()) return secret_data.error();
  verify::TrustedKeys keys;
  const Json& data = *secret_data;
  for (auto it = data.begin(); it != data.end(); ++it) {
    if (!it.value().is_string()) continue;
    auto decoded = Base64Decode(it.value().get<std::string>());
    if (!decoded.ok()) continue;
    if (decoded->find("PRIVATE KEY") != std::string::npos) {
      // Whoever can read this Secret could sign as its owner: only public keys belong here.
      return Error(ErrorCode::kInvalidArgument, "spec.verify.secretRef: Secret " + ns + "/" + name +
                                                    " holds a private key in " + it.key() +
                                                    ": give the public key");
    }
    if (decoded->find("-----BEGIN PGP PUBLIC KEY BLOCK-----") != std::string::npos) {
      keys.openpgp.push_back(*decoded);
      continue;
    }
    size_t start = 0;
    while (start < decoded->size()) {
      size_t end = decoded->find('\n', start);
      if (end == std::string::npos) end = decoded->size();
      std::string line = decoded->substr(start, end - start);
      start = end + 1;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      const size_t first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      keys.ssh.push_back(line.substr(first));
    }
  }
  if (keys.ssh.empty() && keys.openpgp.empty()) {
    return Error(ErrorCode::kInvalidArgument, "spec.verify.secretRef: Secret " + ns + "/" + name +
                                                  " holds no SSH or OpenPGP public key");
  }
  return keys;
}

render::PathRequest RenderRequestFor(const Spec& spec, const std::string& name,
                                     const std::string& ns) {
  render::PathRequest request;
  request.path = spec.path;
  request.allow_empty = spec.allow_empty;
  request.helm.release_name = name;
  request.helm.ns = spec.destination_namespace.empty() ? ns : spec.destination_namespace;
  if (spec.helm) {
    request.helm_required = true;
    if (!spec.helm->release_name.empty()) request.helm.release_name = spec.helm->release_name;
    request.helm.values_files = spec.helm->values_files;
    request.helm.values = spec.helm->values;
  }
  return request;
}

}  // namespace plumbline::app
