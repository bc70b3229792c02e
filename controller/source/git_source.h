// The git seam: fetches a repository into a local cache and reads the manifests of one commit.
// libgit2 stays behind this file.
//
// A GitSource is thread-safe: fetches of different repositories run in parallel, fetches of the
// same cache entry are serialized. A Snapshot is immutable and may be shared between threads.
//
// Tenants share the controller, not their repositories: the cache keeps one repository per URL
// and credentials, and a commit found in it is served only after the remote accepted the
// request's own credentials.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
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

// A detached signature and the exact bytes it signs, as git stores them: a commit's gpgsig
// header over the commit without its signature headers, or the armor at the end of an annotated
// tag over the tag before it. Empty `signature`: unsigned.
struct SignedObject {
  std::string signature;
  std::string signed_data;
  // Why the object's signature cannot be read (two signature headers, say): it is refused, never
  // taken as unsigned or as signed.
  std::string error;
};

// Splits a raw commit object as git does (`git verify-commit`): the "gpgsig" header (its
// continuation lines unfolded) is the signature; the object without it and without any
// "gpgsig-sha256" header is what it signs. Only the headers are searched, never the message.
SignedObject SplitCommitSignature(const std::string& raw_commit);
// Splits a raw tag object as git does: the signature starts at the last line of the message that
// opens an armor (PGP or SSH).
SignedObject SplitTagSignature(const std::string& raw_tag);
// The "tag" header of a raw tag object: the name it was signed under.
std::string TagObjectName(const std::string& raw_tag);

// The annotated tag a revision named, when it named one.
struct Tag {
  std::string name;           // the ref's name (spec.source.revision)
  std::string declared_name;  // the name inside the tag object, which its signature covers
  std::string sha;            // the tag object's
  SignedObject signed_object;
};

struct Commit {
  std::string sha;
  std::string author;  // "Name <email>"
  SystemTime time;     // author time
  std::string message;
  SignedObject signed_object;
  std::optional<Tag> tag;  // set when the revision is an annotated tag
};

struct File {
  std::string path;  // relative to the repository root, '/'-separated
  std::string content;
};

// Which files Snapshot::ReadDir reads, so that a commit's large files cost no memory.
struct ReadOptions {
  // The files to read, by path; the others are skipped without reading them. Unset: all.
  std::function<bool(const std::string& path)> wanted;
  // A wanted file larger than this is an error naming it, known from the object's header before
  // its content is read.
  size_t max_file_bytes = std::numeric_limits<size_t>::max();
};

// One resolved commit of a repository.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual const Commit& commit() const = 0;
  // The regular files under `dir` (recursively) that `options` wants, in path order. A symlink
  // anywhere under it or on the way to it, a `dir` that leaves the repository, or a wanted file
  // over the size limit is an error (kInvalidArgument).
  virtual Result<std::vector<File>> ReadDir(const std::string& dir,
                                            const ReadOptions& options) const = 0;
};

// A revert commit pushed to a branch: the rollback lives in git (PRODUCT §4).
struct RevertRequest {
  std::string url;
  std::string branch;  // where to push; "" for the remote's HEAD branch
  GitAuth auth;
  std::string commit;         // full SHA of the commit to revert
  std::string expected_head;  // refuse unless the branch is at this commit ("" skips the check)
  std::string author_name = "plumbline";
  std::string author_email = "plumbline@localhost";
  std::string trailer;  // appended to the message ("Reverted with ...")
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Signs the revert commit (git's gpgsig header): given the commit's bytes, returns the armored
  // detached signature. Unset: the commit is not signed.
  std::function<Result<std::string>(const std::string& commit)> sign;
};

struct RevertResult {
  std::string sha;     // the revert commit
  std::string branch;  // the branch it was pushed to
  std::string message;
};

class GitSource {
 public:
  virtual ~GitSource() = default;
  virtual Result<std::shared_ptr<const Snapshot>> Fetch(const FetchRequest& request) = 0;
  // Fetches the branch, commits the revert of `commit` on top of it and pushes. Fails with
  // kConflict when the branch moved past `expected_head` or the revert does not apply cleanly.
  virtual Result<RevertResult> Revert(const RevertRequest& request) = 0;
};

// What a GitSource may fetch; filled from `plumbline run`'s flags.
struct SourceOptions {
  // file:// URLs and local paths read the controller's own disk, where the cache holds every
  // tenant's repositories: refused unless set (`--allow-local-repos`, for a local demo or
  // tests). Even then, a path inside the cache is refused.
  bool allow_local_repos = false;
};

// Keeps one bare repository per URL and credentials under `cache_dir`; clones once, then
// fetches.
std::unique_ptr<GitSource> NewLibgit2Source(const std::string& cache_dir,
                                            const SourceOptions& options = {});

// Removes the lock files ("*.lock") that a git process killed mid-write leaves in the cache
// repositories under `cache_dir`, if older than `older_than` (zero: all of them). A live writer
// holds a lock for milliseconds; a stale one makes every later fetch of that repository fail.
// Returns how many were removed.
int RemoveStaleLocks(const std::string& cache_dir, std::chrono::seconds older_than);

// Whether libgit2 would read `url` from this machine's disk: a file:// URL, or a path (git's
// rule: no "://", and a '/' before the first ':' or no ':' at all; "host:path" is ssh).
bool IsLocalRepoUrl(const std::string& url);

// A digest (hex SHA-256) of everything in `auth`: which credentials a cache entry belongs to,
// without keeping them.
std::string AuthFingerprint(const GitAuth& auth);

// Normalizes a clean relative path ("a/./b/" -> "a/b", "." -> ""); an absolute path or one that
// climbs out with ".." is an error.
Result<std::string> CleanRepoPath(const std::string& path);

}  // namespace plumbline::source
