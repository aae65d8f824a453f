/* The warp, in two parts.
 *
 * Geometry: tsr_view_coord gives the source position an output position
 * looks at. The host evaluates it once per (views, source shape), in double
 * precision, and turns the result into per-view sampling data
 * (src/ops/warp_plan.c): for every output pixel a source position in
 * 1/256 pixel (TSR_WARP_FRAC bits of fraction) at the level the view
 * samples, and for antialiased views the pixel's footprint.
 *
 * Sampling: every backend (cpu/warp_cpu.c, cl/warp.cl) turns that data into
 * output pixels with tsr_warp_sample, in integer arithmetic only, so the CPU
 * loops, the CPU fallback and every OpenCL device write identical bytes.
 *
 * Conventions: source pixel (i, j) has its centre at (i + 0.5, j + 0.5); a
 * position P in 1/256 pixel means i + 0.5 + ... as follows:
 *  - point modes: P = round(256 * (u - 0.5)), so P >> 8 is the pixel left of
 *    (or at) the sample and P & 255 the fraction past its centre;
 *  - TSR_MODE_AREA: P = round(256 * left edge) and E = the width, both in
 *    1/256 pixel; pixel i covers [256 i, 256 i + 256).
 * Right shifts of negative integers are arithmetic (OpenCL C defines it;
 * src/ops/warp_plan.c asserts it of the host compiler). */
#ifndef TSR_WARP_H
#define TSR_WARP_H
#include "tsr_compat.h"
#include "tsr_types.h"
#include "warp_taps.h"

#define TSR_WARP_FRAC 8
/* The largest footprint side of an area sample, in pixels of its level:
 * at most 8 taps per axis. */
#define TSR_AREA_MAX_PX 7
#define TSR_MAX_TAPS 8

/* Output position (x, y) to source position (u, v), in pixel units with
 * pixel centres at + 0.5.
 *
 * TSR_KIND_AFFINE: p[0..5] is a 2x3 row-major matrix.
 * TSR_KIND_EQUIRECT: a pinhole view of an equirectangular source. p[0..8]
 * is the row-major rotation from camera to world (camera x right, y up, z
 * forward; world longitude 0 along +z, +90 deg along +x, latitude +90 deg
 * along +y), p[9..12] = fx, fy, cx, cy in output pixels. Source column 0 is
 * longitude -180 deg, row 0 latitude +90 deg; src_w is the panorama's width.
 * The source may be a window of rows of the panorama: p[13] is then the
 * panorama's height and p[14] the window's first row (p[13] = 0: the source
 * is the whole panorama, src_h rows). */
TSR_INLINE void tsr_view_coord(const TSR_REAL *p, tsr_i32 kind, TSR_REAL src_w, TSR_REAL src_h, TSR_REAL x,
                               TSR_REAL y, TSR_REAL *u, TSR_REAL *v) {
  if (kind == TSR_KIND_EQUIRECT) {
    TSR_REAL cxr = (x - p[11]) / p[9], cyr = (p[12] - y) / p[10];
    TSR_REAL dx = p[0] * cxr + p[1] * cyr + p[2];
    TSR_REAL dy = p[3] * cxr + p[4] * cyr + p[5];
    TSR_REAL dz = p[6] * cxr + p[7] * cyr + p[8];
    TSR_REAL lon = tsr_atan2r(dx, dz);
    TSR_REAL lat = tsr_atan2r(dy, tsr_sqrtr(dx * dx + dz * dz));
    *u = (lon * (TSR_REAL)0.15915494309189533577 + (TSR_REAL)0.5) * src_w;
    TSR_REAL full_h = p[13] > 0 ? p[13] : src_h;
    *v = ((TSR_REAL)0.5 - lat * (TSR_REAL)0.31830988618379067154) * full_h - p[14];
    return;
  }
  *u = p[0] * x + p[1] * y + p[2];
  *v = p[3] * x + p[4] * y + p[5];
}

/* One stored sample of an image, no border rule. */
TSR_INLINE tsr_i32 tsr_px(TSR_GLOBAL const tsr_u8 *img, tsr_i32 stride, tsr_i32 ch, tsr_i32 depth, tsr_i32 x,
                          tsr_i32 y, tsr_i32 c) {
  TSR_GLOBAL const tsr_u8 *row = img + (tsr_u64)(tsr_u32)y * (tsr_u64)(tsr_u32)stride;
  if (depth == 16) return (tsr_i32)((TSR_GLOBAL const tsr_u16 *)row)[x * ch + c];
  return (tsr_i32)row[x * ch + c];
}

