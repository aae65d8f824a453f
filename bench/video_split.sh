#!/usr/bin/env bash
# Splitting one frame a second of a 4K 360° video: tessera reading the video
# itself (A) against ffmpeg writing JPEG frames that tessera then splits (B).
#
#   bench/video_split.sh [TESSERA [WORKDIR]]
#     TESSERA  the tessera binary (default: build/tessera)
#     WORKDIR  scratch folder (default: /tmp/tsr-video-bench); the clip made
#              there is kept and reused by later runs
#
# The clip: 60 s, 3840x1920, 30 fps, H.264 (libx264 veryfast, CRF 20, its
# default GOP of up to 250 frames), data/pano8k.jpg scrolling horizontally
# so every frame differs. TSR_BENCH_CLIP_SECONDS=2 makes a short one, only
# to try the script out.
#   A: tessera split CLIP --fps 1 -o A --stats A.json -q
#   B: ffmpeg -i CLIP -vf fps=1 -q:v 2 frames/%06d.jpg; tessera split frames -o B -q
# Each is run 3 times from empty output folders (a split resumes otherwise);
# the medians, their ratio, and the frames tessera decoded per frame it kept
# (from A.json's "video" object) are printed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TSR=${1:-build/tessera}
WORK=${2:-/tmp/tsr-video-bench}
REPS=3
CLIP_SECONDS=${TSR_BENCH_CLIP_SECONDS:-60}

die() { echo "video_split: $*" >&2; exit 1; }

# The binary: as given, else relative to the repository root.
if [[ ! -x $TSR && $TSR != /* && -x $ROOT/$TSR ]]; then TSR=$ROOT/$TSR; fi
[[ -x $TSR ]] || die "no tessera binary at '$TSR' (build it, or pass its path)"
TSR=$(cd "$(dirname "$TSR")" && pwd)/$(basename "$TSR")
command -v ffmpeg >/dev/null || die "ffmpeg not found (apt-get install ffmpeg)"
PANO=$ROOT/data/pano8k.jpg
[[ -f $PANO ]] || die "missing $PANO"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
CLIP=$WORK/pano4k_${CLIP_SECONDS}s.mp4
LOG=$WORK/log.txt
: >"$LOG"

# ---- the clip ------------------------------------------------------------
# The 8K frame is decoded and scaled once, then repeated in memory (loop
# filter) and scrolled 0.2% of the width per frame. Written under a
# temporary name, so an interrupted run never leaves a clip that looks done.
make_clip() {
  local frames=$((CLIP_SECONDS * 30)) tmp=$CLIP.part.mp4
  echo "making $CLIP (${CLIP_SECONDS} s, 3840x1920, 30 fps, H.264) ..."
  ffmpeg -nostdin -hide_banner -loglevel error -y -i "$PANO" \
    -vf "scale=3840:1920:flags=lanczos,loop=loop=$((frames - 1)):size=1:start=0,setpts=N/30/TB,scroll=horizontal=0.002,format=yuv420p" \
    -r 30 -frames:v "$frames" -c:v libx264 -preset veryfast -crf 20 -an -movflags +faststart "$tmp"
  mv "$tmp" "$CLIP"
}
if [[ -s $CLIP ]]; then echo "reusing $CLIP"; else make_clip; fi

# ---- timing ---------------------------------------------------------------
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# Runs a command with its output appended to the log; on failure shows the log's end.
run() {
  echo "+ $*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    die "failed: $*"
  fi
}

run_a() {
  rm -rf "$WORK/A" "$WORK/A.json"
  run "$TSR" split "$CLIP" --fps 1 -o "$WORK/A" --stats "$WORK/A.json" -q
}
run_b() {
  rm -rf "$WORK/B" "$WORK/frames"
  mkdir -p "$WORK/frames"
  run ffmpeg -nostdin -hide_banner -loglevel error -y -i "$CLIP" -vf fps=1 -q:v 2 "$WORK/frames/%06d.jpg"
  run "$TSR" split "$WORK/frames" -o "$WORK/B" -q
}

declare -a TA=() TB=()
for ((i = 1; i <= REPS; i++)); do
  t0=$(now); run_a; t1=$(now); run_b; t2=$(now)
  TA+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
  TB+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.3f", b - a}')")
  echo "run $i/$REPS: A ${TA[-1]} s, B ${TB[-1]} s"
done
MA=$(median "${TA[@]}")
MB=$(median "${TB[@]}")

# ---- report ---------------------------------------------------------------
# decoded_frames, kept_frames from A.json's "video" object.
if command -v jq >/dev/null; then
  read -r DECODED KEPT < <(jq -r '"\(.video.decoded_frames) \(.video.kept_frames)"' "$WORK/A.json")
else
  read -r DECODED KEPT < <(python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))["video"]; print(v["decoded_frames"], v["kept_frames"])' "$WORK/A.json")
fi
[[ $DECODED =~ ^[0-9]+$ && $KEPT =~ ^[0-9]+$ ]] || die "no video.decoded_frames / video.kept_frames in $WORK/A.json"
NFRAMES=$(find "$WORK/frames" -name '*.jpg' | wc -l)

echo
echo "clip:      $CLIP ($(du -h "$CLIP" | cut -f1), ${CLIP_SECONDS} s at 30 fps)"
echo "machine:   $(nproc) CPUs; $("$TSR" --version 2>/dev/null | head -n 1 || echo tessera)"
echo "A (tessera reads the video):      median $MA s of ${TA[*]}; $KEPT frames kept, $DECODED decoded"
echo "B (ffmpeg to JPEG, then tessera): median $MB s of ${TB[*]}; $NFRAMES frames from ffmpeg"
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.2f", x / y; else printf "n/a" }'; }
echo "B / A:     $(ratio "$MB" "$MA") (above 1: reading the video directly is faster)"
echo "decoded per kept frame (A): $(ratio "$DECODED" "$KEPT")"
echo "log:       $LOG"
