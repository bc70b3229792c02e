// A stable 64-bit digest (FNV-1a) for telling "the same as before" apart from "changed", also
// across restarts and builds (std::hash promises neither). Not for security: whoever can shape
// the input (a tenant's git) gains nothing from a collision but not applying their own change.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace plumbline {

class Digest {
 public:
  // Adds `data`, then a separator, so that ("ab", "c") and ("a", "bc") differ.
  Digest& Add(std::string_view data);
  Digest& Add(uint64_t value);
  uint64_t value() const { return hash_; }
  // 16 lowercase hex digits.
  std::string Hex() const;

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;  // the FNV-1a offset basis
};

}  // namespace plumbline