/* The sample at integer (x, y) under a border rule: 0 clamp, 1 wrap, 2
 * constant (zero outside), 3 sphere: a row past a pole continues on the
 * other side of the sphere, the row reflected and the column turned by half
 * the width. For an odd width half a turn ends between two columns, and
 * the tap is their mean (rounded half up). */
TSR_INLINE tsr_i32 tsr_tap(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 stride, tsr_i32 ch,
                           tsr_i32 depth, tsr_i32 border, tsr_i32 x, tsr_i32 y, tsr_i32 c) {
  if (border == 1) {
    x = tsr_modi(x, w);
    y = tsr_modi(y, h);
  } else if (border == 2) {
    if (x < 0 || y < 0 || x >= w || y >= h) return 0;
  } else if (border == 3) {
    tsr_i32 yy = tsr_modi(y, 2 * h);
    if (yy >= h) {
      yy = 2 * h - 1 - yy;
      if (w & 1) {
        tsr_i32 a = tsr_px(img, stride, ch, depth, tsr_modi(x + w / 2, w), yy, c);
        tsr_i32 b = tsr_px(img, stride, ch, depth, tsr_modi(x + w / 2 + 1, w), yy, c);
        return (a + b + 1) >> 1;
      }
      x += w / 2;
    }
    y = yy;
    x = tsr_modi(x, w);
  } else {
    x = tsr_clampi(x, 0, w - 1);
    y = tsr_clampi(y, 0, h - 1);
  }
  return tsr_px(img, stride, ch, depth, x, y, c);
}

/* The area-mode weight of pixel i (covering [256 i, 256 i + 256)) for the
 * footprint [P, P + E): their overlap, 0 where they do not meet. */
TSR_INLINE tsr_i32 tsr_area_weight(tsr_i32 P, tsr_i32 E, tsr_i32 i) {
  tsr_i32 lo = i * 256, hi = lo + 256, a = (hi < P + E ? hi : P + E) - (lo > P ? lo : P);
  return a > 0 ? a : 0;
}

/* The taps of one axis: sets *first (the index of the first tap) and w[]
 * (integer weights); returns the number of taps (at most TSR_MAX_TAPS). P is the
 * position, E the footprint (area mode only). */
TSR_INLINE tsr_i32 tsr_axis_taps(tsr_i32 mode, tsr_i32 P, tsr_i32 E, tsr_i32 *first, tsr_i32 *w) {
  tsr_i32 f = P & 255;
  if (mode == TSR_MODE_NEAREST) {
    *first = (P + 128) >> 8;
    w[0] = 1;
    return 1;
  }
  if (mode == TSR_MODE_BILINEAR) {
    *first = P >> 8;
    w[0] = 256 - f;
    w[1] = f;
    return 2;
  }
  if (mode == TSR_MODE_BICUBIC) {
    *first = (P >> 8) - 1;
    for (tsr_i32 k = 0; k < 4; k++) w[k] = tsr_taps_bicubic[f][k];
    return 4;
  }
  if (mode == TSR_MODE_LANCZOS3) {
    *first = (P >> 8) - 2;
    for (tsr_i32 k = 0; k < 6; k++) w[k] = tsr_taps_lanczos3[f][k];
    return 6;
  }
  /* Area: the overlap of each pixel with [P, P + E). */
  tsr_i32 i0 = P >> 8, n = ((P + E - 1) >> 8) - i0 + 1;
  for (tsr_i32 k = 0; k < n; k++) w[k] = tsr_area_weight(P, E, i0 + k);
  *first = i0;
  return n;
}

/* round(2^40 / area) of an area-mode footprint EW x EH (in 1/256 pixel
 * per side, each at least 256): computed once per output pixel. */
TSR_INLINE tsr_u64 tsr_area_recip(tsr_i32 EW, tsr_i32 EH) {
  tsr_u64 area = (tsr_u64)EW * (tsr_u64)EH;
  return (((tsr_u64)1 << 40) + area / 2) / area;
}

/* The one rounding of a sample: its exact weighted sum scaled to the
 * output range and clamped (see tsr_warp_sample); r is tsr_area_recip of
 * the footprint in area mode, unused otherwise. */
