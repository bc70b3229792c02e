// SOPS-encrypted files (PRODUCT §3.2, spec.decryption): found by their `sops` metadata and
// decrypted with the sops program and the Application's age keys. The keys reach sops through
// its environment only; the plaintext comes back through a pipe.
#pragma once

#include <string>
#include <vector>

#include "common/error.h"
#include "render/render.h"
#include "render/workspace.h"
#include "source/git_source.h"

namespace plumbline::render {

// The format sops reads a file of this path as ("yaml", "json", "dotenv"), or "" when SOPS
// files of this kind are not looked for.
std::string SopsFormatOf(const std::string& path);

// Whether `content` (of a file of this path) is encrypted by sops: a YAML or JSON document with
// a top-level `sops` map holding a `mac`, or a dotenv file with a sops_mac line.
bool IsSopsEncrypted(const std::string& path, const std::string& content);

// The plaintext of `file`, which the workspace holds at its repository path, decrypted with the
// age identities in `age_keys`. Errors name the file and say why (sops' own message).
Result<std::string> SopsDecrypt(const source::File& file, const Workspace& workspace,
                                const std::string& age_keys, const RenderOptions& options);

// The values that were encrypted in `encrypted` (leaves written ENC[...]), as `plaintext` has
// them, so that messages can be scrubbed of them.
std::vector<std::string> SecretValuesOf(const std::string& path, const std::string& encrypted,
                                        const std::string& plaintext);

// `text` with each of `secrets` (3 characters or longer) replaced by "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace plumbline::render
