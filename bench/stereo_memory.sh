#!/usr/bin/env bash
# The large stereo case: a synthetic 6000x4000 pair searched over 800
# disparities (bench/stereo_synth.py: wide in range, locally narrow), matched
# under a 1 GiB budget on the CPU backend, with and without guidance. Prints
# a markdown table: the tile grid, seconds, peak RSS (/usr/bin/time -v),
# bad-2 against the scene's ground truth.
#   bench/stereo_memory.sh [BUILD_DIR] [WxH] [NDISP] [BUDGET]
# Needs /usr/bin/time (Debian: time) and python3-opencv for the scene.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
size=${2:-6000x4000}
ndisp=${3:-800}
budget=${4:-1G}
w=${size%x*}
h=${size#*x}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
/usr/bin/python3 bench/stereo_synth.py "$scratch/scene" "$w" "$h" "$ndisp" >&2
echo "| run | tiles | tile core | cells (G) | seconds | peak RSS (MiB) | bad-2 % | invalid % |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for guide in "" "--guide"; do
  /usr/bin/time -v "$build/tessera" stereo "$scratch/scene/im0.png" "$scratch/scene/im1.png" -o "$scratch/d.pfm" \
    --ndisp "$ndisp" --mem-budget "$budget" --device cpu --json $guide >"$scratch/out.json" 2>"$scratch/time.txt"
  rss=$(awk -F: '/Maximum resident/ {print int($2 / 1024)}' "$scratch/time.txt")
  "$build/tessera" stereo-eval "$scratch/d.pfm" "$scratch/scene/disp0GT.pfm" --json >"$scratch/eval.json"
  python3 - "$scratch/out.json" "$scratch/eval.json" "$rss" "${guide:-full range}" <<'EOF'
import json, sys
o, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("| %s | %dx%d | %dx%d | %.2f | %.1f | %s | %.2f | %.2f |" % (
    sys.argv[4], o["tiles_x"], o["tiles_y"], o["core_w"], o["core_h"], o["cells"] / 1e9, o["seconds"],
    sys.argv[3], e["bad2"], e["invalid"]))
EOF
done
echo
echo "$size, $ndisp disparities, --mem-budget $budget, $(nproc) threads, $(date -u +%Y-%m-%d)"
