// What an Application names, reached through the API: its git credentials, the client for its
// objects (its ServiceAccount), its inventory. Shared by the reconciler and the CLI.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/application.h"
#include "apply/object_key.h"
#include "common/error.h"
#include "kube/client.h"
#include "render/path.h"
#include "source/git_source.h"
#include "verify/signature.h"

namespace plumbline::app {

// Reads spec.source.secretRef: username+password, bearerToken, identity+known_hosts, ca.crt.
Result<source::GitAuth> ReadGitAuth(kube::Client& client, const std::string& ns,
                                    const std::string& secret_name);

// Reads spec.decryption.secretRef: every data key ending in ".agekey" holds age identities
// (AGE-SECRET-KEY-1...), joined one per line. A Secret with none is an error.
Result<std::string> ReadDecryptionKeys(kube::Client& client, const std::string& ns,
                                       const std::string& secret_name);

// Reads spec.verify.secretRef: each data key holds ASCII-armored OpenPGP public keys or SSH public
// keys, one per line (authorized_keys or allowed_signers lines; '#' comments and blank lines
// skipped). A Secret with neither, or with a private key, is an error.
Result<verify::TrustedKeys> ReadTrustedKeys(kube::Client& client, const std::string& ns,
                                            const std::string& name);

// What rendering the Application `name` of namespace `ns` asks for: its path, allowEmpty, and
// the Helm release (name, destination namespace, values). Keys and deadline are the caller's.
render::PathRequest RenderRequestFor(const Spec& spec, const std::string& name,
                                     const std::string& ns);

// The client for an Application's objects: its spec.serviceAccountName, else
// `default_service_account` (--default-service-account), both in the Application's namespace
// `ns`; null when neither is set: use `client` itself.
std::unique_ptr<kube::Client> ClientForObjects(kube::Client& client, const std::string& ns,
                                               const Spec& spec,
                                               const std::string& default_service_account = "");

// The JSON pointers of the ignoreDifferences rules that name this object.
std::vector<std::string> IgnoredPointers(const Spec& spec, const apply::ObjectKey& key);

// status.inventory as keys.
std::vector<apply::ObjectKey> InventoryOf(const Json& status);

}  // namespace plumbline::app
