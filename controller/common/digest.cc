#include "common/digest.h"

namespace plumbline {
namespace {

constexpr uint64_t kPrime = 0x100000001b3ULL;

uint64_t Mix(uint64_t hash, unsigned char byte) { return (hash ^ byte) * kPrime; }

}  // namespace

Digest& Digest::Add(std::string_view data) {
  for (char c : data) hash_ = Mix(hash_, static_cast<unsigned char>(c));
  hash_ = Mix(hash_, 0xff);  // never in UTF-8 text, so the end of one part is unambiguous
  return *this;
}

Digest& Digest::Add(uint64_t value) {
  for (int i = 0; i < 8; ++i) hash_ = Mix(hash_, static_cast<unsigned char>(value >> (8 * i)));
  return *this;
}

std::string Digest::Hex() const {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) out[15 - i] = kDigits[(hash_ >> (4 * i)) & 0xf];
  return out;
}

}  // namespace plumbline
