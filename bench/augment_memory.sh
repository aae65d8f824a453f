#!/bin/bash
# Peak RSS of tessera augment against the number of inputs: 100 and 1,000
# images, 10 and 100 videos (copies of the bundled photos and clip under
# distinct names), the same ops, 2 threads. The issue asks for flat memory
# (within 10 %). Usage: bench/augment_memory.sh [build/tessera] [scratch dir]
set -euo pipefail
T=${1:-build/tessera}
W=${2:-$(mktemp -d)}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OPS="rrc(size=224); hflip; jitter(brightness=0.4,contrast=0.4,saturation=0.4,hue=0.1)"
mkdir -p "$W"
make_images() { # N: N JPEGs in two labels, from the bundled earth photo
  local n=$1 d="$W/img$1"
  [ -d "$d" ] && return
  mkdir -p "$d/a" "$d/b"
  for i in $(seq 1 "$n"); do cp "$HERE/tests/data/earth_2048x1024.jpg" "$d/$([ $((i % 2)) = 0 ] && echo a || echo b)/e$i.jpg"; done
}
make_videos() {
  local n=$1 d="$W/vid$1"
  [ -d "$d" ] && return
  mkdir -p "$d"
  for i in $(seq 1 "$n"); do cp "$HERE/tests/data/clip_h264.mp4" "$d/c$i.mp4"; done
}
rss() { # inputs... -> peak RSS in MiB
  rm -rf "$W/out"
  "$T" augment "$@" -o "$W/out" --seed 1 --copies 2 --frames 6 --ops "$OPS" --threads 2 --device cpu --json |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.1f %d %.2f" % (j["peak_rss_bytes"]/1048576, j["outputs"], j["seconds"]))'
}
printf '| inputs | outputs | seconds | peak RSS (MiB) |\n| --- | ---: | ---: | ---: |\n'
for n in 100 1000; do make_images $n; read -r m o s < <(rss "$W/img$n"); echo "| $n images (2048x1024 JPEG) | $o | $s | $m |"; done
for n in 10 100; do make_videos $n; read -r m o s < <(rss "$W/vid$n"); echo "| $n videos (320x160 H.264, 300 frames) | $o | $s | $m |"; done
