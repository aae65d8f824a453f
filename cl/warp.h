/* The warp: for every output pixel, a coordinate function gives a source
 * position, and the source is sampled there with the chosen interpolation
 * and border rule. This header is the only implementation; cpu/warp_cpu.c
 * and cl/warp.cl are loops around tsr_warp_pixel().
 *
 * Conventions: source pixel (i, j) has its centre at (i + 0.5, j + 0.5);
 * coordinate functions take the output pixel centre and return a source
 * position in those units. Arithmetic is in float; the result is rounded to
 * nearest and clamped, so backends agree within 1 LSB. */
#ifndef TSR_WARP_H
#define TSR_WARP_H
#include "tsr_compat.h"
#include "tsr_types.h"

/* Output pixel centre (x + .5, y + .5) to source position (u, v).
 *
 * TSR_KIND_AFFINE: p[0..5] is a 2x3 row-major matrix.
 * TSR_KIND_EQUIRECT: a pinhole view of an equirectangular source. p[0..8]
 * is the row-major rotation from camera to world (camera x right, y up, z
 * forward; world longitude 0 along +z, +90 deg along +x, latitude +90 deg
 * along +y), p[9..12] = fx, fy, cx, cy in output pixels. Source column 0 is
 * longitude -180 deg, row 0 latitude +90 deg. */
TSR_INLINE void tsr_view_coord(TSR_GLOBAL const tsr_view_desc *view, TSR_GLOBAL const tsr_src_desc *s,
                               float x, float y, float *u, float *v) {
  TSR_GLOBAL const float *p = view->p;
  if (view->kind == TSR_KIND_EQUIRECT) {
    float cxr = (x - p[11]) / p[9], cyr = (p[12] - y) / p[10];
    float dx = p[0] * cxr + p[1] * cyr + p[2];
    float dy = p[3] * cxr + p[4] * cyr + p[5];
    float dz = p[6] * cxr + p[7] * cyr + p[8];
    float lon = tsr_atan2f(dx, dz);
    float lat = tsr_atan2f(dy, tsr_sqrtf(dx * dx + dz * dz));
    *u = (lon * 0.15915494309189535f + 0.5f) * (float)s->width;
    *v = (0.5f - lat * 0.3183098861837907f) * (float)s->height;
    return;
  }
  *u = p[0] * x + p[1] * y + p[2];
  *v = p[3] * x + p[4] * y + p[5];
}

/* Maps an integer source coordinate to a valid one, or returns 0 when the
 * sample lies outside and reads as zero (constant border). For the sphere
 * rule, a row past a pole continues on the other side of the sphere: the row
 * reflects and the column turns by half the width. */
TSR_INLINE int tsr_border_index(tsr_i32 border, tsr_i32 w, tsr_i32 h, tsr_i32 *x, tsr_i32 *y) {
  if (border == 1) {
    *x = tsr_modi(*x, w);
    *y = tsr_modi(*y, h);
  } else if (border == 2) {
    if (*x < 0 || *y < 0 || *x >= w || *y >= h) return 0;
  } else if (border == 3) {
    tsr_i32 yy = tsr_modi(*y, 2 * h);
    tsr_i32 xx = *x;
    if (yy >= h) {
      yy = 2 * h - 1 - yy;
      xx += w / 2;
    }
    *y = yy;
    *x = tsr_modi(xx, w);
  } else {
    *x = tsr_clampi(*x, 0, w - 1);
    *y = tsr_clampi(*y, 0, h - 1);
  }
  return 1;
}

TSR_INLINE float tsr_fetch(TSR_GLOBAL const tsr_u8 *src, TSR_GLOBAL const tsr_src_desc *s,
                           tsr_i32 x, tsr_i32 y, tsr_i32 c) {
  if (!tsr_border_index(s->border, s->width, s->height, &x, &y)) return 0.0f;
  tsr_u64 row = (tsr_u64)y * (tsr_u64)s->stride;
  if (s->depth == 16) {
    TSR_GLOBAL const tsr_u16 *p = (TSR_GLOBAL const tsr_u16 *)(src + row);
    return (float)p[x * s->channels + c];
  }
  return (float)src[row + (tsr_u64)(x * s->channels + c)];
}

TSR_INLINE void tsr_store(TSR_GLOBAL tsr_u8 *dst, tsr_i32 depth, tsr_i32 idx, float v) {
  float maxv = depth == 16 ? 65535.0f : 255.0f;
  float r = tsr_floorf(tsr_fminf(tsr_fmaxf(v, 0.0f), maxv) + 0.5f);
  if (depth == 16)
    ((TSR_GLOBAL tsr_u16 *)dst)[idx] = (tsr_u16)r;
  else
    dst[idx] = (tsr_u8)r;
}

/* Computes output pixel (x, y) of one view for one source image. src points
 * at the source image, dst at the first byte of the view's output. */
TSR_INLINE void tsr_warp_pixel(TSR_GLOBAL const tsr_u8 *src, TSR_GLOBAL const tsr_src_desc *s,
                               TSR_GLOBAL const tsr_view_desc *view, TSR_GLOBAL tsr_u8 *dst,
                               tsr_i32 x, tsr_i32 y) {
  float u, v;
  tsr_view_coord(view, s, (float)x + 0.5f, (float)y + 0.5f, &u, &v);
  TSR_GLOBAL tsr_u8 *row = dst + (tsr_u64)y * (tsr_u64)view->stride;
  tsr_i32 ch = s->channels;
  if (s->interp == 0) {
    tsr_i32 ix = (tsr_i32)tsr_floorf(u), iy = (tsr_i32)tsr_floorf(v);
    for (tsr_i32 c = 0; c < ch; c++) tsr_store(row, s->depth, x * ch + c, tsr_fetch(src, s, ix, iy, c));
    return;
  }
  float fx = u - 0.5f, fy = v - 0.5f;
  float x0f = tsr_floorf(fx), y0f = tsr_floorf(fy);
  float ax = fx - x0f, ay = fy - y0f;
  tsr_i32 x0 = (tsr_i32)x0f, y0 = (tsr_i32)y0f;
  for (tsr_i32 c = 0; c < ch; c++) {
    float p00 = tsr_fetch(src, s, x0, y0, c), p10 = tsr_fetch(src, s, x0 + 1, y0, c);
    float p01 = tsr_fetch(src, s, x0, y0 + 1, c), p11 = tsr_fetch(src, s, x0 + 1, y0 + 1, c);
    float top = p00 + (p10 - p00) * ax;
    float bot = p01 + (p11 - p01) * ax;
    tsr_store(row, s->depth, x * ch + c, top + (bot - top) * ay);
  }
}

#endif