TSR_INLINE tsr_u32 tsr_warp_finish(tsr_i32 mode, tsr_i64 acc, tsr_u64 r, tsr_i32 depth) {
  tsr_i64 maxv = depth == 16 ? 65535 : 255;
  if (mode == TSR_MODE_BILINEAR) {
    acc = (acc + 32768) >> 16;
  } else if (mode == TSR_MODE_BICUBIC || mode == TSR_MODE_LANCZOS3) {
    acc = acc < 0 ? 0 : (acc + 2097152) >> 22;
  } else if (mode == TSR_MODE_AREA) {
    acc = (tsr_i64)(((tsr_u64)acc * r + ((tsr_u64)1 << 39)) >> 40);
  }
  return (tsr_u32)(acc > maxv ? maxv : acc);
}

/* A colour from premultiplied sums: n = sum of weight x alpha x colour,
 * d = sum of weight x alpha, both over the same taps and weights; the
 * colour is n / d rounded half up (0 where no alpha reaches the sample, or
 * where negative lobes leave nothing), clamped to the depth's range. */
TSR_INLINE tsr_u32 tsr_unpremul(tsr_i64 n, tsr_i64 d, tsr_i32 depth) {
  tsr_i64 maxv = depth == 16 ? 65535 : 255;
  if (d <= 0 || n <= 0) return 0;
  tsr_i64 q = (2 * n + d) / (2 * d);
  return (tsr_u32)(q > maxv ? maxv : q);
}

/* Output sample values (channels of them, in out[]) at position (X, Y), with
 * footprint (EW, EH) in area mode, from one level of the source (w x h,
 * stride bytes per row). Weighted sums are exact integers; the one rounding
 * is the final scaling:
 *   nearest:  the tap;
 *   bilinear: weights in 1/256 per axis, (sum + 2^15) >> 16;
 *   bicubic, Lanczos-3: weights in 1/2048 per axis, (sum + 2^21) >> 22;
 *   area: sum of value x overlap area, divided by the footprint's area as
 *         (sum * r + 2^39) >> 40 with r = round(2^40 / area);
 * then clamped to the depth's range. With alpha (2 or 4 channels, the last
 * one) every mode but nearest resamples the colours premultiplied: the
 * alpha as above, each colour as tsr_unpremul of its alpha-weighted sum. */
TSR_INLINE void tsr_warp_sample(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 stride, tsr_i32 ch,
                                tsr_i32 depth, tsr_i32 border, tsr_i32 mode, tsr_i32 X, tsr_i32 Y, tsr_i32 EW,
                                tsr_i32 EH, tsr_u32 *out) {
  tsr_i32 wx[TSR_MAX_TAPS], wy[TSR_MAX_TAPS], x0, y0;
  tsr_i32 nx = tsr_axis_taps(mode, X, EW, &x0, wx), ny = tsr_axis_taps(mode, Y, EH, &y0, wy);
  tsr_i32 inside = x0 >= 0 && y0 >= 0 && x0 + nx <= w && y0 + ny <= h;
  tsr_u64 r = mode == TSR_MODE_AREA ? tsr_area_recip(EW, EH) : 0;
  if ((ch == 2 || ch == 4) && mode != TSR_MODE_NEAREST) {
    /* With alpha (the last channel): the colours are resampled
     * premultiplied and divided back by the resampled alpha, so colours
     * under transparent pixels do not bleed into the edges. Sums in 64
     * bits (alpha x colour x weights passes 2^31 at 16 bits). */
    tsr_i32 ac = ch - 1;
    tsr_i64 sa = 0, sc[3] = {0, 0, 0};
    for (tsr_i32 j = 0; j < ny; j++) {
      tsr_i64 ra = 0, rc[3] = {0, 0, 0};
      for (tsr_i32 i = 0; i < nx; i++) {
        tsr_i64 a = inside ? tsr_px(img, stride, ch, depth, x0 + i, y0 + j, ac)
                           : tsr_tap(img, w, h, stride, ch, depth, border, x0 + i, y0 + j, ac);
        ra += wx[i] * a;
        for (tsr_i32 c = 0; c < ac; c++) {
          tsr_i64 v = inside ? tsr_px(img, stride, ch, depth, x0 + i, y0 + j, c)
                             : tsr_tap(img, w, h, stride, ch, depth, border, x0 + i, y0 + j, c);
          rc[c] += wx[i] * a * v;
        }
      }
      sa += wy[j] * ra;
      for (tsr_i32 c = 0; c < ac; c++) sc[c] += wy[j] * rc[c];
    }
    out[ac] = tsr_warp_finish(mode, sa, r, depth);
    for (tsr_i32 c = 0; c < ac; c++) out[c] = tsr_unpremul(sc[c], sa, depth);
    return;
  }
  for (tsr_i32 c = 0; c < ch; c++) {
    tsr_i64 acc = 0;
    for (tsr_i32 j = 0; j < ny; j++) {
      tsr_i32 row = 0;
      for (tsr_i32 i = 0; i < nx; i++) {
        tsr_i32 v = inside ? tsr_px(img, stride, ch, depth, x0 + i, y0 + j, c)
                           : tsr_tap(img, w, h, stride, ch, depth, border, x0 + i, y0 + j, c);
        row += wx[i] * v;
      }
      acc += (tsr_i64)wy[j] * (tsr_i64)row;
    }
    out[c] = tsr_warp_finish(mode, acc, r, depth);
  }
}

