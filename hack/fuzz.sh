#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz) with clang into build-fuzz/ and runs them.
#
#   hack/fuzz.sh TARGET [SECONDS]   run one target (default 60 s)
#   hack/fuzz.sh all [SECONDS]      run every target in turn, SECONDS each
#   hack/fuzz.sh list               name the targets
#
# Targets: yaml render webhook signature kubeconfig watch sshsig. Each starts from the seed
# corpus in test/fuzz/corpus/TARGET; what it learns goes to build-fuzz/corpus/TARGET (kept
# between runs, never into the repository). Any crash, leak, sanitizer report, timeout (10 s for
# one input) or out-of-memory (2 GiB) fails the run; the input that did it is kept in
# build-fuzz/artifacts/TARGET/ and reproduced with `build-fuzz/TARGET_fuzz FILE`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
targets=(yaml render webhook signature kubeconfig watch sshsig chatops)
build=$root/build-fuzz

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
what=$1
seconds=${2:-60}
[[ $seconds =~ ^[0-9]+$ ]] || usage
if [ "$what" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [ "$what" = all ]; then
  run=("${targets[@]}")
else
  found=0
  for t in "${targets[@]}"; do [ "$t" = "$what" ] && found=1; done
  [ $found = 1 ] || { echo "fuzz: unknown target '$what' (one of: ${targets[*]}, all)" >&2; exit 2; }
  run=("$what")
fi

command -v clang++ >/dev/null || { echo "fuzz: clang++ missing: run hack/install-deps.sh" >&2; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ cmake -S "$root/test/fuzz" -B "$build" -G Ninja >/dev/null
fi
jobs=${FUZZ_BUILD_JOBS:-$(nproc)}
cmake --build "$build" -j "$jobs" --target "${run[@]/%/_fuzz}"

passed=0
failed=0
for t in "${run[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  echo "fuzz: $t for ${seconds}s"
  log=$build/$t.log
  # -rss_limit_mb bounds one process; -timeout one input. UBSan and ASan stop at the first
  # report; LeakSanitizer runs after every input that allocated.
  set +e
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    "$build/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
      "$build/corpus/$t" "$root/test/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc) after ${execs:-?} executions; log: $log" >&2
    grep -m1 -A30 -E 'ERROR: |runtime error|==ERROR|deadly signal|timeout|out-of-memory' "$log" >&2 || tail -40 "$log" >&2
    ls "$build/artifacts/$t/" >&2
    failed=$((failed + 1))
  else
    echo "fuzz: $t ok, ${execs:-?} executions, corpus $(ls "$build/corpus/$t" | wc -l) inputs"
    passed=$((passed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed = 0 ]
