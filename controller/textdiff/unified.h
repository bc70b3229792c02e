// Unified diffs of text, line by line, as `diff -u` prints them (hunks with three lines of
// context). For `plumbline diff`. Pure functions; thread-safe.
#pragma once

#include <string>

namespace plumbline::textdiff {

// The hunks turning `before` into `after` ("" when they are equal), without file headers.
std::string Unified(const std::string& before, const std::string& after, int context = 3);

}  // namespace plumbline::textdiff
