#!/usr/bin/python3
"""A synthetic rectified pair of known disparity, written as a Middlebury
scene (im0.png, im1.png, disp0GT.pfm, calib.txt).

The scene is wide in disparity but locally narrow, like a slanted aerial
view: a textured ground plane whose disparity rises from 5 % to 90 % of
the range from left to right (and a little from top to bottom), and
textured boxes standing a little in front of it. The right view is
resampled from the left texture through the plane's disparity (linear
interpolation) and the boxes are composed in front, so they occlude the
ground; the ground truth is +inf where a left pixel is occluded in the
right view or matches outside it.

usage: stereo_synth.py OUT_DIR WIDTH HEIGHT NDISP [--seed N]
e.g.   stereo_synth.py /tmp/wide 6000 4000 800   (the bench's memory case)
Needs numpy and OpenCV for Python (Debian: python3-opencv)."""
import os
import sys

import cv2
import numpy as np


def texture(rng, h, w):
    """Noise with some structure: a sum of blurred octaves, 0..255."""
    t = np.zeros((h, w), np.float32)
    for k, sigma in enumerate((0.0, 1.5, 4.0)):
        n = rng.standard_normal((h, w)).astype(np.float32)
        if sigma:
            n = cv2.GaussianBlur(n, (0, 0), sigma)
            n /= n.std() + 1e-6
        t += n * (0.6 ** k)
    t = (t - t.min()) / (t.max() - t.min() + 1e-6) * 255.0
    return t.astype(np.uint8)


def main():
    args = sys.argv[1:]
    seed = 1
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    out, w, h, ndisp = args[0], int(args[1]), int(args[2]), int(args[3])
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    dmax = ndisp - 1
    ys = np.arange(h, dtype=np.float64)
    xs = np.arange(w, dtype=np.float64)
    # ground: d(x, y) = a(y) + b x, from 5 % to 90 % of the range across
    a_y = dmax * (0.05 + 0.05 * ys / max(h - 1, 1))
    b = dmax * 0.80 / w
    tex = texture(rng, h, w).astype(np.float32)
    left = tex.astype(np.uint8)
    gt = (a_y[:, None] + b * xs[None, :]).astype(np.float32)
    # right pixel xr shows the ground point x with x - d(x) = xr
    src = (xs[None, :] + a_y[:, None]) / (1.0 - b)
    x0i = np.clip(np.floor(src).astype(np.int64), 0, w - 1)
    x1i = np.clip(x0i + 1, 0, w - 1)
    f = np.clip(src - np.floor(src), 0.0, 1.0)
    rows = np.arange(h)[:, None]
    right_f = tex[rows, x0i] * (1 - f) + tex[rows, x1i] * f
    right_f[src > w - 1] = tex[rows, np.full_like(x0i, w - 1)][src > w - 1]
    right_d = (a_y[:, None] + b * src).astype(np.float32)  # the disparity the right view shows
    # boxes: 3 x 5, each 6 % of the range in front of the ground at its centre
    boxes = []
    for r in range(3):
        for c in range(5):
            bx, by = int(w * (0.04 + 0.19 * c)), int(h * (0.08 + 0.31 * r))
            bw, bh = int(w * 0.10), int(h * 0.18)
            d = int(round(a_y[by + bh // 2] + b * (bx + bw / 2) + 0.06 * dmax))
            boxes.append((bx, by, bw, bh, d))
    for (bx, by, bw, bh, d) in boxes:
        t = texture(rng, bh, bw)
        left[by:by + bh, bx:bx + bw] = t
        gt[by:by + bh, bx:bx + bw] = d
        xr0, xr1 = max(bx - d, 0), max(min(bx + bw - d, w), 0)
        if xr1 > xr0:
            right_f[by:by + bh, xr0:xr1] = t[:, xr0 + d - bx:xr1 + d - bx]
            right_d[by:by + bh, xr0:xr1] = d
    right = np.clip(np.round(right_f), 0, 255).astype(np.uint8)
    # seen in the right view: the surface there has this pixel's disparity
    xr = np.round(xs[None, :] - gt).astype(np.int64)
    inside = (xr >= 0) & (xr < w)
    seen = np.zeros(gt.shape, bool)
    r_idx = np.nonzero(inside)
    seen[r_idx] = np.abs(right_d[r_idx[0], xr[inside]] - gt[inside]) < 1.0
    gt[~seen] = np.inf
    d_bg = a_y
    cv2.imwrite(os.path.join(out, "im0.png"), left)
    cv2.imwrite(os.path.join(out, "im1.png"), right)
    with open(os.path.join(out, "disp0GT.pfm"), "wb") as f:
        f.write(b"Pf\n%d %d\n-1\n" % (w, h))
        f.write(np.flipud(gt).astype("<f4").tobytes())
    with open(os.path.join(out, "calib.txt"), "w") as f:
        f.write("width=%d\nheight=%d\nndisp=%d\nvmin=%d\nvmax=%d\n" % (w, h, ndisp, int(d_bg.min()), dmax))
    fin = gt[np.isfinite(gt)]
    print("%s: %dx%d, disparities %.1f..%.1f, %.1f %% of pixels with ground truth"
          % (out, w, h, fin.min(), fin.max(), 100.0 * np.isfinite(gt).mean()))


if __name__ == "__main__":
    main()
