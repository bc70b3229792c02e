#!/usr/bin/env bash
# Benchmarks (on demand, not in CI): API requests per unchanged reconcile, drift latency over 20
# live edits, and the controller's resident memory per 1,000 managed objects. Each starts its own
# control plane (hack/local-cluster.sh); results are printed as tables.
#
#   hack/bench/run.sh [drift|rss]...     (default: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/hack/install-deps.sh" >/dev/null
"$root/hack/build-control-plane.sh" --with-controller-manager >/dev/null
cmake -S "$root" -B "$root/build" -DPLUMBLINE_BUILD_TESTS=ON >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target plumbline drift_bench rss_bench >/dev/null

which=("$@")
[ ${#which[@]} -gt 0 ] || which=(drift rss)
for b in "${which[@]}"; do
  case "$b" in
    drift) "$root/build/test/drift_bench" 2>/dev/null | grep -v '^\[' ;;
    rss) "$root/build/test/rss_bench" 2>/dev/null | grep -v '^\[' ;;
    *) echo "unknown benchmark: $b (drift or rss)" >&2; exit 2 ;;
  esac
done
