#include "source/known_hosts.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/subprocess.h"

namespace plumbline::source {
namespace {

const std::string kKey = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const std::string kOther = "AAAAC3NzaC1lZDI1NTE5AAAAIFhS0zCYbMVQZ8k2MtjeDAPi1uGr0ZEXEjqK8OYtcm1B";

std::string Blob(const std::string& b64) { return *Base64Decode(b64); }

TEST(KnownHosts, MatchesHostAndPortForms) {
  std::string kh = "# comment\ngit.example.com,10.0.0.5 ssh-ed25519 " + kKey +
                   "\n"
                   "[127.0.0.1]:2222 ssh-ed25519 " +
                   kKey + "\n";
  EXPECT_TRUE(KnownHostsAccepts(kh, "git.example.com", 22, Blob(kKey)));
  EXPECT_TRUE(KnownHostsAccepts(kh, "10.0.0.5", 22, Blob(kKey)));
  EXPECT_TRUE(KnownHostsAccepts(kh, "127.0.0.1", 2222, Blob(kKey)));
  EXPECT_FALSE(KnownHostsAccepts(kh, "127.0.0.1", 22, Blob(kKey)));          // other port
  EXPECT_FALSE(KnownHostsAccepts(kh, "git.example.com", 22, Blob(kOther)));  // other key
  EXPECT_FALSE(KnownHostsAccepts(kh, "evil.example.com", 22, Blob(kKey)));
  EXPECT_FALSE(KnownHostsAccepts("", "git.example.com", 22, Blob(kKey)));
}

TEST(KnownHosts, HashedNamesFromSshKeygen) {
  // Let OpenSSH itself hash the names, so the test does not restate our own HMAC.
  char tmpl[] = "/tmp/plumbline-kh-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string path = tmpl;
  std::ofstream(path) << "git.example.com ssh-ed25519 " << kKey << "\n"
                      << "[127.0.0.1]:2222 ssh-ed25519 " << kKey << "\n";
  auto run = RunSubprocess({"ssh-keygen", "-H", "-f", path});
  ASSERT_TRUE(run.ok() && run->exit_code == 0) << (run.ok() ? run->err : run.error().message());
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  std::string hashed = ss.str();
  std::remove(path.c_str());
  std::remove((path + ".old").c_str());
  ASSERT_EQ(hashed.find("git.example.com"), std::string::npos) << hashed;  // really hashed
  EXPECT_TRUE(KnownHostsAccepts(hashed, "git.example.com", 22, Blob(kKey)));
  EXPECT_TRUE(KnownHostsAccepts(hashed, "127.0.0.1", 2222, Blob(kKey)));
  EXPECT_FALSE(KnownHostsAccepts(hashed, "git.example.org", 22, Blob(kKey)));
}

TEST(KnownHosts, ARevokedKeyNeverMatches) {
  std::string revoked = "git.example.com ssh-ed25519 " + kKey +
                        "\n@revoked git.example.com ssh-ed25519 " + kKey + "\n";
  EXPECT_FALSE(KnownHostsAccepts(revoked, "git.example.com", 22, Blob(kKey)));
}

}  // namespace
}  // namespace plumbline::source
