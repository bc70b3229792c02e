// What kustomize or helm printed for a given input, kept so that a reconcile of a commit already
// rendered (every interval, most of them) runs no program and writes no workspace. Keyed by a
// SHA-256 of everything the build reads: the files, the request (values, release, namespace),
// the decryption keys and the programs. Two tenants share an entry only if their inputs are the
// same bytes, which renders the same output.
//
// Holds decrypted output in memory, as the applied objects are anyway; never on disk. Bounded in
// bytes, least recently used first out; an entry over an eighth of the bound is not kept.
// Thread-safe.
#pragma once

#include <list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"

namespace plumbline::render {

struct CachedBuild {
  std::string stream;                // the program's output
  std::vector<std::string> secrets;  // decrypted values, to scrub from parse errors
  size_t decrypted_files = 0;
};

class BuildCache {
 public:
  explicit BuildCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  std::optional<CachedBuild> Get(const std::string& key);
  void Put(const std::string& key, CachedBuild build);
  size_t bytes() const;

 private:
  using Entries = std::list<std::pair<std::string, CachedBuild>>;
  static size_t SizeOf(const std::string& key, const CachedBuild& build);
  const size_t max_bytes_;
  mutable Mutex mu_;
  Entries entries_ GUARDED_BY(mu_);  // most recently used first
  std::map<std::string, Entries::iterator> index_ GUARDED_BY(mu_);
  size_t bytes_ GUARDED_BY(mu_) = 0;
};

// Incremental SHA-256, hex: the cache key.
class KeyBuilder {
 public:
  KeyBuilder();
  ~KeyBuilder();
  KeyBuilder(const KeyBuilder&) = delete;
  KeyBuilder& operator=(const KeyBuilder&) = delete;
  // Adds the length, then the bytes: ("ab", "c") and ("a", "bc") differ.
  KeyBuilder& Add(const std::string& data);
  std::string Hex();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace plumbline::render
