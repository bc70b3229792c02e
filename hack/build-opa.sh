#!/usr/bin/env bash
# Builds OPA (github.com/open-policy-agent/opa) from the Go module proxy at the version pinned in
# hack/versions.env, into a cache directory outside the repo, and prints its path. The tests run it
# as the policy server the controller asks, and CI runs `opa test deploy/policies` with it. A binary
# already in the cache is not rebuilt.
#
#   hack/build-opa.sh [--print-env]
#
# With --print-env, prints PLUMBLINE_OPA=... instead (what the tests read).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/plumbline
# Bump when the build recipe below changes, so a binary built by an older recipe is not reused.
recipe=1
bin_dir=$cache_root/bin/opa-$OPA_VERSION-r$recipe
bin=$bin_dir/opa

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "build-opa: needs Go (1.26 or newer) on PATH" >&2; exit 1; }
  mkdir -p "$bin_dir"
  echo "build-opa: building opa $OPA_VERSION" >&2
  work=$(mktemp -d "$cache_root/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init plumbline.local/opa >/dev/null 2>&1
    go get "github.com/open-policy-agent/opa@$OPA_VERSION" >&2
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
      -ldflags="-s -w -X github.com/open-policy-agent/opa/v1/version.Version=${OPA_VERSION#v}" \
      -o "$bin.tmp.$$" github.com/open-policy-agent/opa
    mv "$bin.tmp.$$" "$bin"  # atomic: a concurrent build may race us
  )
fi

case "${1:-}" in
  --print-env) echo "PLUMBLINE_OPA=$bin" ;;
  "") echo "$bin" ;;
  *) echo "usage: $0 [--print-env]" >&2; exit 2 ;;
esac
