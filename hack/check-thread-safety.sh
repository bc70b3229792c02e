#!/usr/bin/env bash
# Proves the locking of controller/ with clang's thread-safety analysis: every member marked
# GUARDED_BY is touched only with its mutex held, and every REQUIRES/EXCLUDES is honoured
# (common/mutex.h). The build compiles with GCC, which ignores the annotations, so this pass
# parses each controller source once more with clang (-fsyntax-only: no code is generated),
# with the flags of BUILD_DIR/compile_commands.json.
#
#   hack/check-thread-safety.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
clang=${CLANGXX:-clang++}
command -v "$clang" >/dev/null || { echo "check-thread-safety: $clang not found (hack/install-deps.sh installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# nlohmann/json is most of the parsing: precompile it once, for clang.
echo '#include <nlohmann/json.hpp>' > "$work/pch.h"
"$clang" -std=c++20 -x c++-header "$work/pch.h" -o "$work/pch.h.pch"

# One line per controller source: its -I/-D/-isystem flags, then the file.
python3 - "$build/compile_commands.json" "$root/controller/" > "$work/units" <<'PY'
import json, shlex, sys
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = entry["file"]
    if not path.startswith(sys.argv[2]) or path in seen:
        continue
    seen.add(path)
    args = shlex.split(entry["command"])
    keep, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("-I", "-D", "-isystem"):
            keep += [a, args[i + 1]]
            i += 2
            continue
        if a.startswith(("-I", "-D", "-isystem")):
            keep.append(a)
        i += 1
    print(" ".join(shlex.quote(k) for k in keep + [path]))
PY

check() {
  # shellcheck disable=SC2086
  eval "\"$clang\" -std=c++20 -fsyntax-only \
    -Wno-everything -Wthread-safety -Werror=thread-safety -include-pch \"$work/pch.h.pch\" $1"
}
export -f check
export clang work
count=$(wc -l < "$work/units")
expected=$(cd "$root" && git ls-files 'controller/*.cc' | wc -l)
if [ "$count" -ne "$expected" ]; then
  echo "check-thread-safety: $count controller sources in $build/compile_commands.json, $expected in git: configure the build first" >&2
  exit 1
fi
if ! xargs -P "$(nproc)" -d '\n' -I{} bash -c 'check "$@"' _ {} < "$work/units"; then
  echo "check-thread-safety: a source above breaks its locking annotations, or does not parse with clang" >&2
  exit 1
fi
echo "check-thread-safety: $count sources, no violation"
