/* The CPU fast path of the split: a view's source positions computed once
 * (by the shared tsr_view_coord) and kept as fixed-point map entries, so a
 * frame costs four loads and integer blends per sample instead of atan2 per
 * pixel (see PERF-NOTES: 630 ms per frame on the fly, a third of that or
 * less through a compact map).
 *
 * Entry: the byte offset of the top-left tap in the source, and the
 * bilinear fractions in 1/256. Pixels whose taps fall outside the source
 * (the seam, the poles, the band's edges) are marked and computed by the
 * generic tsr_warp_pixel, so the border rules stay in one place. Agrees with
 * the generic path within 1 LSB (the fractions are rounded to 1/256). */
#include <stdlib.h>
#include <string.h>

#include "remap.h"
#include "warp.h"

#define EDGE UINT32_MAX

int tsr__remap_applies(const tsr_src_desc *s, const tsr_view_desc *v) {
  return s->depth == 8 && s->interp <= 1 && v->ss <= 1 &&
         (uint64_t)s->stride * (uint64_t)s->height < (uint64_t)EDGE;
}

int tsr__remap_build(const tsr_src_desc *s, const tsr_view_desc *v, int threads, tsr__remap *m) {
  size_t n = (size_t)v->width * (size_t)v->height;
  m->width = v->width;
  m->height = v->height;
  m->off = malloc(n * sizeof *m->off);
  m->frac = malloc(n * sizeof *m->frac);
  if (!m->off || !m->frac) {
    tsr__remap_free(m);
    return -1;
  }
  int nearest = s->interp == 0;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < v->height; y++)
    for (int x = 0; x < v->width; x++) {
      float u, w;
      tsr_view_coord(v, s, (float)x + 0.5f, (float)y + 0.5f, &u, &w);
      size_t i = (size_t)y * (size_t)v->width + (size_t)x;
      int x0, y0, ax = 0, ay = 0;
      if (nearest) {
        x0 = (int)floorf(u);
        y0 = (int)floorf(w);
      } else {
        float fx = u - 0.5f, fy = w - 0.5f, x0f = floorf(fx), y0f = floorf(fy);
        x0 = (int)x0f;
        y0 = (int)y0f;
        ax = (int)((fx - x0f) * 256.0f + 0.5f);
        ay = (int)((fy - y0f) * 256.0f + 0.5f);
        if (ax == 256) ax = 0, x0++;
        if (ay == 256) ay = 0, y0++;
      }
      int reach = nearest ? 0 : 1;
      if (x0 < 0 || y0 < 0 || x0 + reach >= s->width || y0 + reach >= s->height) {
        m->off[i] = EDGE;
        m->frac[i] = 0;
        continue;
      }
      m->off[i] = (uint32_t)((size_t)y0 * (size_t)s->stride + (size_t)x0 * (size_t)s->channels);
      m->frac[i] = (uint16_t)(ax | ay << 8);
    }
  return 0;
}

void tsr__remap_free(tsr__remap *m) {
  free(m->off);
  free(m->frac);
  m->off = NULL;
  m->frac = NULL;
}

/* One output row; ch is a constant in each caller so the channel loop
 * unrolls. */
static inline void row_bilinear(const tsr__remap *m, const tsr_src_desc *s, const tsr_view_desc *v,
                                const uint8_t *src, uint8_t *dst, int y, int ch) {
  const size_t base = (size_t)y * (size_t)m->width;
  const uint32_t *off = m->off + base;
  const uint16_t *frac = m->frac + base;
  const size_t stride = (size_t)s->stride;
  uint8_t *out = dst + (size_t)y * (size_t)v->stride;
  for (int x = 0; x < m->width; x++) {
    if (off[x] == EDGE) {
      tsr_warp_pixel(src, s, v, dst, x, y);
      continue;
    }
    const uint8_t *p = src + off[x];
    uint32_t ax = frac[x] & 0xFF, ay = frac[x] >> 8;
    uint32_t w00 = (256 - ax) * (256 - ay), w10 = ax * (256 - ay), w01 = (256 - ax) * ay, w11 = ax * ay;
    for (int c = 0; c < ch; c++)
      out[x * ch + c] = (uint8_t)((p[c] * w00 + p[ch + c] * w10 + p[stride + c] * w01 + p[stride + ch + c] * w11 +
                                   32768) >> 16);
  }
}

static inline void row_nearest(const tsr__remap *m, const tsr_src_desc *s, const tsr_view_desc *v,
                               const uint8_t *src, uint8_t *dst, int y, int ch) {
  const size_t base = (size_t)y * (size_t)m->width;
  uint8_t *out = dst + (size_t)y * (size_t)v->stride;
  for (int x = 0; x < m->width; x++) {
    uint32_t o = m->off[base + (size_t)x];
    if (o == EDGE) {
      tsr_warp_pixel(src, s, v, dst, x, y);
      continue;
    }
    for (int c = 0; c < ch; c++) out[x * ch + c] = src[o + (uint32_t)c];
  }
}

void tsr__remap_apply(const tsr__remap *m, const tsr_src_desc *s, const tsr_view_desc *v, const uint8_t *src,
                      uint8_t *dst, int threads) {
  const int ch = s->channels;
#pragma omp parallel for num_threads(threads) schedule(static, 8)
  for (int y = 0; y < m->height; y++) {
    if (s->interp == 0) {
      row_nearest(m, s, v, src, dst, y, ch);
    } else {
      switch (ch) {
      case 1: row_bilinear(m, s, v, src, dst, y, 1); break;
      case 2: row_bilinear(m, s, v, src, dst, y, 2); break;
      case 3: row_bilinear(m, s, v, src, dst, y, 3); break;
      default: row_bilinear(m, s, v, src, dst, y, 4); break;
      }
    }
  }
}
