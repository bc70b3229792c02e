// Fuzz target: webhook signature checking (webhook/signature.h). Random headers, secrets and
// bodies must never crash; a signature we compute ourselves must always verify, and a changed
// one never; constant-time equality must agree with ordinary equality.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "webhook/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plumbline::webhook;
  FuzzedDataProvider in(data, size);
  const std::string header = in.ConsumeRandomLengthString(128);
  const std::string secret = in.ConsumeRandomLengthString(64);
  const std::string body = in.ConsumeRemainingBytesAsString();
  ValidSha256Signature(header, secret, body);
  if (ConstantTimeEquals(header, secret) != (header == secret)) __builtin_trap();
  const std::string good = "sha256=" + HmacSha256Hex(secret, body);
  if (!ValidSha256Signature(good, secret, body)) __builtin_trap();
  std::string bad = good;
  bad.back() = bad.back() == '0' ? '1' : '0';
  if (ValidSha256Signature(bad, secret, body)) __builtin_trap();
  if (ValidSha256Signature(good, secret, body + "x")) __builtin_trap();
  return 0;
}
