// The git seam: fetches a repository into a local cache and reads the manifests of one commit.
// libgit2 stays behind this file.
//
// A GitSource is thread-safe: fetches of different repositories run in parallel, fetches of the
// same cache entry are serialized. A Snapshot is immutable and may be shared between threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rfc3339.h"

namespace plumbline::source {

// Credentials from an Application's spec.source.secretRef.
struct GitAuth {
  std::string username;
  std::string password;
  std::string bearer_token;
  std::string ssh_private_key;  // PEM/OpenSSH private key ("identity")
  std::string known_hosts;      // required for ssh: unknown host keys are refused
  std::string ca_pem;           // extra CA for https
};

struct FetchRequest {
  std::string url;
  std::string revision;  // branch, tag or full commit SHA; "" for the remote's HEAD branch
  GitAuth auth;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct Commit {
  std::string sha;
  std::string author;  // "Name <email>"
  SystemTime time;     // author time
  std::string message;
};

struct File {
  std::string path;  // relative to the repository root, '/'-separated
  std::string content;
};

// One resolved commit of a repository.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual const Commit& commit() const = 0;
  // Every regular file under `dir` (recursively), in path order. A symlink anywhere under it or
  // on the way to it, or a `dir` that leaves the repository, is an error (kInvalidArgument).
  virtual Result<std::vector<File>> ReadDir(const std::string& dir) const = 0;
};

class GitSource {
 public:
  virtual ~GitSource() = default;
  virtual Result<std::shared_ptr<const Snapshot>> Fetch(const FetchRequest& request) = 0;
};

// Keeps one bare repository per URL under `cache_dir`; clones once, then fetches.
std::unique_ptr<GitSource> NewLibgit2Source(const std::string& cache_dir);

// Normalizes a clean relative path ("a/./b/" -> "a/b", "." -> ""); an absolute path or one that
// climbs out with ".." is an error.
Result<std::string> CleanRepoPath(const std::string& path);

}  // namespace plumbline::source
