/* Stereo matching on rectified pairs: the per-pixel math of census
 * transform, Hamming cost, semi-global aggregation, winner-take-all with a
 * uniqueness ratio and subpixel refinement, the left-right check and the
 * median, shared by the CPU loops (cpu/stereo_cpu.c) and the kernels
 * (cl/stereo.cl).
 *
 * Everything is integer arithmetic, so every backend computes the same
 * disparities for the same tile. Every value depends only on global image
 * coordinates (census windows clamp at the image's edges, not a tile's),
 * so a tile differs from the whole image only where an aggregation path
 * starts at the tile's edge: the tile's margins absorb that.
 *
 * Disparities are stored in 1/16 pixel (TSR_DISP_SCALE) as 16-bit signed
 * values, TSR_DISP_INVALID where the pixel is rejected; the range is
 * [dmin, dmin + nd - 1] with |disparity| < TSR_DISP_LIMIT. A left pixel x
 * matches the right pixel x - d. */
#ifndef TSR_STEREO_H
#define TSR_STEREO_H
#include "tsr_compat.h"

#define TSR_DISP_SCALE 16
#define TSR_DISP_INVALID (-32768)
#define TSR_DISP_LIMIT 2040
/* Census window: 9 x 7 pixels, 62 comparisons (the centre's bit is 0). */
#define TSR_CENSUS_RX 4
#define TSR_CENSUS_RY 3
/* Cost of a disparity whose right pixel lies outside the image: half the
 * largest Hamming distance, so the smoothness terms decide there. */
#define TSR_COST_OUTSIDE 31
/* Aggregated costs are 16-bit: a path's value is at most the largest cost
 * plus P2, and 8 paths are summed, so P2 is capped (tsr_stereo_p2_max). */
#define TSR_SGM_SENTINEL 0x7FFF
#define TSR_SGM_P2_MAX 4000

/* One tile as every backend sees it: the image's size, the left-image
 * region whose costs are aggregated (x0, y0, w, h: the tile's core plus
 * margins, clipped to the image) and the matching parameters. */
typedef struct {
  tsr_i32 width, height; /* the images */
  tsr_i32 x0, y0, w, h;  /* the tile's aggregation region */
  tsr_i32 dmin, nd;      /* disparities dmin .. dmin + nd - 1 */
  tsr_i32 ndp;           /* nd rounded up to 16: the volume's row length */
  tsr_i32 p1, p2;        /* smoothness penalties; P2 falls across intensity edges */
  tsr_i32 uniqueness;    /* percent; 0: off */
  tsr_i32 lr_max;        /* largest left-right difference in pixels; < 0: no check */
  tsr_i32 paths;         /* 4 or 8 */
  tsr_i32 rx0, rw;       /* the right image's columns the tile reads */
} tsr_stereo_desc;

/* Census of pixel (x, y) of an 8-bit gray image: bit 9 r + i set where
 * the pixel at (x + i - 4, y + r - 3) of the 9 x 7 window is darker than
 * the centre (the centre's own bit is always 0). Neighbours outside the
 * image take the nearest edge pixel. Row by row, 9 bits each: a row's
 * bits come from one comparison of 9 bytes, which the CPU loops do in
 * one vector instruction. */
TSR_INLINE tsr_u64 tsr_census(TSR_GLOBAL const tsr_u8 *img, tsr_i32 width, tsr_i32 height, tsr_i32 stride,
                              tsr_i32 x, tsr_i32 y) {
  tsr_i32 c = img[(tsr_i64)y * stride + x];
  tsr_u64 bits = 0;
  for (tsr_i32 r = 0; r < 2 * TSR_CENSUS_RY + 1; r++) {
    tsr_i32 yy = tsr_clampi(y + r - TSR_CENSUS_RY, 0, height - 1);
    TSR_GLOBAL const tsr_u8 *row = img + (tsr_i64)yy * stride;
    for (tsr_i32 i = 0; i < 2 * TSR_CENSUS_RX + 1; i++) {
      tsr_i32 xx = tsr_clampi(x + i - TSR_CENSUS_RX, 0, width - 1);
      bits |= (tsr_u64)(row[xx] < c) << (r * (2 * TSR_CENSUS_RX + 1) + i);
    }
  }
  return bits;
}

TSR_INLINE tsr_i32 tsr_popcount64(tsr_u64 v) {
#ifdef TSR_OPENCL
  return (tsr_i32)popcount(v);
#else
  return __builtin_popcountll(v);
#endif
}

/* Matching cost of left pixel x at disparity d, given the left pixel's
 * census and the right image's census row (indexed by image column). */
