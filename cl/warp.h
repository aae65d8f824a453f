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
 * longitude -180 deg, row 0 latitude +90 deg. The source may be a window
 * of rows of the panorama (a source window, whoever cut it): p[13] is then
 * the panorama's height and p[14] the window's first row (p[13] = 0: the
 * source is the whole panorama). */
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
    float full_h = p[13] > 0.0f ? p[13] : (float)s->height;
    *v = (0.5f - lat * 0.3183098861837907f) * full_h - p[14];
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

/* Separable filter weights for the taps around a sample position; t is the
 * distance of the position from the first tap's centre past the left
 * neighbours. Bicubic is Keys' cubic convolution with a = -0.5 (4 taps);
 * Lanczos-3 is sinc(d) sinc(d / 3) over 6 taps, normalised to sum 1. */
TSR_INLINE float tsr_cubic_w(float d) {
  d = tsr_fabsf(d);
  if (d < 1.0f) return (1.5f * d - 2.5f) * d * d + 1.0f;
  if (d < 2.0f) return ((-0.5f * d + 2.5f) * d - 4.0f) * d + 2.0f;
  return 0.0f;
}

TSR_INLINE float tsr_lanczos3_w(float d) {
  d = tsr_fabsf(d);
  if (d < 1e-5f) return 1.0f;
  if (d >= 3.0f) return 0.0f;
  float a = 3.14159265358979f * d;
  return 3.0f * tsr_sinf(a) * tsr_sinf(a / 3.0f) / (a * a);
}

/* Number of taps per axis of an interpolation (0 nearest, 1 bilinear, 2
 * bicubic, 3 Lanczos-3). */
TSR_INLINE tsr_i32 tsr_interp_taps(tsr_i32 interp) {
  return interp == 3 ? 6 : (interp == 2 ? 4 : (interp == 1 ? 2 : 1));
}

/* Weights of the taps for fractional offset a in [0, 1) from the tap at
 * index taps/2 - 1. */
TSR_INLINE void tsr_interp_weights(tsr_i32 interp, float a, float *w) {
  if (interp == 1) {
    w[0] = 1.0f - a;
    w[1] = a;
    return;
  }
  tsr_i32 n = tsr_interp_taps(interp), back = n / 2 - 1;
  float sum = 0.0f;
  for (tsr_i32 k = 0; k < n; k++) {
    float d = (float)(k - back) - a;
    w[k] = interp == 3 ? tsr_lanczos3_w(d) : tsr_cubic_w(d);
    sum += w[k];
  }
  for (tsr_i32 k = 0; k < n; k++) w[k] /= sum;
}

/* Adds the source sampled at position (u, v) (pixel-centre units) to
 * acc[0..channels-1]. */
TSR_INLINE void tsr_sample_add(TSR_GLOBAL const tsr_u8 *src, TSR_GLOBAL const tsr_src_desc *s, float u, float v,
                               float *acc) {
  tsr_i32 ch = s->channels;
  if (s->interp == 0) {
    tsr_i32 ix = (tsr_i32)tsr_floorf(u), iy = (tsr_i32)tsr_floorf(v);
    for (tsr_i32 c = 0; c < ch; c++) acc[c] += tsr_fetch(src, s, ix, iy, c);
    return;
  }
  float fx = u - 0.5f, fy = v - 0.5f;
  float x0f = tsr_floorf(fx), y0f = tsr_floorf(fy);
  float wx[6], wy[6];
  tsr_interp_weights(s->interp, fx - x0f, wx);
  tsr_interp_weights(s->interp, fy - y0f, wy);
  tsr_i32 n = tsr_interp_taps(s->interp), back = n / 2 - 1;
  tsr_i32 x0 = (tsr_i32)x0f - back, y0 = (tsr_i32)y0f - back;
  for (tsr_i32 c = 0; c < ch; c++) {
    float sum = 0.0f;
    for (tsr_i32 j = 0; j < n; j++) {
      float row = 0.0f;
      for (tsr_i32 i = 0; i < n; i++) row += wx[i] * tsr_fetch(src, s, x0 + i, y0 + j, c);
      sum += wy[j] * row;
    }
    acc[c] += sum;
  }
}

/* Computes output pixel (x, y) of one view for one source image. src points
 * at the source image, dst at the first byte of the view's output. With
 * view->ss > 1 the pixel is the mean of ss x ss samples spread evenly over
 * its area (the antialiasing prefilter). */
TSR_INLINE void tsr_warp_pixel(TSR_GLOBAL const tsr_u8 *src, TSR_GLOBAL const tsr_src_desc *s,
                               TSR_GLOBAL const tsr_view_desc *view, TSR_GLOBAL tsr_u8 *dst,
                               tsr_i32 x, tsr_i32 y) {
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  tsr_i32 n = view->ss > 1 ? view->ss : 1;
  float step = 1.0f / (float)n;
  for (tsr_i32 j = 0; j < n; j++)
    for (tsr_i32 i = 0; i < n; i++) {
      float u, v;
      tsr_view_coord(view, s, (float)x + ((float)i + 0.5f) * step, (float)y + ((float)j + 0.5f) * step, &u, &v);
      tsr_sample_add(src, s, u, v, acc);
    }
  TSR_GLOBAL tsr_u8 *row = dst + (tsr_u64)y * (tsr_u64)view->stride;
  float norm = 1.0f / (float)(n * n);
  for (tsr_i32 c = 0; c < s->channels; c++) tsr_store(row, s->depth, x * s->channels + c, acc[c] * norm);
}

#endif
