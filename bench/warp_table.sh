#!/usr/bin/env bash
# The split's ms per view for every interpolation with and without
# antialiasing at three view sizes (ring8), on each device named, against
# the default (bilinear, antialiasing on, 1920x1080) of the same device, in
# one run: each cell is the median of REPEAT runs of the split of FRAMES
# copies of the bundled 8K frame (wall time from --stats, plan included),
# beside the warp's own time (pyramid and sampling, without decode, plan
# and encode), and beside the codec floor of the view size. The last
# column is the option's own cost: the cell's ms/view above its size's
# codec floor, per output pixel, plus the default's codec floor per output
# pixel, against the default (so a size whose decode costs more per output
# pixel than the default's is not charged for it).
#   bench/warp_table.sh [build/tessera] [devices...]    (default: cpu cl)
# REPEAT (3) and FRAMES (8) from the environment. Prints a Markdown table.
set -euo pipefail
T=${1:-build/tessera}
shift || true
DEVICES=${*:-cpu cl}
REPEAT=${REPEAT:-3}
FRAMES=${FRAMES:-8}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
for i in $(seq 1 "$FRAMES"); do cp "$here/data/pano8k.jpg" "$work/in/f$i.jpg"; done

# The codec floor of a view size: the median ms/view of the same split with
# --copy-only (decode, a copy of the view's pixels, encode: no warp, no
# plan), which no sampling option can go below.
floor_ms() {
  local dev=$1 size=$2 aa=$3 walls=() r
  for r in $(seq 1 "$REPEAT"); do
    rm -rf "$work/out"
    "$T" --device "$dev" split "$work/in" -o "$work/out" --size "$size" $aa --copy-only --quiet --stats "$work/st.json"
    walls+=("$(python3 -c "import json; d = json.load(open('$work/st.json')); print('%.1f' % (1e3 * d['seconds']['wall'] / d['views_written']))")")
  done
  median "${walls[@]}"
}

# "ms/view warp-ms/view" of one configuration: the medians of REPEAT runs
# of the wall time and of the warp's own time (the warp stage summed over
# its threads plus, on OpenCL, the kernels' device time).
cell() {
  local dev=$1 size=$2 interp=$3 aa=$4 walls=() warps=() r
  for r in $(seq 1 "$REPEAT"); do
    rm -rf "$work/out"
    "$T" --device "$dev" split "$work/in" -o "$work/out" --size "$size" --interp "$interp" $aa --quiet \
      --stats "$work/st.json"
    read -r a b < <(python3 -c "import json; d = json.load(open('$work/st.json')); s = d['seconds']; n = d['views_written']; print('%.1f %.2f' % (1e3 * s['wall'] / n, 1e3 * (s['warp'] + s['kernel']) / n))")
    walls+=("$a")
    warps+=("$b")
  done
  echo "$(median "${walls[@]}") $(median "${warps[@]}")"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm the kernel cache and the page cache.
for dev in $DEVICES; do "$T" --device "$dev" split "$work/in/f1.jpg" -o "$work/warm" --quiet >/dev/null; done
echo "| device | size | interp | antialiasing | ms/view | per output pixel vs default | warp ms/view | warp per output pixel vs default | codec floor ms/view | codec floor per output pixel vs default | above the size's codec floor, per output pixel, on the default's floor, vs default |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for dev in $DEVICES; do
  read -r base wbase < <(cell "$dev" 1920x1080 bilinear "")
  bfl=$(floor_ms "$dev" 1920x1080 "")
  for size in 1920x1080 1600x900 960x540; do
    px=$(( ${size%x*} * ${size#*x} ))
    for aa in "" "--no-aa"; do
      fl=$(floor_ms "$dev" "$size" "$aa")
      fratio=$(python3 -c "print(f'{($fl / $px) / ($base / (1920 * 1080)):.2f}')")
      for interp in nearest bilinear bicubic lanczos3; do
        if [ "$size$interp$aa" = 1920x1080bilinear ]; then ms=$base wms=$wbase; else read -r ms wms < <(cell "$dev" "$size" "$interp" "$aa"); fi
        ratio=$(python3 -c "print(f'{($ms / $px) / ($base / (1920 * 1080)):.2f}')")
        wratio=$(python3 -c "print(f'{($wms / $px) / ($wbase / (1920 * 1080)):.2f}')")
        nratio=$(python3 -c "b = 1920 * 1080; print(f'{(($ms - $fl) / $px + $bfl / b) / ($base / b):.2f}')")
        echo "| $dev | $size | $interp | $([ -z "$aa" ] && echo on || echo off) | $ms | $ratio | $wms | $wratio | $fl | $fratio | $nratio |"
      done
    done
  done
done
