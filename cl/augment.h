/* tessera augment's per-pixel colour math (issue 13, first part), shared
 * by the CPU loops and the kernels: integers only, factors in Q12 (4096 =
 * 1.0), so every backend writes the same bytes. Each result is the exact
 * value rounded half up and clamped to 0..255 (tests/test_augment_ops.c
 * checks them against double references). Luma (grayscale, the base of
 * saturation) is tsr_luma8 of tsr_compat.h. */
#ifndef TSR_AUGMENT_H
#define TSR_AUGMENT_H
#include "tsr_compat.h"
#include "warp_taps.h"

#define TSR_AUG_Q 12
#define TSR_AUG_ONE (1 << TSR_AUG_Q)
/* The largest factor (Q12): 16.0. */
#define TSR_AUG_FMAX (16 << TSR_AUG_Q)

TSR_INLINE tsr_i32 tsr_aug_clamp8(tsr_i32 v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/* base + (v - base) * f / 4096, rounded half up, clamped: brightness
 * (base 0), contrast (base: the image's mean luma), saturation (base: the
 * pixel's luma). v and base in 0..255, 0 <= f <= TSR_AUG_FMAX. An offset
 * keeps the shifted value positive, so no negative number is shifted (its
 * meaning differs between C and OpenCL C). */
TSR_INLINE tsr_i32 tsr_aug_blend(tsr_i32 v, tsr_i32 base, tsr_i32 f) {
  const tsr_i32 k = 8192; /* k * 4096 exceeds 255 * TSR_AUG_FMAX; the sum stays below 2^31 */
  tsr_i32 t = (v - base) * f + (TSR_AUG_ONE >> 1) + (k << TSR_AUG_Q);
  return tsr_aug_clamp8(base + (t >> TSR_AUG_Q) - k);
}

#ifndef TSR_OPENCL
/* A factor in double (host side, from the drawn parameters) to Q12,
 * rounded half up and capped at TSR_AUG_FMAX. */
TSR_INLINE tsr_i32 tsr_aug_q12(double f) {
  double q = f * TSR_AUG_ONE + 0.5;
  return q < 0 ? 0 : q > TSR_AUG_FMAX ? TSR_AUG_FMAX : (tsr_i32)q;
}
#endif


/* ---- geometry: one resample for all the geometric ops -------------------
 * The host composes the geometric ops into one output-to-input affine map
 * and hands it over in Q16 (q[0..5], each round(m * 65536); q[2] and q[5]
 * hold the translation minus half a pixel, so that position 0 is the
 * centre of input pixel 0). The sample of output pixel (x, y) averages
 * n x n points (n = 2^sub, antialiasing when the map shrinks), point (i, j)
 * at (x + (i + 0.5) / n, y + (j + 0.5) / n). Positions are in 1/256 pixel
 * as cl/warp.h's point modes expect, computed exactly in 64-bit integers,
 * so every backend finds the same taps. */
TSR_INLINE tsr_i32 tsr_aug_pos(tsr_i64 qa, tsr_i64 qb, tsr_i64 qc, tsr_i32 x, tsr_i32 y, tsr_i32 i, tsr_i32 j,
                               tsr_i32 sub) {
  tsr_i64 n2 = (tsr_i64)2 << sub;
  tsr_i64 u = qa * (n2 * x + 2 * i + 1) + qb * (n2 * y + 2 * j + 1) + qc * n2; /* 2^-16 / n2 px */
  return (tsr_i32)((u + ((tsr_i64)1 << (8 + sub))) >> (9 + sub));
}

/* Border rules of augment's samples: 0 constant (the fill), 1 replicate
 * (the edge pixel), 2 reflect (about the edge pixel's centre, the edge not
 * repeated). */
TSR_INLINE tsr_i32 tsr_aug_reflect(tsr_i32 i, tsr_i32 n) {
  if (n == 1) return 0;
  tsr_i32 p = 2 * n - 2;
  i = tsr_modi(i, p);
  return i < n ? i : p - i;
}

TSR_INLINE tsr_i32 tsr_aug_tap(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 ch, tsr_i32 border,
                               tsr_i32 fill, tsr_i32 x, tsr_i32 y, tsr_i32 c) {
  if (x < 0 || y < 0 || x >= w || y >= h) {
    if (border == 0) return fill;
    if (border == 1) {
      x = tsr_clampi(x, 0, w - 1);
      y = tsr_clampi(y, 0, h - 1);
    } else {
      x = tsr_aug_reflect(x, w);
      y = tsr_aug_reflect(y, h);
    }
  }
  return img[((tsr_u64)(tsr_u32)y * (tsr_u64)(tsr_u32)w + (tsr_u64)(tsr_u32)x) * (tsr_u64)ch + (tsr_u64)c];
}

/* Axis weights of interpolation mode 0 nearest (1 tap, weight 1), 1
 * bilinear (2 taps, in 1/256), 2 bicubic (4 taps, in 1/2048, the table of
 * cl/warp_taps.h) at position P (1/256 pixel); returns the number of taps
 * and sets *first. */
TSR_INLINE tsr_i32 tsr_aug_axis(tsr_i32 mode, tsr_i32 P, tsr_i32 *first, tsr_i32 *w) {
  tsr_i32 f = P & 255;
  if (mode == 0) {
    *first = (P + 128) >> 8;
    w[0] = 1;
    return 1;
  }
  if (mode == 1) {
    *first = P >> 8;
    w[0] = 256 - f;
    w[1] = f;
    return 2;
  }
  *first = (P >> 8) - 1;
  for (tsr_i32 k = 0; k < 4; k++) w[k] = tsr_taps_bicubic[f][k];
  return 4;
}

/* The bits a sample's sum carries past the value: 0, 16 or 22 by mode,
 * plus 2 sub for the n x n points. */
TSR_INLINE tsr_i32 tsr_aug_shift(tsr_i32 mode, tsr_i32 sub) { return (mode == 0 ? 0 : mode == 1 ? 16 : 22) + 2 * sub; }

/* Output pixel (x, y): channel sums over the n x n points, each point's
 * taps weighted as tsr_aug_axis gives, then one rounding: (sum + half) >>
 * shift, clamped to 0..255. Exact integers, so every backend agrees. */
TSR_INLINE void tsr_aug_sample(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 ch, tsr_i64 q0, tsr_i64 q1,
                               tsr_i64 q2, tsr_i64 q3, tsr_i64 q4, tsr_i64 q5, tsr_i32 mode, tsr_i32 sub,
                               tsr_i32 border, tsr_i32 fill, tsr_i32 x, tsr_i32 y, TSR_GLOBAL tsr_u8 *out) {
  tsr_i64 acc[4] = {0, 0, 0, 0};
  tsr_i32 n = 1 << sub;
  for (tsr_i32 j = 0; j < n; j++)
    for (tsr_i32 i = 0; i < n; i++) {
      tsr_i32 X = tsr_aug_pos(q0, q1, q2, x, y, i, j, sub), Y = tsr_aug_pos(q3, q4, q5, x, y, i, j, sub);
      tsr_i32 wx[4], wy[4], x0, y0;
      tsr_i32 nx = tsr_aug_axis(mode, X, &x0, wx), ny = tsr_aug_axis(mode, Y, &y0, wy);
      tsr_i32 inside = x0 >= 0 && y0 >= 0 && x0 + nx <= w && y0 + ny <= h;
      for (tsr_i32 c = 0; c < ch; c++) {
        tsr_i64 s = 0;
        for (tsr_i32 b = 0; b < ny; b++) {
          tsr_i32 row = 0;
          for (tsr_i32 a = 0; a < nx; a++) {
            tsr_i32 v = inside ? img[((tsr_u64)(tsr_u32)(y0 + b) * (tsr_u64)(tsr_u32)w + (tsr_u64)(tsr_u32)(x0 + a)) *
                                         (tsr_u64)ch + (tsr_u64)c]
                               : tsr_aug_tap(img, w, h, ch, border, fill, x0 + a, y0 + b, c);
            row += wx[a] * v;
          }
          s += (tsr_i64)wy[b] * (tsr_i64)row;
        }
        acc[c] += s;
      }
    }
  tsr_i32 sh = tsr_aug_shift(mode, sub);
  for (tsr_i32 c = 0; c < ch; c++) {
    tsr_i64 v = acc[c] < 0 ? 0 : sh ? (acc[c] + ((tsr_i64)1 << (sh - 1))) >> sh : acc[c];
    out[c] = (tsr_u8)(v > 255 ? 255 : v);
  }
}

/* ---- hue ------------------------------------------------------------------
 * Hue turned by s / (6 * 65536) of a turn (s in 0 .. 6 * 65536 - 1): the
 * hue in sixths of a turn in Q16 from the largest channel M, the smallest
 * m and their difference c, turned, and the middle channel rebuilt as m +
 * c f or M - c f (rounded half up). M and m, so value and HSV saturation,
 * do not change; grays stay. Against HSV in doubles: within 1. */
TSR_INLINE tsr_i32 tsr_aug_div_round(tsr_i32 num, tsr_i32 den) { /* round(num / den), den > 0, halves away from 0 */
  return num >= 0 ? (2 * num + den) / (2 * den) : -((-2 * num + den) / (2 * den));
}

TSR_INLINE void tsr_aug_hue(tsr_i32 *r, tsr_i32 *g, tsr_i32 *b, tsr_i32 s) {
  tsr_i32 R = *r, G = *g, B = *b;
  tsr_i32 M = R > G ? (R > B ? R : B) : (G > B ? G : B), m = R < G ? (R < B ? R : B) : (G < B ? G : B), c = M - m;
  if (c == 0) return;
  const tsr_i32 six = 6 * 65536;
  tsr_i32 hq; /* Q16 sixths; |num| <= c, so num * 65536 fits */
  if (M == R) hq = tsr_aug_div_round((G - B) * 65536, c);
  else if (M == G) hq = 2 * 65536 + tsr_aug_div_round((B - R) * 65536, c);
  else hq = 4 * 65536 + tsr_aug_div_round((R - G) * 65536, c);
  hq = tsr_modi(hq + s, six);
  tsr_i32 sector = hq >> 16, f = hq & 65535;
  tsr_i32 up = m + ((c * f + 32768) >> 16), down = M - ((c * f + 32768) >> 16);
  if (sector == 0) { R = M; G = up; B = m; }
  else if (sector == 1) { R = down; G = M; B = m; }
  else if (sector == 2) { R = m; G = M; B = up; }
  else if (sector == 3) { R = m; G = down; B = M; }
  else if (sector == 4) { R = up; G = m; B = M; }
  else { R = M; G = m; B = down; }
  *r = R;
  *g = G;
  *b = B;
}

/* ---- Gaussian blur, separable ----------------------------------------------
 * Taps in Q14 summing to 16384 (the host computes them); the horizontal
 * pass keeps 8 fraction bits (u16), the vertical one rounds once more; both
 * reflect at the edges. Against the double-precision blur: within 1. */
#define TSR_AUG_BLUR_MAX_R 32
TSR_INLINE tsr_u16 tsr_aug_blur_h(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 ch, tsr_i32 x, tsr_i32 y,
                                  tsr_i32 c, TSR_CONSTANT tsr_i32 *taps, tsr_i32 r) {
  tsr_i32 s = 0;
  TSR_GLOBAL const tsr_u8 *row = img + (tsr_u64)(tsr_u32)y * (tsr_u64)(tsr_u32)w * (tsr_u64)ch;
  for (tsr_i32 k = -r; k <= r; k++) s += taps[k + r] * row[tsr_aug_reflect(x + k, w) * ch + c];
  return (tsr_u16)((s + 32) >> 6);
}
TSR_INLINE tsr_u8 tsr_aug_blur_v(TSR_GLOBAL const tsr_u16 *tmp, tsr_i32 w, tsr_i32 h, tsr_i32 ch, tsr_i32 x,
                                 tsr_i32 y, tsr_i32 c, TSR_CONSTANT tsr_i32 *taps, tsr_i32 r) {
  tsr_i32 s = 0;
  for (tsr_i32 k = -r; k <= r; k++)
    s += taps[k + r] * (tsr_i32)tmp[((tsr_u64)(tsr_u32)tsr_aug_reflect(y + k, h) * (tsr_u64)(tsr_u32)w + (tsr_u64)(tsr_u32)x) * (tsr_u64)ch + (tsr_u64)c];
  return (tsr_u8)tsr_aug_clamp8((s + (1 << 21)) >> 22);
}

/* ---- the pointwise ops on one pixel -------------------------------------------
 * kinds of the pixel ops (the host turns jitter into its four parts in
 * their drawn order): */
#define TSR_AUGP_BRIGHT 1
#define TSR_AUGP_CONTRAST 2 /* a: factor; b: the mean luma, filled in when the op runs */
#define TSR_AUGP_SAT 3
#define TSR_AUGP_HUE 4
#define TSR_AUGP_GRAY 5
#define TSR_AUGP_BLUR 6     /* a: radius; taps elsewhere */
#define TSR_AUGP_ERASE 7    /* rect r[0..3], a: value */
TSR_INLINE void tsr_aug_point(tsr_i32 kind, tsr_i32 a, tsr_i32 b, tsr_i32 ch, TSR_GLOBAL tsr_u8 *px) {
  tsr_i32 n = ch >= 3 ? 3 : 1;
  if (kind == TSR_AUGP_BRIGHT) {
    for (tsr_i32 c = 0; c < n; c++) px[c] = (tsr_u8)tsr_aug_blend(px[c], 0, a);
  } else if (kind == TSR_AUGP_CONTRAST) {
    for (tsr_i32 c = 0; c < n; c++) px[c] = (tsr_u8)tsr_aug_blend(px[c], b, a);
  } else if (n == 3) {
    tsr_i32 R = px[0], G = px[1], B = px[2];
    if (kind == TSR_AUGP_SAT) {
      tsr_i32 l = tsr_luma8(R, G, B);
      R = tsr_aug_blend(R, l, a);
      G = tsr_aug_blend(G, l, a);
      B = tsr_aug_blend(B, l, a);
    } else if (kind == TSR_AUGP_HUE) {
      tsr_aug_hue(&R, &G, &B, a);
    } else if (kind == TSR_AUGP_GRAY) {
      R = G = B = tsr_luma8(R, G, B);
    }
    px[0] = (tsr_u8)R;
    px[1] = (tsr_u8)G;
    px[2] = (tsr_u8)B;
  }
}

#endif
