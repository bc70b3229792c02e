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

// The format sops reads `content` (of a file of this path) as, when sops encrypted it: "yaml" or
// "json" (a `sops` map with a `mac` at the top of a document of a .yaml/.yml/.json file),
// "dotenv" (a sops_mac line), "ini" (a [sops] section with a mac), or "binary" (any other file
// holding a JSON `data` string and `sops` map). "" when it is not encrypted. Any file is looked
// at, so that an encrypted file is never applied (or packed into a Secret) as ciphertext.
std::string SopsFormatOf(const std::string& path, const std::string& content);
inline bool IsSopsEncrypted(const std::string& path, const std::string& content) {
  return !SopsFormatOf(path, content).empty();
}

// Refuses a file encrypted for anything but age keys: its metadata, which whoever commits
// writes, would otherwise make sops call a KMS, Vault or key server, with whatever cloud
// identity the controller has.
Status CheckAgeOnly(const std::string& path, const std::string& content, const std::string& format);

// The plaintext of `file`, which the workspace holds at its repository path, decrypted with the
// age identities in `age_keys`. Errors name the file and say why (sops' own message).
Result<std::string> SopsDecrypt(const source::File& file, const Workspace& workspace,
                                const std::string& age_keys, const RenderOptions& options);

// The values that were encrypted in `encrypted` (leaves written ENC[...]), as `plaintext` has
// them, in every form a message may quote them (as is, each line, JSON-escaped, base64), so
// that messages can be scrubbed of them.
std::vector<std::string> SecretValuesOf(const std::string& path, const std::string& encrypted,
                                        const std::string& plaintext);

// The forms of one secret value that messages may carry: itself, each of its lines, JSON-escaped
// (as Go's %q mostly is) and base64 (as a Secret's data holds it).
std::vector<std::string> FormsOf(const std::string& value);

// `text` with each of `secrets` (3 characters or longer) replaced by "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets);
// Scrub applied to every string in `value`, in place.
void ScrubAll(Json* value, const std::vector<std::string>& secrets);

}  // namespace plumbline::render
