#!/usr/bin/python3
"""tessera stereo against OpenCV's StereoSGBM on one rectified pair, in one run.

Configurations are timed in rounds, interleaved (round 1: every
configuration, round 2: every configuration, ...), so that a machine whose
speed drifts (shared cores) slows all of them alike; each configuration's
figure is the median over rounds of its per-round median. Both tools are
timed around their matching call only, in one process each, after a first
call (OpenCV keeps its buffers between compute() calls; tessera keeps its
scratch on the context). Accuracy: both disparity maps go through
`tessera stereo-eval` (Middlebury's rules: unknown ground truth skipped,
invalid pixels counted bad).

Each round begins with bench_core_distance (where built): a cache line's
round trip between two threads, about 80 ns where the two cores share a
cache and several hundred where the virtual machine has put them far
apart; tessera's sweeps, which exchange a little data between threads
every row, slow down then and OpenCV's stripes hardly do.

usage: stereo_compare.py SCENE_DIR NDISP [--rounds N] [--threads N]
       [--build DIR] [--json OUT.json]
SCENE_DIR holds im0.png, im1.png and disp0GT.pfm (Middlebury's names).
Needs Debian's python3-opencv (run with /usr/bin/python3)."""
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np


def write_pfm(path, disp):
    h, w = disp.shape
    with open(path, "wb") as f:
        f.write(b"Pf\n%d %d\n-1\n" % (w, h))
        f.write(np.flipud(disp).astype("<f4").tobytes())


def opencv_config(name, mode, bs, ndisp):
    cn = 3
    m = cv2.StereoSGBM_create(minDisparity=0, numDisparities=(ndisp + 15) // 16 * 16, blockSize=bs,
                              P1=8 * cn * bs * bs, P2=32 * cn * bs * bs, disp12MaxDiff=1, uniquenessRatio=10,
                              speckleWindowSize=100, speckleRange=2, preFilterCap=63, mode=mode)
    return {"name": "opencv %s bs%d" % (name, bs), "tool": "opencv", "matcher": m}


def main():
    args = sys.argv[1:]
    opts = {"--rounds": "5", "--threads": "2", "--build": "build", "--json": ""}
    for k in list(opts):
        if k in args:
            i = args.index(k)
            opts[k] = args[i + 1]
            del args[i:i + 2]
    scene, ndisp = args[0], int(args[1])
    rounds, threads, build = int(opts["--rounds"]), int(opts["--threads"]), opts["--build"]
    left, right, gt = (os.path.join(scene, n) for n in ("im0.png", "im1.png", "disp0GT.pfm"))
    tmp = tempfile.mkdtemp(prefix="tsr-stereo-cmp.")
    cv2.setNumThreads(threads)
    l, r = cv2.imread(left, cv2.IMREAD_COLOR), cv2.imread(right, cv2.IMREAD_COLOR)
    configs = []
    for name, mode in (("HH", cv2.StereoSGBM_MODE_HH), ("SGBM", cv2.StereoSGBM_MODE_SGBM),
                       ("SGBM_3WAY", cv2.StereoSGBM_MODE_SGBM_3WAY), ("HH4", cv2.StereoSGBM_MODE_HH4)):
        for bs in (3, 5):
            configs.append(opencv_config(name, mode, bs, ndisp))
    for paths in (8, 4):
        configs.append({"name": "tessera %d paths" % paths, "tool": "tessera", "paths": paths})
    times = {c["name"]: [] for c in configs}
    pfm = {}
    # how far apart the machine has put the two cores, each round (a VM's
    # cores move; tessera's sweeps exchange data between threads row by
    # row, OpenCV's stripes hardly do)
    distance, probe = [], os.path.join(build, "bench_core_distance")
    for rnd in range(rounds):
        if os.path.exists(probe):
            distance.append(json.loads(subprocess.run([probe], check=True, capture_output=True,
                                                      text=True).stdout)["round_trip_ns"])
        for c in configs:
            out = os.path.join(tmp, c["name"].replace(" ", "_") + ".pfm")
            if c["tool"] == "opencv":
                c["matcher"].compute(l, r)  # buffers allocated
                ts = []
                for _ in range(5):
                    t = time.perf_counter()
                    d = c["matcher"].compute(l, r)
                    ts.append(time.perf_counter() - t)
                times[c["name"]].append(statistics.median(ts))
                if rnd == 0:
                    disp = d.astype(np.float32) / 16.0
                    disp[d < 0] = math.inf
                    write_pfm(out, disp)
            else:
                res = subprocess.run([os.path.join(build, "bench_stereo_pair"), left, right, str(ndisp), out,
                                      "--runs", "5", "--paths", str(c["paths"]), "--threads", str(threads)],
                                     check=True, capture_output=True, text=True)
                times[c["name"]].append(json.loads(res.stdout)["seconds_median"])
            pfm[c["name"]] = out
    rows = []
    for c in configs:
        ev = subprocess.run([os.path.join(build, "tessera"), "stereo-eval", pfm[c["name"]], gt, "--json"],
                            check=True, capture_output=True, text=True)
        e = json.loads(ev.stdout)
        rows.append({"config": c["name"], "seconds": statistics.median(times[c["name"]]),
                     "seconds_rounds": times[c["name"]], "bad2": e["bad2"], "bad1": e["bad1"],
                     "invalid": e["invalid"], "avgerr": e["avgerr"]})
    best_cv = min((x for x in rows if x["config"].startswith("opencv")), key=lambda x: x["bad2"])
    threeway = min((x for x in rows if "3WAY" in x["config"]), key=lambda x: x["seconds"])
    print("| configuration | median s | bad-2 % | bad-1 % | invalid % | time / fastest 3WAY |")
    print("| --- | --- | --- | --- | --- | --- |")
    for x in rows:
        print("| %s | %.4f | %.2f | %.2f | %.2f | %.2f |" % (x["config"], x["seconds"], x["bad2"], x["bad1"],
                                                            x["invalid"], x["seconds"] / threeway["seconds"]))
    print("\nOpenCV's best bad-2: %s (%.2f %%); fastest 3WAY: %s (%.4f s); %d rounds, %d threads"
          % (best_cv["config"], best_cv["bad2"], threeway["config"], threeway["seconds"], rounds, threads))
    if distance:
        print("a cache line's round trip between two threads, per round: %s ns (bench_core_distance)"
              % ", ".join("%.0f" % x for x in distance))
    if opts["--json"]:
        with open(opts["--json"], "w") as f:
            json.dump({"scene": scene, "ndisp": ndisp, "threads": threads, "rounds": rounds,
                       "core_round_trip_ns": distance, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
