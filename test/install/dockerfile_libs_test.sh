#!/usr/bin/env bash
# The Dockerfile's runtime image installs exactly the Debian packages that the binary links
# against: every shared library build/plumbline needs directly (readelf -d, NEEDED) comes from a
# package (ldd to find the file, dpkg -S to find its package) that the final stage's
# `apt-get install` lists, and every package listed there (ca-certificates and gpgv aside: data,
# and a program the controller runs) provides one of those libraries. Libraries those libraries need come with their
# packages' dependencies.
#
#   test/install/dockerfile_libs_test.sh [PLUMBLINE_BINARY]   (default: build/plumbline)
#
# Run on the build machine (Debian, the same release as the image): it asks dpkg where each
# library came from.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-$root/build/plumbline}
dockerfile=$root/Dockerfile

fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$binary" ] || fail "$binary is not an executable: build it first (hack/build.sh)"
[ -f "$dockerfile" ] || fail "no Dockerfile at the repository root"
for tool in readelf ldd dpkg; do
  command -v "$tool" >/dev/null || fail "needs $tool"
done

# The packages of the final stage's `apt-get install` commands: continuation lines joined,
# comment lines dropped, options and version pins (pkg=1.0) left out.
listed=$(
  awk '
    /^[[:space:]]*#/ { next }
    { line = line $0 }
    /\\[[:space:]]*$/ { sub(/\\[[:space:]]*$/, " ", line); next }
    { print line; line = "" }
  ' "$dockerfile" |
  awk '/^[[:space:]]*FROM[[:space:]]/ { stage = "" } { stage = stage $0 "\n" } END { printf "%s", stage }' |
  awk '/^[[:space:]]*RUN[[:space:]]/ {
    n = split($0, words, /[[:space:]]+/)
    for (i = 1; i <= n; i++) {
      if (words[i] == "apt-get" && words[i + 1] == "install") {
        for (j = i + 2; j <= n; j++) {
          if (words[j] ~ /^(&&|;|\|\||\|)$/ || words[j] ~ /;$/) break
          if (words[j] == "" || words[j] ~ /^-/) continue
          sub(/=.*/, "", words[j]); print words[j]
        }
      }
    }
  }' | sort -u
)
[ -n "$listed" ] || fail "found no 'apt-get install' in the final stage of the Dockerfile"

# The package that installed a library file. ldd reports /lib/... paths, but on a merged-/usr
# system dpkg may know the file as /usr/lib/... (or the other way round).
package_of() {
  local path=$1 candidate out
  for candidate in "$path" "/usr$path" "${path#/usr}"; do
    [ -n "$candidate" ] || continue
    if out=$(dpkg -S "$candidate" 2>/dev/null); then
      # "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3" -> libssl3
      echo "${out%%:*}" | head -n 1
      return 0
    fi
  done
  return 1
}

needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf -d $binary lists no NEEDED libraries (a static binary?)"
ldd_out=$(ldd "$binary")

declare -A package_libs=()
for lib in $needed; do
  path=$(awk -v lib="$lib" '$1 == lib && $2 == "=>" { print $3 }' <<<"$ldd_out")
  [ -n "$path" ] && [ "$path" != "not" ] || fail "ldd cannot find $lib, which $binary needs"
  pkg=$(package_of "$path") || fail "no Debian package owns $path ($lib)"
  package_libs[$pkg]="${package_libs[$pkg]:-}${package_libs[$pkg]:+ }$lib"
done

problems=()
for pkg in $(printf '%s\n' "${!package_libs[@]}" | sort); do
  if ! grep -qxF "$pkg" <<<"$listed"; then
    problems+=("$pkg (provides ${package_libs[$pkg]}) is not installed by the Dockerfile")
  fi
done
for pkg in $listed; do
  # Not libraries: CA certificates are data, gpgv a program the controller runs (spec.verify).
  case $pkg in ca-certificates | gpgv) continue ;; esac
  if [ -z "${package_libs[$pkg]:-}" ]; then
    problems+=("$pkg is installed by the Dockerfile but provides no library the binary needs")
  fi
done

if [ ${#problems[@]} -gt 0 ]; then
  echo "FAIL: the Dockerfile's runtime packages do not match what $(basename "$binary") links against:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  echo "Needed libraries by package:" >&2
  for pkg in $(printf '%s\n' "${!package_libs[@]}" | sort); do
    echo "  $pkg: ${package_libs[$pkg]}" >&2
  done
  exit 1
fi
echo "PASS: the Dockerfile installs exactly the ${#package_libs[@]} packages of the libraries" \
  "$(basename "$binary") needs, plus ca-certificates and gpgv"
