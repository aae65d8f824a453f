/* The CPU backend's fast warp: a view's source positions computed once
 * (by the shared tsr_view_coord) and kept as fixed-point map entries, so a
 * frame costs four loads and integer blends per sample instead of atan2 per
 * pixel (see PERF-NOTES: 630 ms per frame on the fly, a third of that or
 * less through a compact map).
 *
 * Building: tsr_view_coord runs at every 8th pixel in x and y; inside a
 * cell the position is interpolated when the cell's centre shows the map is
 * linear there to 0.01 px, and computed per pixel otherwise (across the
 * seam, near the poles, strongly curved cells). A tenth of the atan2 calls.
 *
 * Entry: the byte offset of the top-left tap in the source, and the
 * bilinear fractions in 1/256. Pixels whose taps fall outside the source
 * (the seam, the poles, the band's edges) are marked and computed by the
 * generic tsr_warp_pixel, so the border rules stay in one place. Agrees with
 * the generic path within 1 LSB (the fractions are rounded to 1/256). */
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TSR_HAVE_X86 1
#endif

#include "ops/remap.h"
#include "warp.h"
#include "ops/warp_impl.h"

#define EDGE UINT32_MAX

int tsr__remap_applies(const tsr_src_desc *s, const tsr_view_desc *v) {
  return s->depth == 8 && s->interp <= 1 && v->ss <= 1 &&
         (uint64_t)s->stride * (uint64_t)s->height < (uint64_t)EDGE;
}

/* One map entry from a source position. */
static void store_entry(const tsr_src_desc *s, tsr__remap *m, size_t i, float u, float w) {
  int nearest = s->interp == 0;
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
  /* The vector loop reads 8 bytes per tap row: keep them in the buffer. */
  size_t end = (size_t)(y0 + reach) * (size_t)s->stride + (size_t)x0 * (size_t)s->channels + 8;
  if (x0 < 0 || y0 < 0 || x0 + reach >= s->width || y0 + reach >= s->height ||
      end > (size_t)s->stride * (size_t)s->height) {
    m->off[i] = EDGE;
    m->frac[i] = 0;
    return;
  }
  m->off[i] = (uint32_t)((size_t)y0 * (size_t)s->stride + (size_t)x0 * (size_t)s->channels);
  m->frac[i] = (uint16_t)(ax | ay << 8);
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
  const int G = 8; /* grid step: exact coordinates at every 8th pixel */
  int gw = (v->width + G - 1) / G + 1, gh = (v->height + G - 1) / G + 1;
  float *gu = malloc((size_t)gw * (size_t)gh * sizeof *gu), *gv = malloc((size_t)gw * (size_t)gh * sizeof *gv);
  if (!gu || !gv) {
    free(gu);
    free(gv);
    tsr__remap_free(m);
    return -1;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int gy = 0; gy < gh; gy++)
    for (int gx = 0; gx < gw; gx++) {
      int x = gx * G < v->width ? gx * G : v->width - 1, y = gy * G < v->height ? gy * G : v->height - 1;
      tsr_view_coord(v, s, (float)x + 0.5f, (float)y + 0.5f, &gu[gy * gw + gx], &gv[gy * gw + gx]);
    }
  /* Source rows of the poles in band coordinates (equirectangular views). */
  float full_h = v->kind == TSR_KIND_EQUIRECT && v->p[13] > 0 ? v->p[13] : (float)s->height;
  float pole_n = v->kind == TSR_KIND_EQUIRECT ? -v->p[14] : -1e30f, pole_s = pole_n + full_h;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int cy = 0; cy < gh - 1; cy++)
    for (int cx = 0; cx < gw - 1; cx++) {
      int x0 = cx * G, y0 = cy * G;
      int x1 = x0 + G < v->width ? x0 + G : v->width - 1, y1 = y0 + G < v->height ? y0 + G : v->height - 1;
      int xe = x0 + G < v->width ? x0 + G : v->width, ye = y0 + G < v->height ? y0 + G : v->height;
      const float u00 = gu[cy * gw + cx], u10 = gu[cy * gw + cx + 1], u01 = gu[(cy + 1) * gw + cx],
                  u11 = gu[(cy + 1) * gw + cx + 1];
      const float v00 = gv[cy * gw + cx], v10 = gv[cy * gw + cx + 1], v01 = gv[(cy + 1) * gw + cx],
                  v11 = gv[(cy + 1) * gw + cx + 1];
      float umin = fminf(fminf(u00, u10), fminf(u01, u11)), umax = fmaxf(fmaxf(u00, u10), fmaxf(u01, u11));
      float vmin = fminf(fminf(v00, v10), fminf(v01, v11)), vmax = fmaxf(fmaxf(v00, v10), fmaxf(v01, v11));
      float sx = x1 > x0 ? 1.0f / (float)(x1 - x0) : 0.0f, sy = y1 > y0 ? 1.0f / (float)(y1 - y0) : 0.0f;
      /* Interpolate only where the map is smooth: not across the seam, not
       * near a pole, and where the cell centre matches the exact value. */
      int exact = umax - umin > 0.25f * (float)s->width || vmin < pole_n + 4.0f || vmax > pole_s - 4.0f;
      if (!exact) {
        int xm = (x0 + x1) / 2, ym = (y0 + y1) / 2;
        float tx = (float)(xm - x0) * sx, ty = (float)(ym - y0) * sy, eu, ev;
        tsr_view_coord(v, s, (float)xm + 0.5f, (float)ym + 0.5f, &eu, &ev);
        float iu = (u00 + (u10 - u00) * tx) + ((u01 + (u11 - u01) * tx) - (u00 + (u10 - u00) * tx)) * ty;
        float iv = (v00 + (v10 - v00) * tx) + ((v01 + (v11 - v01) * tx) - (v00 + (v10 - v00) * tx)) * ty;
        exact = fabsf(eu - iu) > 0.01f || fabsf(ev - iv) > 0.01f;
      }
      for (int y = y0; y < ye; y++)
        for (int x = x0; x < xe; x++) {
          float u, w;
          if (exact) {
            tsr_view_coord(v, s, (float)x + 0.5f, (float)y + 0.5f, &u, &w);
          } else {
            float tx = (float)(x - x0) * sx, ty = (float)(y - y0) * sy;
            float ut = u00 + (u10 - u00) * tx, ub = u01 + (u11 - u01) * tx;
            float vt = v00 + (v10 - v00) * tx, vb = v01 + (v11 - v01) * tx;
            u = ut + (ub - ut) * ty;
            w = vt + (vb - vt) * ty;
          }
          store_entry(s, m, (size_t)y * (size_t)v->width + (size_t)x, u, w);
        }
    }
  free(gu);
  free(gv);
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