TSR_INLINE tsr_u8 tsr_stereo_cost(tsr_u64 cl, TSR_GLOBAL const tsr_u64 *right_row, tsr_i32 rx0, tsr_i32 width,
                                  tsr_i32 x, tsr_i32 d) {
  tsr_i32 xr = x - d;
  if (xr < 0 || xr >= width) return (tsr_u8)TSR_COST_OUTSIDE;
  return (tsr_u8)tsr_popcount64(cl ^ right_row[xr - rx0]);
}

/* P2 for a step between pixels of intensities a and b: lowered across
 * intensity edges (halved at a difference of 16), never below P1 + 1. */
TSR_INLINE tsr_i32 tsr_sgm_p2(tsr_i32 p1, tsr_i32 p2, tsr_i32 a, tsr_i32 b) {
  tsr_i32 diff = a > b ? a - b : b - a;
  tsr_i32 v = (p2 * 16) / (16 + diff);
  return v > p1 ? v : p1 + 1;
}

/* One cell of a path's recurrence: the path's value at disparity d from
 * the previous pixel's values at d - 1, d, d + 1 (TSR_SGM_SENTINEL past
 * the range's ends) and their minimum over d, mprev. The result is at most
 * the cost plus P2, and never needs more than 16 bits. */
TSR_INLINE tsr_i32 tsr_sgm_cell(tsr_i32 cost, tsr_i32 lm, tsr_i32 l0, tsr_i32 lp, tsr_i32 mprev, tsr_i32 p1,
                                tsr_i32 p2) {
  tsr_i32 v = lm < lp ? lm : lp;
  v += p1;
  if (l0 < v) v = l0;
  if (mprev + p2 < v) v = mprev + p2;
  return cost + v - mprev;
}

/* Subpixel offset in 1/16 pixel from the aggregated costs at best - 1
 * (a), best (b) and best + 1 (c): the vertex of the parabola through
 * them, rounded half away from zero; |offset| <= 8. */
TSR_INLINE tsr_i32 tsr_subpixel16(tsr_i32 a, tsr_i32 b, tsr_i32 c) {
  tsr_i32 den = a + c - 2 * b;
  if (den <= 0) return 0;
  tsr_i32 num = 8 * (a - c);
  return num >= 0 ? (2 * num + den) / (2 * den) : -((-2 * num + den) / (2 * den));
}

/* Whether the best cost smin at index best is unique enough: every cost at
 * an index more than one away is at least `percent` percent above it
 * (smin * (100 + percent) <= s * 100). */
TSR_INLINE tsr_i32 tsr_unique_enough(tsr_i32 smin, tsr_i32 s, tsr_i32 percent) {
  return smin * (100 + percent) <= s * 100;
}

/* Median of the valid values among n (<= 9) in v (sorted in place): the
 * lower middle one when their count is even. */
TSR_INLINE tsr_i32 tsr_median_valid(tsr_i32 *v, tsr_i32 n) {
  tsr_i32 m = 0;
  for (tsr_i32 i = 0; i < n; i++)
    if (v[i] != TSR_DISP_INVALID) v[m++] = v[i];
  for (tsr_i32 i = 1; i < m; i++) {
    tsr_i32 t = v[i], j = i - 1;
    while (j >= 0 && v[j] > t) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = t;
  }
  return m ? v[(m - 1) / 2] : TSR_DISP_INVALID;
}

/* The winner of one pixel's summed costs s[0..nd): the first index of the
 * smallest sum, the smallest sum more than one index away from it (0xFFFF
 * when none) and whether every such sum passes the uniqueness test. */
typedef struct {
  tsr_i32 best, smin, s2, unique;
} tsr_stereo_win;

TSR_INLINE tsr_stereo_win tsr_stereo_winner(TSR_GLOBAL const tsr_u16 *s, tsr_i32 nd, tsr_i32 uniqueness) {
  tsr_stereo_win w;
  w.best = 0;
  w.smin = s[0];
  w.s2 = 0xFFFF;
  w.unique = 1;
  for (tsr_i32 k = 1; k < nd; k++)
    if (s[k] < w.smin) {
      w.smin = s[k];
      w.best = k;
    }
  for (tsr_i32 k = 0; k < nd; k++) {
    if (k >= w.best - 1 && k <= w.best + 1) continue;
    if (s[k] < w.s2) w.s2 = s[k];
    if (uniqueness && !tsr_unique_enough(w.smin, s[k], uniqueness)) w.unique = 0;
  }
  return w;
}

/* Confidence 0..255: how far the best sum lies below the next
 * non-adjacent one. */
TSR_INLINE tsr_i32 tsr_stereo_conf(tsr_stereo_win w) {
  return w.s2 == 0xFFFF ? 255 : w.s2 > 0 ? (w.s2 - w.smin) * 255 / w.s2 : 0;
}

