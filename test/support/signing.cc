#include "support/signing.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "support/process.h"

namespace plumbline::testing {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string HomeOf(const SigningKey& key) {
  return std::filesystem::path(key.gpg_program).parent_path().string() + "/gnupg";
}

}  // namespace

std::vector<std::string> SigningKey::GitConfig() const {
  if (format == "ssh") {
    return {"-c", "gpg.format=ssh", "-c", "user.signingKey=" + key};
  }
  return {"-c", "gpg.format=openpgp",    "-c", "gpg.program=" + gpg_program,
          "-c", "user.signingKey=" + key};
}

SigningKey NewSshSigningKey(const std::string& dir, const std::string& comment) {
  std::filesystem::create_directories(dir);
  SigningKey key;
  key.format = "ssh";
  static int made = 0;  // one file per key, so ssh-keygen never asks to overwrite
  key.key = dir + "/id_ed25519_" + std::to_string(++made);
  MustRun({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key.key});
  key.public_key = Trimmed(ReadFile(key.key + ".pub"));
  // "256 SHA256:abc comment (ED25519)"
  const std::string listed = MustRun({"ssh-keygen", "-l", "-f", key.key + ".pub"});
  const size_t start = listed.find(' ') + 1;
  key.fingerprint = listed.substr(start, listed.find(' ', start) - start);
  return key;
}

SigningKey NewOpenPgpSigningKey(const std::string& dir, const std::string& uid) {
  const std::string home = dir + "/gnupg";
  std::filesystem::create_directories(home);
  chmod(home.c_str(), 0700);
  SigningKey key;
  key.format = "openpgp";
  // git runs gpg.program with its own arguments: this one adds the key's home directory.
  key.gpg_program = dir + "/gpg";
  WriteFile(key.gpg_program, "#!/bin/sh\nexec gpg --homedir '" + home + "' \"$@\"\n");
  chmod(key.gpg_program.c_str(), 0755);
  MustRun({key.gpg_program, "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
           "--quick-gen-key", uid, "ed25519", "sign", "never"});
  const std::string listed =
      MustRun({key.gpg_program, "--batch", "--with-colons", "--fingerprint", uid});
  // The first fpr line is the primary key's: "fpr:::::::::HEX:".
  const size_t fpr = listed.find("\nfpr:");
  EXPECT_NE(fpr, std::string::npos) << listed;
  if (fpr != std::string::npos) {
    const std::string line = listed.substr(fpr + 1, listed.find('\n', fpr + 1) - fpr - 1);
    const size_t end = line.rfind(':');
    const size_t begin = line.rfind(':', end - 1) + 1;
    key.fingerprint = line.substr(begin, end - begin);
  }
  key.key = key.fingerprint;
  key.public_key = MustRun({key.gpg_program, "--batch", "--armor", "--export", key.fingerprint});
  return key;
}

std::string CommitSigned(const std::string& repo_dir, const std::string& message,
                         const SigningKey& key) {
  MustRun({"git", "-C", repo_dir, "add", "-A"});
  std::vector<std::string> argv = {"git", "-C", repo_dir};
  for (const auto& c : key.GitConfig()) argv.push_back(c);
  for (const char* a : {"commit", "-q", "--allow-empty", "-S", "-m"}) argv.push_back(a);
  argv.push_back(message);
  MustRun(argv);
  return Trimmed(MustRun({"git", "-C", repo_dir, "rev-parse", "HEAD"}));
}

void TagAnnotated(const std::string& repo_dir, const std::string& name, const SigningKey* key) {
  std::vector<std::string> argv = {"git", "-C", repo_dir};
  if (key != nullptr) {
    for (const auto& c : key->GitConfig()) argv.push_back(c);
  }
  for (const char* a : {"tag", key != nullptr ? "-s" : "-a", "-m"}) argv.push_back(a);
  argv.push_back("release " + name);
  argv.push_back(name);
  MustRun(argv);
}

void StopGpgAgent(const SigningKey& key) {
  if (key.format != "openpgp") return;
  MustRun({"gpgconf", "--homedir", HomeOf(key), "--kill", "all"});
}

}  // namespace plumbline::testing
