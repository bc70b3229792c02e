#!/usr/bin/env bash
# Benchmarks (on demand, not in CI): API requests per unchanged reconcile, drift latency over 20
# live edits, and the controller's resident memory per 1,000 managed objects. Each starts its own
# control plane (hack/local-cluster.sh); results are printed as tables.
#
#   hack/bench/run.sh [drift|rss|process]...     (default: all)
#
# process: webhook push-to-applied latency over 20 pushes, and leader takeover after SIGKILL with
# the shipped lease settings.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/hack/install-deps.sh" >/dev/null
"$root/hack/build-control-plane.sh" --with-controller-manager >/dev/null
cmake -S "$root" -B "$root/build" -DPLUMBLINE_BUILD_TESTS=ON >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target plumbline drift_bench rss_bench process_bench >/dev/null

which=("$@")
[ ${#which[@]} -gt 0 ] || which=(drift rss process)
for b in "${which[@]}"; do
  case "$b" in
    drift) "$root/build/test/drift_bench" 2>/dev/null | grep -v '^\[' ;;
    rss) "$root/build/test/rss_bench" 2>/dev/null | grep -v '^\[' ;;
    process) "$root/build/test/process_bench" 2>/dev/null | grep -v '^\[' ;;
    *) echo "unknown benchmark: $b (drift, rss or process)" >&2; exit 2 ;;
  esac
done
