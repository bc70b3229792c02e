#include "textdiff/unified.h"

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <vector>

namespace plumbline::textdiff {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

enum class Op { kKeep, kDelete, kInsert };

// The edit script by longest common subsequence. Inputs past ~16M cells (manifests of thousands
// of lines on both sides) are shown as one replacement instead of spending the memory.
std::vector<Op> EditScript(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<Op> ops;
  if (n * m > (size_t{1} << 24)) {
    ops.insert(ops.end(), n, Op::kDelete);
    ops.insert(ops.end(), m, Op::kInsert);
    return ops;
  }
  // lcs[i][j]: LCS length of a[i..] and b[j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ops.push_back(Op::kKeep);
      ++i;
      ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      ops.push_back(Op::kInsert);
      ++j;
    } else {
      ops.push_back(Op::kDelete);
      ++i;
    }
  }
  // Deletions before insertions within a change, as diff -u prints them.
  for (size_t k = 0; k + 1 < ops.size(); ++k) {
    if (ops[k] == Op::kInsert && ops[k + 1] == Op::kDelete) {
      size_t end = k;
      while (end < ops.size() && ops[end] != Op::kKeep) ++end;
      std::stable_partition(ops.begin() + k, ops.begin() + end,
                            [](Op op) { return op == Op::kDelete; });
      k = end;
    }
  }
  return ops;
}

std::string Range(size_t start, size_t count) {
  // diff -u: a range of zero lines is named by the line before it.
  if (count == 0) return std::to_string(start) + ",0";
  if (count == 1) return std::to_string(start + 1);
  return std::to_string(start + 1) + "," + std::to_string(count);
}

}  // namespace

std::string Unified(const std::string& before, const std::string& after, int context) {
  const auto a = Lines(before);
  const auto b = Lines(after);
  const auto ops = EditScript(a, b);
  std::string out;
  const size_t c = static_cast<size_t>(std::max(context, 0));
  size_t k = 0;
  while (k < ops.size()) {
    if (ops[k] == Op::kKeep) {
      ++k;
      continue;
    }
    // A hunk: from `c` lines before this change to `c` lines after the last change that is
    // within 2c lines of the previous one.
    size_t start = k >= c ? k - c : 0;
    while (start < k && ops[start] != Op::kKeep) ++start;
    size_t end = k;
    size_t last_change = k;
    while (end < ops.size()) {
      if (ops[end] != Op::kKeep) last_change = end;
      if (end - last_change > 2 * c) break;
      ++end;
    }
    end = std::min(ops.size(), last_change + 1 + c);
    // Line numbers at `start`.
    size_t ai = 0, bi = 0;
    for (size_t x = 0; x < start; ++x) {
      if (ops[x] != Op::kInsert) ++ai;
      if (ops[x] != Op::kDelete) ++bi;
    }
    size_t a_count = 0, b_count = 0;
    std::string body;
    size_t ax = ai, bx = bi;
    for (size_t x = start; x < end; ++x) {
      switch (ops[x]) {
        case Op::kKeep:
          body += " " + a[ax++] + "\n";
          ++bx;
          ++a_count;
          ++b_count;
          break;
        case Op::kDelete:
          body += "-" + a[ax++] + "\n";
          ++a_count;
          break;
        case Op::kInsert:
          body += "+" + b[bx++] + "\n";
          ++b_count;
          break;
      }
    }
    out += "@@ -" + Range(ai, a_count) + " +" + Range(bi, b_count) + " @@\n" + body;
    k = end;
  }
  return out;
}

}  // namespace plumbline::textdiff
