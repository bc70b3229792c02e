// Text that leaves the process (status, Events, logs, CLI output) made safe to show: credentials
// in URLs removed, bytes that are not UTF-8 replaced. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"

namespace plumbline {

// Replaces the userinfo of every URL in `text` with "***": "https://user:token@host/x" becomes
// "https://***@host/x". A userinfo without a password is kept only for ssh (ssh://git@host/x),
// where it is a login name; for any other scheme a lone userinfo may be a token
// (https://TOKEN@host), so it goes too. Text without "://" is returned unchanged.
std::string RedactUrls(std::string_view text);

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// `text` with each byte that does not begin or continue a well-formed sequence replaced by
// U+FFFD; valid text is returned unchanged.
std::string ValidUtf8(std::string_view text);

// What any message shown to people goes through: RedactUrls, then ValidUtf8.
inline std::string SafeText(std::string_view text) { return ValidUtf8(RedactUrls(text)); }

// Applies SafeText to every string (and object key) in `value`, in place.
void MakeSafe(Json* value);

// The JSON path ("data.color", "items[2]") of the first string or key in `value` that is not
// UTF-8, or nullopt when all are.
std::optional<std::string> FindInvalidUtf8(const Json& value);

}  // namespace plumbline
