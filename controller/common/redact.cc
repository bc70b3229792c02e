#include "common/redact.h"

#include <cctype>

namespace plumbline {
namespace {

bool SchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// Where a URL's authority ends in running text. Deliberately few stops: a password may hold
// ',' or ')', and cutting it short would leave its tail in the text.
bool EndsAuthority(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' ||
         c == '<' || c == '>' || c == '\\' || c == '`';
}

bool IsSshScheme(std::string_view scheme) {
  std::string lower;
  for (char c : scheme) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "ssh" || lower == "git+ssh" || lower == "ssh+git";
}

// The length of the well-formed UTF-8 sequence at `s[i]`, or 0 when it is not one.
size_t SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

std::string Escape(const std::string& key) { return IsValidUtf8(key) ? key : ValidUtf8(key); }

std::optional<std::string> FindInvalid(const Json& value, const std::string& path) {
  if (value.is_string()) {
    if (!IsValidUtf8(value.get_ref<const std::string&>())) return path.empty() ? "(value)" : path;
    return std::nullopt;
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (auto found = FindInvalid(value[i], path + "[" + std::to_string(i) + "]")) return found;
    }
    return std::nullopt;
  }
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string child = path.empty() ? Escape(it.key()) : path + "." + Escape(it.key());
      if (!IsValidUtf8(it.key())) return child + " (its key)";
      if (auto found = FindInvalid(it.value(), child)) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string RedactUrls(std::string_view text) {
  std::string out;
  size_t copied = 0;  // text[0, copied) is in `out`
  size_t search = 0;
  while (true) {
    const size_t sep = text.find("://", search);
    if (sep == std::string_view::npos) break;
    search = sep + 3;
    size_t scheme_start = sep;
    while (scheme_start > 0 && SchemeChar(text[scheme_start - 1])) --scheme_start;
    if (scheme_start == sep || !std::isalpha(static_cast<unsigned char>(text[scheme_start]))) {
      continue;
    }
    const size_t auth_start = sep + 3;
    size_t auth_end = auth_start;
    while (auth_end < text.size() && !EndsAuthority(text[auth_end])) ++auth_end;
    const std::string_view authority = text.substr(auth_start, auth_end - auth_start);
    const size_t at = authority.rfind('@');
    search = auth_end;
    if (at == std::string_view::npos || at == 0) continue;
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo == "***") continue;
    if (userinfo.find(':') == std::string_view::npos &&
        IsSshScheme(text.substr(scheme_start, sep - scheme_start))) {
      continue;
    }
    out.append(text.substr(copied, auth_start - copied));
    out += "***";
    copied = auth_start + at;  // from the '@' on
  }
  if (copied == 0) return std::string(text);
  out.append(text.substr(copied));
  return out;
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ValidUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {
// Whether SafeText could change `s`; cheap, without copying (a status holds many strings).
bool MaybeUnsafe(const std::string& s) {
  return s.find("://") != std::string::npos || !IsValidUtf8(s);
}
}  // namespace

void MakeSafe(Json* value) {
  if (value->is_string()) {
    std::string& s = value->get_ref<std::string&>();
    if (MaybeUnsafe(s)) s = SafeText(s);
    return;
  }
  if (value->is_array()) {
    for (auto& item : *value) MakeSafe(&item);
    return;
  }
  if (!value->is_object()) return;
  bool keys_safe = true;
  for (auto it = value->begin(); it != value->end(); ++it) {
    keys_safe &= !MaybeUnsafe(it.key()) || SafeText(it.key()) == it.key();
    MakeSafe(&it.value());
  }
  if (keys_safe) return;
  Json rebuilt = Json::object();
  for (auto it = value->begin(); it != value->end(); ++it) rebuilt[SafeText(it.key())] = it.value();
  *value = std::move(rebuilt);
}

std::optional<std::string> FindInvalidUtf8(const Json& value) { return FindInvalid(value, ""); }

}  // namespace plumbline
