#!/usr/bin/python3
"""OpenCV StereoSGBM on a rectified pair, for comparison with tessera stereo.

Runs each mode (HH = full 8 paths, SGBM = 5 paths, SGBM_3WAY, HH4) with the
parameters OpenCV's documentation and samples suggest (P1 = 8*cn*bs^2,
P2 = 32*cn*bs^2), at the given thread count; writes each disparity map as
PFM (+inf where OpenCV marks a pixel invalid) so that tessera stereo-eval
scores both tools by the same rules, and prints one JSON line per
configuration: mode, block size, median compute seconds over the runs.

usage: stereo_opencv.py LEFT RIGHT NDISP OUTDIR [--threads N] [--runs N]
Needs Debian's python3-opencv (run with /usr/bin/python3)."""
import json
import math
import os
import statistics
import sys
import time

import cv2
import numpy as np


def write_pfm(path, disp):
    h, w = disp.shape
    with open(path, "wb") as f:
        f.write(b"Pf\n%d %d\n-1\n" % (w, h))
        f.write(np.flipud(disp).astype("<f4").tobytes())


def main():
    args = sys.argv[1:]
    threads, runs = 2, 5
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i:i + 2]
    left, right, ndisp, outdir = args[0], args[1], int(args[2]), args[3]
    os.makedirs(outdir, exist_ok=True)
    cv2.setNumThreads(threads)
    l = cv2.imread(left, cv2.IMREAD_COLOR)
    r = cv2.imread(right, cv2.IMREAD_COLOR)
    nd16 = (ndisp + 15) // 16 * 16
    modes = {"HH": cv2.StereoSGBM_MODE_HH, "SGBM": cv2.StereoSGBM_MODE_SGBM,
             "SGBM_3WAY": cv2.StereoSGBM_MODE_SGBM_3WAY, "HH4": cv2.StereoSGBM_MODE_HH4}
    for name, mode in modes.items():
        for bs in (3, 5):
            cn = 3
            m = cv2.StereoSGBM_create(minDisparity=0, numDisparities=nd16, blockSize=bs,
                                      P1=8 * cn * bs * bs, P2=32 * cn * bs * bs, disp12MaxDiff=1,
                                      uniquenessRatio=10, speckleWindowSize=100, speckleRange=2,
                                      preFilterCap=63, mode=mode)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                d = m.compute(l, r)
                times.append(time.perf_counter() - t)
            disp = d.astype(np.float32) / 16.0
            disp[d < 0] = math.inf
            path = os.path.join(outdir, "opencv_%s_bs%d.pfm" % (name, bs))
            write_pfm(path, disp)
            print(json.dumps({"tool": "opencv", "mode": name, "block": bs, "threads": threads,
                              "seconds_median": statistics.median(times), "runs": runs, "pfm": path}))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
