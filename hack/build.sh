#!/usr/bin/env bash
# Configures and builds Plumbline: the binary lands at BUILD_DIR/plumbline (default build/).
# The same script builds CI's binary and the container image's.
#
#   hack/build.sh [--sanitize] [--no-tests] [--build-dir DIR]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build
sanitize=OFF
tests=ON
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize=ON; build_dir=$root/build-sanitize; shift ;;
    --no-tests) tests=OFF; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    *) echo "usage: $0 [--sanitize] [--no-tests] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPLUMBLINE_SANITIZE="$sanitize" -DPLUMBLINE_BUILD_TESTS="$tests" -DPLUMBLINE_WERROR=ON >/dev/null
# Two cores: keep the compile jobs to what the machine has.
cmake --build "$build_dir" -j "$(nproc)"
