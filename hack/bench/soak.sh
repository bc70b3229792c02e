#!/usr/bin/env bash
# Soak benchmark (on demand, never in CI): runs `plumbline run` against a local control plane
# for a long time while commits, live edits (drift) and connection resets keep arriving, then
# checks that the cluster converged to git and reports memory, CPU and convergence times.
#
#   hack/bench/soak.sh [--duration SECONDS] [--apps N] [--seed SEED] [--keep-tmp]
#
# Defaults: 3600 s, 100 Applications. Exits 1 when, at the end, an object is lost or wrongly
# present, or an Application is not at the repository's HEAD. The driver is soak.py beside this
# script. It does not build Plumbline: run hack/build.sh first.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

for arg in "$@"; do
  case "$arg" in
    -h|--help) exec python3 "$root/hack/bench/soak.py" --help ;;
  esac
done

if [ ! -x "$root/build/plumbline" ]; then
  echo "soak: $root/build/plumbline not found; build it first with hack/build.sh" >&2
  exit 1
fi
for tool in python3 git openssl curl; do
  command -v "$tool" >/dev/null || { echo "soak: needs $tool on PATH" >&2; exit 1; }
done

bin=$("$root/hack/build-control-plane.sh" --with-kubectl | tail -n 1)
for b in kube-apiserver etcd kubectl; do
  [ -x "$bin/$b" ] || { echo "soak: $bin/$b missing after hack/build-control-plane.sh" >&2; exit 1; }
done

exec python3 "$root/hack/bench/soak.py" --root "$root" --bin-dir "$bin" "$@"