/* Bilinear at 8 bits when the 2 x 2 taps lie inside the image: the same
 * sums as tsr_warp_sample, written out (devices without the CPU's vector
 * path run it per pixel). Returns 0, writing nothing, otherwise. */
TSR_INLINE tsr_i32 tsr_bilinear8_inside(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 stride,
                                        tsr_i32 ch, tsr_i32 X, tsr_i32 Y, TSR_GLOBAL tsr_u8 *row, tsr_i32 x) {
  tsr_i32 x0 = X >> 8, y0 = Y >> 8;
  if (ch == 2 || ch == 4) return 0; /* alpha: tsr_warp_sample's premultiplied sums */
  if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) return 0;
  tsr_u32 ax = (tsr_u32)X & 255, ay = (tsr_u32)Y & 255;
  TSR_GLOBAL const tsr_u8 *p = img + (tsr_u64)(tsr_u32)y0 * (tsr_u64)(tsr_u32)stride + (tsr_u64)(tsr_u32)(x0 * ch);
  for (tsr_i32 c = 0; c < ch; c++) {
    tsr_u32 top = p[c] * (256 - ax) + p[ch + c] * ax, bot = p[stride + c] * (256 - ax) + p[stride + ch + c] * ax;
    row[x * ch + c] = (tsr_u8)((top * (256 - ay) + bot * ay + 32768) >> 16);
  }
  return 1;
}

/* Nearest at 8 bits when the tap lies inside the image: tsr_warp_sample's
 * value, copied. Returns 0, writing nothing, otherwise. */
TSR_INLINE tsr_i32 tsr_nearest8_inside(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 stride,
                                       tsr_i32 ch, tsr_i32 X, tsr_i32 Y, TSR_GLOBAL tsr_u8 *row, tsr_i32 x) {
  tsr_i32 xi = (X + 128) >> 8, yi = (Y + 128) >> 8;
  if (xi < 0 || yi < 0 || xi >= w || yi >= h) return 0;
  TSR_GLOBAL const tsr_u8 *p = img + (tsr_u64)(tsr_u32)yi * (tsr_u64)(tsr_u32)stride + (tsr_u64)(tsr_u32)(xi * ch);
  for (tsr_i32 c = 0; c < ch; c++) row[x * ch + c] = p[c];
  return 1;
}

/* Any mode at 8 bits when every tap lies inside the image: tsr_warp_sample's
 * sums, every channel in one pass over a tap row, in 32 bits (the largest
 * sum, Lanczos-3's, is under 255 * 2662^2 < 2^31). Returns 0, writing
 * nothing, otherwise. */
TSR_INLINE tsr_i32 tsr_sample8_inside(TSR_GLOBAL const tsr_u8 *img, tsr_i32 w, tsr_i32 h, tsr_i32 stride,
                                      tsr_i32 ch, tsr_i32 mode, tsr_i32 X, tsr_i32 Y, tsr_i32 EW, tsr_i32 EH,
                                      TSR_GLOBAL tsr_u8 *row, tsr_i32 x) {
  tsr_i32 wx[TSR_MAX_TAPS], wy[TSR_MAX_TAPS], x0, y0;
  if ((ch == 2 || ch == 4) && mode != TSR_MODE_NEAREST) return 0; /* alpha: premultiplied in tsr_warp_sample */
  tsr_i32 nx = tsr_axis_taps(mode, X, EW, &x0, wx), ny = tsr_axis_taps(mode, Y, EH, &y0, wy);
  if (x0 < 0 || y0 < 0 || x0 + nx > w || y0 + ny > h) return 0;
  TSR_GLOBAL const tsr_u8 *p = img + (tsr_u64)(tsr_u32)y0 * (tsr_u64)(tsr_u32)stride + (tsr_u64)(tsr_u32)(x0 * ch);
  tsr_i32 acc[4] = {0, 0, 0, 0};
  for (tsr_i32 r = 0; r < ny; r++, p += stride) {
    tsr_i32 hs[4] = {0, 0, 0, 0};
    for (tsr_i32 i = 0; i < nx; i++)
      for (tsr_i32 c = 0; c < ch; c++) hs[c] += wx[i] * p[i * ch + c];
    for (tsr_i32 c = 0; c < ch; c++) acc[c] += wy[r] * hs[c];
  }
  tsr_u64 rc = mode == TSR_MODE_AREA ? tsr_area_recip(EW, EH) : 0;
  for (tsr_i32 c = 0; c < ch; c++) row[x * ch + c] = (tsr_u8)tsr_warp_finish(mode, acc[c], rc, 8);
  return 1;
}