/* The right image's disparity (1/16 px, integer) at right column gx of
 * a tile row, from the left winners: among the region's left pixels whose
 * winner maps onto it (x - disparity = gx), the one with the smallest
 * best sum gives its disparity (the leftmost on ties);
 * TSR_DISP_INVALID where none maps (a right pixel the left view does not
 * see). best, smin: the row's winner indices and sums, region column 0
 * at image column x0, w of them. */
TSR_INLINE tsr_i32 tsr_stereo_right_from_left(TSR_GLOBAL const tsr_i16 *best, TSR_GLOBAL const tsr_u16 *smin,
                                              tsr_i32 nd, tsr_i32 dmin, tsr_i32 x0, tsr_i32 w, tsr_i32 gx) {
  tsr_i32 bd = -1, bs = 0x10000;
  for (tsr_i32 k = 0; k < nd; k++) {
    tsr_i32 lx = gx + dmin + k - x0;
    if (lx < 0 || lx >= w || best[lx] != k) continue;
    if (smin[lx] < bs) {
      bs = smin[lx];
      bd = k;
    }
  }
  return bd < 0 ? TSR_DISP_INVALID : (dmin + bd) * TSR_DISP_SCALE;
}

/* A left pixel's disparity (1/16 px) from its winner: invalid when not
 * unique, when the right pixel it matches (image column gx - disparity)
 * lies outside the image (width columns: no match exists), or when the
 * right image's map there (dr: columns from rx0, rw of them) disagrees by
 * more than lr_max pixels (lr_max < 0: no check; a right pixel outside
 * those columns, or without a disparity, cannot be checked and the match
 * stands); else the winner's disparity plus `sub`, its subpixel offset. */
TSR_INLINE tsr_i32 tsr_stereo_finish_sub(tsr_i32 sub, tsr_stereo_win w, tsr_i32 dmin, tsr_i32 lr_max, tsr_i32 gx,
                                         tsr_i32 width, TSR_GLOBAL const tsr_i16 *dr, tsr_i32 rx0, tsr_i32 rw) {
  if (!w.unique) return TSR_DISP_INVALID;
  tsr_i32 di = dmin + w.best;
  if (gx - di < 0 || gx - di >= width) return TSR_DISP_INVALID;
  if (lr_max >= 0) {
    tsr_i32 xr = gx - di - rx0;
    if (xr >= 0 && xr < rw && dr[xr] != TSR_DISP_INVALID) {
      tsr_i32 diff = dr[xr] / TSR_DISP_SCALE - di;
      if (diff > lr_max || -diff > lr_max) return TSR_DISP_INVALID;
    }
  }
  return di * TSR_DISP_SCALE + sub;
}

/* The winner's subpixel offset: the parabola's where both neighbours of
 * the winner exist (sa, sc: their sums, at best - 1 and best + 1; not
 * read otherwise), else 0. */
TSR_INLINE tsr_i32 tsr_stereo_sub(tsr_i32 sa, tsr_i32 sc, tsr_stereo_win w, tsr_i32 nd) {
  return w.best > 0 && w.best < nd - 1 ? tsr_subpixel16(sa, w.smin, sc) : 0;
}

/* The same from the pixel's summed costs s[0..nd). */
TSR_INLINE tsr_i32 tsr_stereo_finish(TSR_GLOBAL const tsr_u16 *s, tsr_stereo_win w, tsr_i32 nd, tsr_i32 dmin,
                                     tsr_i32 lr_max, tsr_i32 gx, tsr_i32 width, TSR_GLOBAL const tsr_i16 *dr,
                                     tsr_i32 rx0, tsr_i32 rw) {
  tsr_i32 sa = w.best > 0 ? s[w.best - 1] : 0, sc = w.best < nd - 1 ? s[w.best + 1] : 0;
  return tsr_stereo_finish_sub(tsr_stereo_sub(sa, sc, w, nd), w, dmin, lr_max, gx, width, dr, rx0, rw);
}

/* The 3 x 3 median of pixel (x, y) of a w x h region of disparities
 * (raw): invalid stays invalid; else the median of the valid values among
 * the neighbours inside the region. */
TSR_INLINE tsr_i32 tsr_stereo_median_at(TSR_GLOBAL const tsr_i16 *raw, tsr_i32 w, tsr_i32 h, tsr_i32 x, tsr_i32 y) {
  tsr_i32 c = raw[(tsr_i64)y * w + x];
  if (c == TSR_DISP_INVALID) return c;
  tsr_i32 v[9];
  tsr_i32 n = 0;
  for (tsr_i32 yy = y - 1; yy <= y + 1; yy++)
    for (tsr_i32 xx = x - 1; xx <= x + 1; xx++)
      if (yy >= 0 && yy < h && xx >= 0 && xx < w) v[n++] = raw[(tsr_i64)yy * w + xx];
  return tsr_median_valid(v, n);
}

#endif