#ifdef TSR_HAVE_X86
/* The same blend as row_bilinear, four channels' worth at a time: a tap row
 * (two pixels, 8 bytes) is widened, its channels paired and multiplied by
 * the horizontal weights in one madd; then the vertical blend in 32 bits.
 * Exactly the scalar result. ch is 3 or 4. */
__attribute__((target("sse4.1"), always_inline)) static inline void row_bilinear_sse41(const tsr__remap *m, const tsr_src_desc *s,
                                                                 const tsr_view_desc *v, const uint8_t *src,
                                                                 uint8_t *dst, int y, int ch) {
  const size_t base = (size_t)y * (size_t)m->width;
  const uint32_t *off = m->off + base;
  const uint16_t *frac = m->frac + base;
  const size_t stride = (size_t)s->stride;
  uint8_t *out = dst + (size_t)y * (size_t)v->stride;
  const __m128i round = _mm_set1_epi32(32768);
  for (int x = 0; x < m->width; x++) {
    /* The source reads wander off the prefetchers' streams; fetch the taps
     * of the pixel 96 ahead (measured best here: 50 ms per 8K frame vs 90). */
    if (x + 96 < m->width && off[x + 96] != EDGE) {
      _mm_prefetch((const char *)(src + off[x + 96]), _MM_HINT_T0);
      _mm_prefetch((const char *)(src + off[x + 96] + stride), _MM_HINT_T0);
    }
    if (off[x] == EDGE) {
      tsr_warp_pixel(src, s, v, dst, x, y);
      continue;
    }
    const uint8_t *p = src + off[x];
    int ax = frac[x] & 0xFF, ay = frac[x] >> 8;
    __m128i a = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)p));
    __m128i b = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(p + stride)));
    if (ch == 3) {
      a = _mm_unpacklo_epi16(a, _mm_srli_si128(a, 6));
      b = _mm_unpacklo_epi16(b, _mm_srli_si128(b, 6));
    } else {
      a = _mm_unpacklo_epi16(a, _mm_srli_si128(a, 8));
      b = _mm_unpacklo_epi16(b, _mm_srli_si128(b, 8));
    }
    const __m128i wx = _mm_set1_epi32((256 - ax) | (ax << 16));
    __m128i top = _mm_madd_epi16(a, wx), bot = _mm_madd_epi16(b, wx);
    __m128i r = _mm_add_epi32(_mm_mullo_epi32(top, _mm_set1_epi32(256 - ay)), _mm_mullo_epi32(bot, _mm_set1_epi32(ay)));
    r = _mm_srli_epi32(_mm_add_epi32(r, round), 16);
    r = _mm_packus_epi16(_mm_packus_epi32(r, r), r);
    uint32_t px = (uint32_t)_mm_cvtsi128_si32(r);
    memcpy(out + (size_t)x * (size_t)ch, &px, (size_t)ch);
  }
}

__attribute__((target("sse4.1"))) static void row_bilinear_sse41_3(const tsr__remap *m, const tsr_src_desc *s,
                                                                   const tsr_view_desc *v, const uint8_t *src,
                                                                   uint8_t *dst, int y) {
  row_bilinear_sse41(m, s, v, src, dst, y, 3);
}

__attribute__((target("sse4.1"))) static void row_bilinear_sse41_4(const tsr__remap *m, const tsr_src_desc *s,
                                                                   const tsr_view_desc *v, const uint8_t *src,
                                                                   uint8_t *dst, int y) {
  row_bilinear_sse41(m, s, v, src, dst, y, 4);
}

static int have_sse41(void) {
  static int cached = -1;
  if (cached < 0) cached = __builtin_cpu_supports("sse4.1") ? 1 : 0;
  return cached;
}
#endif

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
#ifdef TSR_HAVE_X86
      if ((ch == 3 || ch == 4) && have_sse41()) {
        if (ch == 3) row_bilinear_sse41_3(m, s, v, src, dst, y);
        else row_bilinear_sse41_4(m, s, v, src, dst, y);
        continue;
      }
#endif
      switch (ch) {
      case 1: row_bilinear(m, s, v, src, dst, y, 1); break;
      case 2: row_bilinear(m, s, v, src, dst, y, 2); break;
      case 3: row_bilinear(m, s, v, src, dst, y, 3); break;
      default: row_bilinear(m, s, v, src, dst, y, 4); break;
      }
    }
  }
}

void tsr__remap_or_warp(const tsr__remap *m, const tsr_src_desc *s, const tsr_view_desc *v, const uint8_t *src,
                        uint8_t *dst, int threads) {
  if (m && m->off) tsr__remap_apply(m, s, v, src, dst, threads);
  else tsr__warp_cpu(threads, s, src, v, dst);
}
