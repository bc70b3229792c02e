#include "chatops/slack.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "webhook/signature.h"

namespace plumbline::chatops {
namespace {

constexpr char kTimestampHeader[] = "x-slack-request-timestamp";
constexpr char kSignatureHeader[] = "x-slack-signature";
// Digits in a timestamp: seconds until year 33658, and far from int64 overflow.
constexpr size_t kMaxTimestampDigits = 12;

Error Refused(const std::string& why) { return Error(ErrorCode::kUnauthorized, why); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Status VerifySlackRequest(const std::string& signing_secret,
                          const std::map<std::string, std::string>& headers,
                          const std::string& body, std::chrono::system_clock::time_point now,
                          std::chrono::seconds window) {
  if (signing_secret.empty()) return Refused("no signing secret to verify with");
  auto ts = headers.find(kTimestampHeader);
  if (ts == headers.end() || ts->second.empty()) {
    return Refused("missing x-slack-request-timestamp header");
  }
  const std::string& timestamp = ts->second;
  if (timestamp.size() > kMaxTimestampDigits ||
      !std::all_of(timestamp.begin(), timestamp.end(),
                   [](unsigned char c) { return std::isdigit(c); })) {
    return Refused("x-slack-request-timestamp is not a number of seconds");
  }
  const int64_t sent = std::stoll(timestamp);
  const int64_t at =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const int64_t skew = sent > at ? sent - at : at - sent;
  if (skew > window.count()) {
    std::string message = "stale request: its timestamp is ";
    message += std::to_string(skew);
    message += sent > at ? " s ahead, past " : " s old, past ";
    message += std::to_string(window.count());
    message += " s";
    return Error(ErrorCode::kTimeout, message);
  }
  auto sig = headers.find(kSignatureHeader);
  if (sig == headers.end() || sig->second.empty()) {
    return Refused("missing x-slack-signature header");
  }
  constexpr char kPrefix[] = "v0=";
  if (sig->second.rfind(kPrefix, 0) != 0) {
    return Refused("x-slack-signature is not a v0= signature");
  }
  std::string given = sig->second.substr(sizeof(kPrefix) - 1);
  std::transform(given.begin(), given.end(), given.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const std::string expected =
      webhook::HmacSha256Hex(signing_secret, "v0:" + timestamp + ":" + body);
  if (!webhook::ConstantTimeEquals(given, expected)) {
    return Refused("signature does not match the body");
  }
  return Status::Ok();
}

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> form;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      std::string key = Decode(pair.substr(0, eq));
      std::string value = eq == std::string::npos ? "" : Decode(pair.substr(eq + 1));
      form.emplace(std::move(key), std::move(value));  // keeps the first
    }
    start = end + 1;
  }
  return form;
}

}  // namespace plumbline::chatops
