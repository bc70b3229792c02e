#!/usr/bin/env bash
# The example policies in deploy/policies, with the OPA pinned in hack/versions.env
# (hack/build-opa.sh builds it the first time: Go and the module proxy): their own test cases
# (`opa test`), `opa check --strict`, and `opa fmt` (the files are as it formats them).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
policies=$root/deploy/policies

opa=$("$root/hack/build-opa.sh" | tail -n 1)

echo "--- opa check --strict deploy/policies"
"$opa" check --strict "$policies"

echo "--- opa fmt deploy/policies"
if ! "$opa" fmt --list --fail "$policies"; then
  echo "FAIL: not formatted as opa fmt does (fix: opa fmt -w deploy/policies)" >&2
  exit 1
fi

echo "--- opa test deploy/policies"
# `opa test` passes when it finds no test at all: make sure some ran.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$opa" test --verbose "$policies" | tee "$out"
grep -Eq '^PASS: [1-9][0-9]*/[1-9]' "$out" || { echo "FAIL: opa test ran no test" >&2; exit 1; }
