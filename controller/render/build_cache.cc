#include "render/build_cache.h"

#include <openssl/evp.h>

#include <cstdio>

namespace plumbline::render {

size_t BuildCache::SizeOf(const std::string& key, const CachedBuild& build) {
  size_t n = key.size() + build.stream.size() + 128;
  for (const auto& s : build.secrets) n += s.size() + 32;
  return n;
}

std::optional<CachedBuild> BuildCache::Get(const std::string& key) {
  MutexLock lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  entries_.splice(entries_.begin(), entries_, it->second);
  return it->second->second;
}

void BuildCache::Put(const std::string& key, CachedBuild build) {
  const size_t size = SizeOf(key, build);
  MutexLock lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= SizeOf(it->first, it->second->second);
    entries_.erase(it->second);
    index_.erase(it);
  }
  // One entry may not take more than an eighth: a single huge build would evict every tenant's.
  if (size > max_bytes_ / 8) return;
  entries_.emplace_front(key, std::move(build));
  index_[key] = entries_.begin();
  bytes_ += size;
  while (bytes_ > max_bytes_ && !entries_.empty()) {
    auto& last = entries_.back();
    bytes_ -= SizeOf(last.first, last.second);
    index_.erase(last.first);
    entries_.pop_back();
  }
}

size_t BuildCache::bytes() const {
  MutexLock lock(mu_);
  return bytes_;
}

KeyBuilder::KeyBuilder() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

KeyBuilder::~KeyBuilder() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

KeyBuilder& KeyBuilder::Add(const std::string& data) {
  const std::string length = std::to_string(data.size()) + ":";
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), length.data(), length.size());
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  return *this;
}

std::string KeyBuilder::Hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest, &len);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    out += buf;
  }
  return out;
}

}  // namespace plumbline::render
