#!/usr/bin/env bash
# Scale benchmark (on demand, never in CI): Plumbline against the physical limit. For each size
# (100, 300 and 1,000 Applications x 10 objects by default) it starts a fresh local control
# plane, measures the raw limit (a plain client applying the same objects with server-side apply
# at high concurrency, as fast as the API server takes them), then runs `plumbline run` and
# prints, one column per size: time to all Ready and its ratio to the raw limit, requests per
# app, controller CPU, RSS and peak RSS, idle requests per minute and per reconcile, and the
# cost of a restart over unchanged objects (requests and writes).
#
#   hack/bench/scale.sh [--sizes 100,300,1000] [--idle-seconds 180] [--raw-concurrency 32]
#                       [--keep-tmp] [-- extra plumbline run flags]
#
# It measures and asserts nothing. The driver is scale.py beside this script. It does not build
# Plumbline: run hack/build.sh first.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

for arg in "$@"; do
  case "$arg" in
    --) break ;;  # what follows is for plumbline run
    -h|--help) exec python3 "$root/hack/bench/scale.py" --help ;;
  esac
done

if [ ! -x "$root/build/plumbline" ]; then
  echo "scale: $root/build/plumbline not found; build it first with hack/build.sh" >&2
  exit 1
fi
for tool in python3 git openssl curl; do
  command -v "$tool" >/dev/null || { echo "scale: needs $tool on PATH" >&2; exit 1; }
done

bin=$("$root/hack/build-control-plane.sh" --with-kubectl | tail -n 1)
for b in kube-apiserver etcd kubectl; do
  [ -x "$bin/$b" ] ||
    { echo "scale: $bin/$b missing after hack/build-control-plane.sh" >&2; exit 1; }
done

exec python3 "$root/hack/bench/scale.py" --root "$root" --bin-dir "$bin" "$@"