/* Stores channels values of one output pixel at index x of a row. */
TSR_INLINE void tsr_warp_store(TSR_GLOBAL tsr_u8 *row, tsr_i32 depth, tsr_i32 ch, tsr_i32 x, const tsr_u32 *v) {
  for (tsr_i32 c = 0; c < ch; c++) {
    if (depth == 16) ((TSR_GLOBAL tsr_u16 *)row)[x * ch + c] = (tsr_u16)v[c];
    else row[x * ch + c] = (tsr_u8)v[c];
  }
}

/* Pixel (x, y) of pyramid level k + 1 from level k (sw x sh): the
 * separable filter [1 3 3 1] / 8 over the 4 x 4 pixels around the 2 x 2
 * it covers (a 2 x 2 mean alone lets frequencies above the new Nyquist fold
 * back), rounded half up; past an edge the edge pixel repeats. With alpha
 * (2 or 4 channels, the last) the colours are averaged premultiplied
 * (tsr_unpremul), as the warp samples them. */
TSR_INLINE void tsr_pyr_pixel(TSR_GLOBAL const tsr_u8 *src, tsr_i32 sw, tsr_i32 sh, tsr_i32 sstride,
                              TSR_GLOBAL tsr_u8 *dst, tsr_i32 dstride, tsr_i32 ch, tsr_i32 depth, tsr_i32 x,
                              tsr_i32 y) {
  tsr_i32 xs[4], ys[4];
  const tsr_i32 w[4] = {1, 3, 3, 1};
  for (tsr_i32 k = 0; k < 4; k++) {
    xs[k] = tsr_clampi(2 * x - 1 + k, 0, sw - 1);
    ys[k] = tsr_clampi(2 * y - 1 + k, 0, sh - 1);
  }
  TSR_GLOBAL tsr_u8 *row = dst + (tsr_u64)(tsr_u32)y * (tsr_u64)(tsr_u32)dstride;
  tsr_i32 alpha = ch == 2 || ch == 4; /* the last channel; colours averaged premultiplied */
  tsr_i64 sa = 0;
  if (alpha)
    for (tsr_i32 j = 0; j < 4; j++)
      for (tsr_i32 i = 0; i < 4; i++) sa += w[j] * w[i] * tsr_px(src, sstride, ch, depth, xs[i], ys[j], ch - 1);
  for (tsr_i32 c = 0; c < ch; c++) {
    tsr_i64 s = 0;
    tsr_u32 v;
    if (alpha && c < ch - 1) {
      for (tsr_i32 j = 0; j < 4; j++)
        for (tsr_i32 i = 0; i < 4; i++)
          s += (tsr_i64)(w[j] * w[i] * tsr_px(src, sstride, ch, depth, xs[i], ys[j], ch - 1)) *
               tsr_px(src, sstride, ch, depth, xs[i], ys[j], c);
      v = tsr_unpremul(s, sa, depth);
    } else {
      for (tsr_i32 j = 0; j < 4; j++) {
        tsr_i32 r = 0;
        for (tsr_i32 i = 0; i < 4; i++) r += w[i] * tsr_px(src, sstride, ch, depth, xs[i], ys[j], c);
        s += w[j] * r;
      }
      v = (tsr_u32)((s + 32) >> 6);
    }
    if (depth == 16) ((TSR_GLOBAL tsr_u16 *)row)[x * ch + c] = (tsr_u16)v;
    else row[x * ch + c] = (tsr_u8)v;
  }
}

#endif
