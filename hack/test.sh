#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: unit tests, and integration tests
# against a real kube-apiserver + etcd (hack/local-cluster.sh, one control plane per test binary).
#
#   hack/test.sh [--sanitize] [ctest args...]
#
# --sanitize builds with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_args=()
build_dir=$root/build
if [ "${1:-}" = --sanitize ]; then
  build_args+=(--sanitize)
  build_dir=$root/build-sanitize
  shift
fi

"$root/hack/install-deps.sh"
# Build (or find in the cache) the pinned control plane before the tests need it.
"$root/hack/build-control-plane.sh" --with-controller-manager --with-kubectl >/dev/null
"$root/hack/build-render-tools.sh" >/dev/null
"$root/hack/build-opa.sh" >/dev/null
"$root/hack/build-otelcol.sh" >/dev/null
"$root/hack/build.sh" "${build_args[@]}"

cd "$build_dir"
exec ctest --output-on-failure --timeout 1200 -j "$(nproc)" "$@"
