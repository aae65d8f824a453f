#!/usr/bin/python3
"""A second real pair for the stereo bench: Middlebury 2006 "Aloe" (full
size, 1282x1110) as Debian's opencv-doc package ships it with OpenCV's
samples (aloeL.jpg, aloeR.jpg, aloeGT.png: 8-bit disparities, 0 unknown).
Written as a Middlebury scene folder (im0.png, im1.png, disp0GT.pfm with
+inf unknown, calib.txt with ndisp=224: the ground truth's largest value,
211, rounded up to 16) for bench/stereo_compare.py. Nothing is committed:
the images stay in the package.

usage: stereo_scene_aloe.py OUT_DIR [DATA_DIR]
DATA_DIR defaults to /usr/share/doc/opencv-doc/examples/data
(apt-get install opencv-doc)."""
import os
import sys

import cv2
import numpy as np


def main():
    out = sys.argv[1]
    data = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/doc/opencv-doc/examples/data"
    os.makedirs(out, exist_ok=True)
    l = cv2.imread(os.path.join(data, "aloeL.jpg"), cv2.IMREAD_COLOR)
    r = cv2.imread(os.path.join(data, "aloeR.jpg"), cv2.IMREAD_COLOR)
    g = cv2.imread(os.path.join(data, "aloeGT.png"), cv2.IMREAD_UNCHANGED)
    if l is None or r is None or g is None:
        sys.exit("stereo_scene_aloe.py: aloeL.jpg, aloeR.jpg, aloeGT.png not found in %s" % data)
    gt = g.astype(np.float32)
    gt[g == 0] = np.inf
    cv2.imwrite(os.path.join(out, "im0.png"), l)
    cv2.imwrite(os.path.join(out, "im1.png"), r)
    h, w = gt.shape
    with open(os.path.join(out, "disp0GT.pfm"), "wb") as f:
        f.write(b"Pf\n%d %d\n-1\n" % (w, h))
        f.write(np.flipud(gt).astype("<f4").tobytes())
    with open(os.path.join(out, "calib.txt"), "w") as f:
        f.write("width=%d\nheight=%d\nndisp=224\nvmin=%d\nvmax=%d\n" % (w, h, int(g[g > 0].min()), int(g.max())))
    print("%s: Aloe %dx%d, ground truth %d..%d, %.1f %% known" % (out, w, h, g[g > 0].min(), g.max(),
                                                                   100.0 * (g > 0).mean()))


if __name__ == "__main__":
    main()
