#include "verify/sign.h"

#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace plumbline::verify {

Result<SigningKey::Format> ParseSigningFormat(const std::string& text) {
  if (text == "ssh") return SigningKey::Format::kSsh;
  if (text == "openpgp" || text == "gpg") return SigningKey::Format::kOpenPgp;
  return Error(ErrorCode::kInvalidArgument,
               "signing format \"" + text + "\" is neither ssh nor openpgp");
}

Result<std::string> Sign(const SigningKey& key, const std::string& data) {
  if (key.key.empty()) return Error(ErrorCode::kInvalidArgument, "no signing key");
  auto dir = TempDir::Create("", "plumbline-sign-");
  if (!dir.ok()) return dir.error();
  if (auto s = (*dir)->Write("commit", data); !s.ok()) return s.error();
  const std::string file = (*dir)->path() + "/commit";
  std::vector<std::string> argv;
  std::string signature_file;
  if (key.format == SigningKey::Format::kSsh) {
    // Writes commit.sig next to the file.
    argv = {key.program.empty() ? "ssh-keygen" : key.program,
            "-Y",
            "sign",
            "-n",
            "git",
            "-f",
            key.key,
            file};
    signature_file = "commit.sig";
  } else {
    argv = {key.program.empty() ? "gpg" : key.program,
            "--batch",
            "--yes",
            "--armor",
            "--detach-sign",
            "--local-user",
            key.key,
            "--output",
            (*dir)->path() + "/commit.asc",
            file};
    signature_file = "commit.asc";
  }
  SubprocessOptions options;
  options.timeout = key.timeout;
  options.max_output_bytes = 64 << 10;
  auto ran = RunSubprocess(argv, options);
  if (!ran.ok()) return ran.error().Wrap(argv[0]);
  if (ran->exit_code != 0) {
    std::string err = ran->err.substr(0, 1024);
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    return Error(ErrorCode::kInvalidArgument,
                 argv[0] + " exited with " + std::to_string(ran->exit_code) + ": " + err);
  }
  return (*dir)->Read(signature_file, 64 << 10);
}

}  // namespace plumbline::verify
