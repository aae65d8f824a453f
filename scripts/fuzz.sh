#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan, in
# build-fuzz/) and runs each for SECONDS (default 30) from its seed corpus,
# with allocations capped just above the documented image limit (4 GiB of
# samples). New inputs go to a scratch folder, never into the seeds. Exits
# non-zero, naming the crashing input, when a target fails.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   targets: jpeg png pnm stream rig manifest pfm calib ops csv
#   FUZZ_WORK=DIR keeps the grown corpora and any crash in DIR (long runs).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-30}
shift || true
TARGETS=${*:-jpeg png pnm stream rig manifest pfm calib ops csv}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DTSR_FUZZ=ON -DTSR_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2046
cmake --build build-fuzz -j"$(nproc)" --target $(printf 'fuzz_%s ' $TARGETS) >/dev/null
work=${FUZZ_WORK:-$(mktemp -d)}
failed=0
for t in $TARGETS; do
  mkdir -p "$work/$t"
  log="$work/$t.log"
  rc=0
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$SECS" -malloc_limit_mb=4200 -rss_limit_mb=6000 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$work/$t-" "$work/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if [ "$rc" -ne 0 ]; then
    failed=1
    echo "fuzz_$t: FAILED after $runs inputs (exit $rc); log $log, input: $(ls "$work/$t-"* 2>/dev/null | head -1)"
    grep -E '==[0-9]+==ERROR|SUMMARY|runtime error' "$log" | head -5 || true
  else
    echo "fuzz_$t: $runs inputs in ${SECS} s, no crash"
  fi
done
[ -z "${FUZZ_WORK:-}" ] && [ "$failed" -eq 0 ] && rm -rf "$work"
exit "$failed"
