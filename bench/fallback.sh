#!/usr/bin/env bash
# A device that fails from the start costs the CPU backend's speed, not
# more: 16 frames of 2048x1024 -> ring8 with every device allocation above
# 5 MB failing (TESSERA_FAULT_ALLOC_ABOVE=5M --device cl), against the same
# job with --device cpu. Runs alternate; medians of N (default 5); target
# ratio <= 1.3.
#
#   bench/fallback.sh [TESSERA (build/tessera)] [N (5)] [DEVICE (cl)]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/tessera}
n=${2:-5}
dev=${3:-cl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/in"
for i in $(seq -w 1 16); do cp tests/data/earth_2048x1024.jpg "$work/in/f$i.jpg"; done

run() { # device, fault -> seconds
  rm -rf "$work/out"
  local t0 t1
  t0=$(date +%s.%N)
  TESSERA_FAULT_ALLOC_ABOVE=$2 "$bin" split "$work/in" -o "$work/out" --device "$1" -q --stats "$work/s.json" 2>/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

: >"$work/fb"
: >"$work/cpu"
for _ in $(seq "$n"); do
  run "$dev" 5M >>"$work/fb"
  grep -Eq '"fell_back_to_cpu":[[:space:]]*true' "$work/s.json" || { echo "fallback.sh: the device did not fail as injected" >&2; exit 1; }
  run cpu 0 >>"$work/cpu"
done
fb=$(median <"$work/fb")
cpu=$(median <"$work/cpu")
printf 'forced fallback (%s, TESSERA_FAULT_ALLOC_ABOVE=5M): %.2f s (median of %d; runs: %s)\n' "$dev" "$fb" "$n" "$(tr '\n' ' ' <"$work/fb")"
printf -- '--device cpu:                                   %.2f s (median of %d; runs: %s)\n' "$cpu" "$n" "$(tr '\n' ' ' <"$work/cpu")"
printf 'ratio: %.2f (target <= 1.3)\n' "$(awk -v a="$fb" -v b="$cpu" 'BEGIN {print a / b}')"
