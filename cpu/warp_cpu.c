/* The CPU backend's warp: OpenMP loops around cl/warp.h over a plan's
 * sampling data (src/ops/warp_plan.c).
 *
 * Every pixel's value is tsr_warp_sample's. The loops only choose how to
 * get there: 8-bit nearest pixels and 8-bit bilinear, bicubic, Lanczos-3
 * and area pixels of 1 or 3 channels whose taps lie inside the source take
 * a direct path (SSE4.1 and AVX2 for 3 channels: the same integer sums, so
 * the same bytes); every other pixel, those with alpha among them (their
 * colours are resampled premultiplied), calls tsr_warp_sample with the
 * channel count and depth as constants, so the compiler specialises it. */
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TSR_HAVE_X86 1
#endif

#include "ops/warp_impl.h"
#include "warp.h"

typedef struct {
  const uint8_t *img; /* the level the view samples */
  int w, h, stride;
  const int32_t *pos;
  const uint16_t *ext;
  uint8_t *dst;
  int width, dstride, mode, border;
} view_job;

/* One row through tsr_warp_sample; ch and depth are constants in each
 * caller. At 8 bits, pixels whose taps all lie inside the image take
 * tsr_sample8_inside: the same exact sums in one pass over each tap row. */
static inline void row_generic(const view_job *j, int y, int ch, int depth) {
  const int32_t *pos = j->pos + 2 * (size_t)y * (size_t)j->width;
  const uint16_t *ext = j->ext ? j->ext + 2 * (size_t)y * (size_t)j->width : NULL;
  uint8_t *out = j->dst + (size_t)y * (size_t)j->dstride;
  uint32_t v[4];
  for (int x = 0; x < j->width; x++) {
    int32_t X = pos[2 * x], Y = pos[2 * x + 1], EW = ext ? ext[2 * x] : 0, EH = ext ? ext[2 * x + 1] : 0;
    if (depth == 8 && tsr_sample8_inside(j->img, j->w, j->h, j->stride, ch, j->mode, X, Y, EW, EH, out, x)) continue;
    tsr_warp_sample(j->img, j->w, j->h, j->stride, ch, depth, j->border, j->mode, X, Y, EW, EH, v);
    tsr_warp_store(out, depth, ch, x, v);
  }
}

static void row_any(const view_job *j, int y, int ch, int depth) {
  if (depth == 8) {
    switch (ch) {
    case 1: row_generic(j, y, 1, 8); break;
    case 2: row_generic(j, y, 2, 8); break;
    case 3: row_generic(j, y, 3, 8); break;
    default: row_generic(j, y, 4, 8); break;
    }
  } else {
    switch (ch) {
    case 1: row_generic(j, y, 1, 16); break;
    case 2: row_generic(j, y, 2, 16); break;
    case 3: row_generic(j, y, 3, 16); break;
    default: row_generic(j, y, 4, 16); break;
    }
  }
}

/* The one-pixel fallback of the fast rows. */
static inline void pixel_generic(const view_job *j, int x, int32_t X, int32_t Y, uint8_t *out, int ch) {
  uint32_t v[4];
  tsr_warp_sample(j->img, j->w, j->h, j->stride, ch, 8, j->border, j->mode, X, Y, 0, 0, v);
  tsr_warp_store(out, 8, ch, x, v);
}

/* Whether a bilinear pixel's taps, and the 8 bytes the vector path reads
 * from each tap row, lie inside the image (the vector path's test;
 * tsr_bilinear8_inside has its own without the over-read). */
static inline int bilinear_inside(const view_job *j, int32_t x0, int32_t y0, int ch) {
  return x0 >= 0 && y0 >= 0 && x0 + 1 < j->w && y0 + 1 < j->h &&
         (size_t)(y0 + 1) * (size_t)j->stride + (size_t)x0 * (size_t)ch + 8 <= (size_t)j->stride * (size_t)j->h;
}

/* A prefetch the compiler keeps: GCC 12's dead-code pass drops some
 * __builtin_prefetch calls under bounds tests like prefetch_taps' (seen in
 * the nearest loop). */
static inline void prefetch(const char *a) {
#ifdef TSR_HAVE_X86
  __asm__ volatile("prefetcht0 %0" : : "m"(*a));
#else
  __builtin_prefetch(a);
#endif
}

/* Fetches the first rows rows of taps of the pixel at pos ahead (the
 * source reads wander off the prefetchers' streams). */
static inline void prefetch_taps(const view_job *j, const int32_t *pos, int ch, int rows) {
  int32_t px = pos[0] >> 8, py = pos[1] >> 8;
  if (px >= 0 && py >= 0 && px < j->w && py + rows <= j->h) {
    const char *a = (const char *)(j->img + (size_t)py * (size_t)j->stride + (size_t)px * (size_t)ch);
    for (int r = 0; r < rows; r++) prefetch(a + (size_t)r * (size_t)j->stride);
  }
}

static inline void row_nearest8(const view_job *j, int y, int ch) {
  const int32_t *pos = j->pos + 2 * (size_t)y * (size_t)j->width;
  uint8_t *out = j->dst + (size_t)y * (size_t)j->dstride;
  for (int x = 0; x < j->width; x++) {
    if (x + 96 < j->width) prefetch_taps(j, pos + 2 * (x + 96), ch, 1);
    if (!tsr_nearest8_inside(j->img, j->w, j->h, j->stride, ch, pos[2 * x], pos[2 * x + 1], out, x))
      pixel_generic(j, x, pos[2 * x], pos[2 * x + 1], out, ch);
  }
}

static inline void row_bilinear8(const view_job *j, int y, int ch) {
  const int32_t *pos = j->pos + 2 * (size_t)y * (size_t)j->width;
  uint8_t *out = j->dst + (size_t)y * (size_t)j->dstride;
  for (int x = 0; x < j->width; x++)
    if (!tsr_bilinear8_inside(j->img, j->w, j->h, j->stride, ch, pos[2 * x], pos[2 * x + 1], out, x))
      pixel_generic(j, x, pos[2 * x], pos[2 * x + 1], out, ch);
}

#ifdef TSR_HAVE_X86
/* Stores pixel bytes px (channel c in byte c) at out: ch = 3 as one 4-byte
 * store where more pixels follow in the row (the next pixel, written later
 * by the same loop, overwrites the extra byte). */
__attribute__((always_inline)) static inline void store_px(uint8_t *out, int ch, uint32_t px, int more) {
  if (ch == 3 && more) memcpy(out, &px, 4);
  else memcpy(out, &px, (size_t)ch);
}

/* row_bilinear8 four channels' worth at a time: a tap row (two pixels, 8
 * bytes) is widened, its channels paired and multiplied by the horizontal
 * weights in one madd; then the vertical blend in 32 bits. The same sums
 * as the scalar code. ch is 3 (4 would work the same, but pixels with
 * alpha take tsr_warp_sample). */
__attribute__((target("sse4.1"), always_inline)) static inline void row_bilinear8_sse41(const view_job *j, int y,
                                                                                        int ch) {
  const int32_t *pos = j->pos + 2 * (size_t)y * (size_t)j->width;
  uint8_t *out = j->dst + (size_t)y * (size_t)j->dstride;
  const size_t stride = (size_t)j->stride;
  const __m128i round = _mm_set1_epi32(32768);
  for (int x = 0; x < j->width; x++) {
    /* The source reads wander off the prefetchers' streams: fetch the taps
     * of the pixel 96 ahead. */
    if (x + 96 < j->width) {
      int32_t px = pos[2 * (x + 96)] >> 8, py = pos[2 * (x + 96) + 1] >> 8;
      if (bilinear_inside(j, px, py, ch)) {
        const char *a = (const char *)(j->img + (size_t)py * stride + (size_t)px * (size_t)ch);
        _mm_prefetch(a, _MM_HINT_T0);
        _mm_prefetch(a + stride, _MM_HINT_T0);
      }
    }
    int32_t X = pos[2 * x], Y = pos[2 * x + 1], x0 = X >> 8, y0 = Y >> 8;
    if (!bilinear_inside(j, x0, y0, ch)) {
      pixel_generic(j, x, X, Y, out, ch);
      continue;
    }
    const uint8_t *p = j->img + (size_t)y0 * stride + (size_t)x0 * (size_t)ch;
    int ax = X & 255, ay = Y & 255;
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
    store_px(out + (size_t)x * (size_t)ch, ch, (uint32_t)_mm_cvtsi128_si32(r), x + 1 < j->width);
  }
}

/* tsr_warp_finish of the four 32-bit sums of a separable mode at 8 bits,
 * packed into the low bytes: the same values (area: the product with r in
 * 64 bits, two lanes at a time; the others: clamped at 0, rounded, and
 * both saturated at 255 by the packs). r must be below 2^32. */
__attribute__((target("sse4.1"), always_inline)) static inline uint32_t finish8_sse41(__m128i acc, int mode,
                                                                                      uint64_t r) {
  __m128i v;
  if (mode == TSR_MODE_AREA) {
    const __m128i rr = _mm_set1_epi64x((long long)r), half = _mm_set1_epi64x((long long)1 << 39);
    __m128i even = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epu32(acc, rr), half), 40);
    __m128i odd = _mm_srli_epi64(_mm_add_epi64(_mm_mul_epu32(_mm_srli_epi64(acc, 32), rr), half), 40);
    v = _mm_blend_epi16(even, _mm_slli_epi64(odd, 32), 0xCC);
  } else {
    v = _mm_srai_epi32(_mm_add_epi32(_mm_max_epi32(acc, _mm_setzero_si128()), _mm_set1_epi32(1 << 21)), 22);
  }
  v = _mm_packus_epi16(_mm_packus_epi32(v, v), v);
  return (uint32_t)_mm_cvtsi128_si32(v);
}

/* Stores one pixel of a separable mode from its four channel sums (more:
 * store_px's). */
__attribute__((target("sse4.1"), always_inline)) static inline void store_sep8(uint8_t *out, int ch, __m128i acc,
                                                                               int mode, int32_t EW, int32_t EH,
                                                                               int more) {
  uint64_t r = mode == TSR_MODE_AREA ? tsr__area_recip_fast(EW, EH) : 0;
  if (r >> 32) {
    int32_t a4[4];
    _mm_storeu_si128((__m128i *)a4, acc);
    for (int c = 0; c < ch; c++) out[c] = (uint8_t)tsr_warp_finish(mode, a4[c], r, 8);
    return;
  }
  store_px(out, ch, finish8_sse41(acc, mode, r), more);
}

/* The shuffle that widens a pair of neighbouring pixels (8 bytes) into
 * 16-bit values interleaved channel by channel. */
__attribute__((target("sse4.1"), always_inline)) static inline __m128i pair_shuffle(int ch) {
  return ch == 3 ? _mm_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1)
                 : _mm_setr_epi8(0, -1, 4, -1, 1, -1, 5, -1, 2, -1, 6, -1, 3, -1, 7, -1);
}

/* A tap pair's two weights as one 32-bit madd operand. */
static inline int pair_weights(const int32_t *wx, int k) {
  return (int)(((uint32_t)wx[2 * k] & 0xFFFFu) | ((uint32_t)wx[2 * k + 1] << 16));
}

/* The per-pixel part the separable rows share: prefetches the taps of the
 * pixel 96 ahead, computes pixel x's taps (pw: the horizontal weights as
 * pair_weights operands, padded with a zero weight to whole pairs; wy: the
 * vertical ones, padded with a zero row) and returns the address of its
 * first tap, or NULL after writing the pixel through tsr_warp_sample when
 * a tap, or the 8 bytes read from a tap pair, would lie outside the image.
 * Bicubic and Lanczos-3 take their pairs straight from the int16 tables
 * (two little-endian neighbours are one pair operand): the taps of
 * tsr_axis_taps without copying them. */
__attribute__((always_inline)) static inline const uint8_t *sep_taps(const view_job *j, const int32_t *pos,
                                                                     const uint16_t *ext, int x, int ch, int mode,
                                                                     uint8_t *out, int *pw, int32_t *wy, int *nx,
                                                                     int *ny, int32_t *EW, int32_t *EH) {
  const size_t stride = (size_t)j->stride;
  if (x + 96 < j->width) prefetch_taps(j, pos + 2 * (x + 96), ch, mode == TSR_MODE_AREA ? 3 : 4);
  int32_t X = pos[2 * x], Y = pos[2 * x + 1], x0, y0;
  *EW = ext ? ext[2 * x] : 0;
  *EH = ext ? ext[2 * x + 1] : 0;
  if (mode == TSR_MODE_BICUBIC || mode == TSR_MODE_LANCZOS3) {
    int n = mode == TSR_MODE_BICUBIC ? 4 : 6;
    const tsr_i16 *tx = mode == TSR_MODE_BICUBIC ? tsr_taps_bicubic[X & 255] : tsr_taps_lanczos3[X & 255];
    const tsr_i16 *ty = mode == TSR_MODE_BICUBIC ? tsr_taps_bicubic[Y & 255] : tsr_taps_lanczos3[Y & 255];
    x0 = (X >> 8) - (n / 2 - 1);
    y0 = (Y >> 8) - (n / 2 - 1);
    for (int k = 0; k < n / 2; k++) memcpy(&pw[k], tx + 2 * k, 4);
    for (int r = 0; r < n; r++) wy[r] = ty[r];
    *nx = *ny = n;
  } else {
    int32_t wx[TSR_MAX_TAPS + 1];
    *nx = tsr_axis_taps(mode, X, *EW, &x0, wx);
    *ny = tsr_axis_taps(mode, Y, *EH, &y0, wy);
    wx[*nx] = 0;
    for (int k = 0; k < (*nx + 1) / 2; k++) pw[k] = pair_weights(wx, k);
  }
  int pairs = (*nx + 1) / 2;
  wy[*ny] = 0;
  if (!(x0 >= 0 && y0 >= 0 && x0 + *nx <= j->w && y0 + *ny <= j->h &&
        (size_t)(y0 + *ny - 1) * stride + (size_t)(x0 + 2 * pairs - 2) * (size_t)ch + 8 <= stride * (size_t)j->h)) {
    uint32_t v[4];
    tsr_warp_sample(j->img, j->w, j->h, j->stride, ch, 8, j->border, mode, X, Y, *EW, *EH, v);
    tsr_warp_store(out, 8, ch, x, v);
    return NULL;
  }
  return j->img + (size_t)y0 * stride + (size_t)x0 * (size_t)ch;
}

/* Area footprints of at most 4 x 4 taps (views that minify up to about 3
 * times at their level), the common case, without the variable loops'
 * mispredicted branches: taps padded with zero weights to 2 pairs x 4
 * rows. Prefetches the taps of the pixel 96 ahead, returns the address of
 * the first tap and sets the pair weights and row weights, or NULL where the footprint is larger or the padded
 * reads would leave the image or a tap is outside it (the general path
 * takes those). */
__attribute__((always_inline)) static inline const uint8_t *area4_taps(const view_job *j, const int32_t *pos, const uint16_t *ext, int x, int ch,
                                        int *wp, int32_t *wy, int32_t *EW, int32_t *EH) {
  int32_t X = pos[2 * x], Y = pos[2 * x + 1], x0 = X >> 8, y0 = Y >> 8;
  *EW = ext[2 * x];
  *EH = ext[2 * x + 1];
  int nx = ((X + *EW - 1) >> 8) - x0 + 1, ny = ((Y + *EH - 1) >> 8) - y0 + 1;
  const size_t stride = (size_t)j->stride;
  if (nx > 4 || ny > 4 || x0 < 0 || y0 < 0 || x0 + nx > j->w || y0 + ny > j->h ||
      (size_t)(y0 + 3) * stride + (size_t)(x0 + 2) * (size_t)ch + 8 > stride * (size_t)j->h)
    return NULL;
  if (x + 96 < j->width) prefetch_taps(j, pos + 2 * (x + 96), ch, 3);
  for (int k = 0; k < 4; k++) wy[k] = tsr_area_weight(Y, *EH, y0 + k);
  /* (From scalars: pair_weights on a just-written array stalled on store
   * forwarding.) */
  uint32_t a0 = (uint32_t)tsr_area_weight(X, *EW, x0), a1 = (uint32_t)tsr_area_weight(X, *EW, x0 + 1);
  uint32_t a2 = (uint32_t)tsr_area_weight(X, *EW, x0 + 2), a3 = (uint32_t)tsr_area_weight(X, *EW, x0 + 3);
  wp[0] = (int)(a0 | a1 << 16);
  wp[1] = (int)(a2 | a3 << 16);
  return j->img + (size_t)y0 * stride + (size_t)x0 * (size_t)ch;
}

/* The separable filters (bicubic, Lanczos-3, area) at 8 bits for 3
 * channels (the code takes 4 too; pixels with alpha take tsr_warp_sample):
 * per tap row, a pair of neighbouring pixels (8 bytes read) is
 * shuffled into 16-bit values interleaved channel by channel, so one madd
 * multiplies both by their horizontal weights; the row sums are then
 * weighted vertically in 32 bits. The same exact sums as tsr_warp_sample.
 * mode and ch are constants in each caller (bicubic and Lanczos-3 have a
 * fixed number of taps, so the loops unroll). */
__attribute__((target("sse4.1"), always_inline)) static inline void row_sep8_sse41(const view_job *j, int y, int ch,
                                                                                   int mode) {
  const int32_t *pos = j->pos + 2 * (size_t)y * (size_t)j->width;
  const uint16_t *ext = j->ext ? j->ext + 2 * (size_t)y * (size_t)j->width : NULL;
  uint8_t *out = j->dst + (size_t)y * (size_t)j->dstride;
  const size_t stride = (size_t)j->stride;
  const __m128i shuf = pair_shuffle(ch);
  for (int x = 0; x < j->width; x++) {
    int32_t wy[TSR_MAX_TAPS + 1], EW, EH;
    int pw[TSR_MAX_TAPS / 2], nx, ny;
    if (mode == TSR_MODE_AREA) {
      int w2[2];
      const uint8_t *p = area4_taps(j, pos, ext, x, ch, w2, wy, &EW, &EH);
      if (p) {
        const __m128i w0 = _mm_set1_epi32(w2[0]), w1 = _mm_set1_epi32(w2[1]);
        __m128i acc = _mm_setzero_si128();
        for (int r = 0; r < 4; r++, p += stride) {
          __m128i a = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)p), shuf);
          __m128i b = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(p + 2 * ch)), shuf);
          __m128i h = _mm_add_epi32(_mm_madd_epi16(a, w0), _mm_madd_epi16(b, w1));
          acc = _mm_add_epi32(acc, _mm_mullo_epi32(h, _mm_set1_epi32(wy[r])));
        }
        store_sep8(out + (size_t)x * (size_t)ch, ch, acc, mode, EW, EH, x + 1 < j->width);
        continue;
      }
    }
    const uint8_t *p = sep_taps(j, pos, ext, x, ch, mode, out, pw, wy, &nx, &ny, &EW, &EH);
    if (!p) continue;
    int pairs = (nx + 1) / 2;
    __m128i wp[TSR_MAX_TAPS / 2];
    for (int k = 0; k < TSR_MAX_TAPS / 2; k++) wp[k] = _mm_set1_epi32(k < pairs ? pw[k] : 0); /* all set: -O3 cannot see pairs <= 4 */
    __m128i acc = _mm_setzero_si128();
#pragma GCC unroll 8
    for (int r = 0; r < ny; r++, p += stride) {
      __m128i h = _mm_setzero_si128();
#pragma GCC unroll 4
      for (int k = 0; k < pairs; k++) {
        __m128i a = _mm_shuffle_epi8(_mm_loadl_epi64((const __m128i *)(p + (size_t)(2 * k * ch))), shuf);
        h = _mm_add_epi32(h, _mm_madd_epi16(a, wp[k]));
      }
      acc = _mm_add_epi32(acc, _mm_mullo_epi32(h, _mm_set1_epi32(wy[r])));
    }
    store_sep8(out + (size_t)x * (size_t)ch, ch, acc, mode, EW, EH, x + 1 < j->width);
  }
}

/* row_sep8_sse41 two tap rows at a time, one in each half of a 256-bit
 * register (a missing last row reads the one before with weight 0): the
 * same sums. */
__attribute__((target("avx2"), always_inline)) static inline void row_sep8_avx2(const view_job *j, int y, int ch,
                                                                                int mode) {
  const int32_t *pos = j->pos + 2 * (size_t)y * (size_t)j->width;
  const uint16_t *ext = j->ext ? j->ext + 2 * (size_t)y * (size_t)j->width : NULL;
  uint8_t *out = j->dst + (size_t)y * (size_t)j->dstride;
  const size_t stride = (size_t)j->stride;
  const __m256i shuf = _mm256_broadcastsi128_si256(pair_shuffle(ch));
  for (int x = 0; x < j->width; x++) {
    int32_t wy[TSR_MAX_TAPS + 1], EW, EH;
    int pw[TSR_MAX_TAPS / 2], nx, ny;
    if (mode == TSR_MODE_AREA) {
      int w2[2];
      const uint8_t *p = area4_taps(j, pos, ext, x, ch, w2, wy, &EW, &EH);
      if (p) {
        const __m256i w0 = _mm256_set1_epi32(w2[0]), w1 = _mm256_set1_epi32(w2[1]);
        __m256i acc = _mm256_setzero_si256();
        for (int r = 0; r < 4; r += 2, p += 2 * stride) {
          __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)p)),
                                              _mm_loadl_epi64((const __m128i *)(p + stride)), 1);
          __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(p + 2 * ch))),
                                              _mm_loadl_epi64((const __m128i *)(p + stride + 2 * ch)), 1);
          __m256i h = _mm256_add_epi32(_mm256_madd_epi16(_mm256_shuffle_epi8(a, shuf), w0),
                                       _mm256_madd_epi16(_mm256_shuffle_epi8(b, shuf), w1));
          __m256i wv = _mm256_inserti128_si256(_mm256_set1_epi32(wy[r]), _mm_set1_epi32(wy[r + 1]), 1);
          acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(h, wv));
        }
        store_sep8(out + (size_t)x * (size_t)ch, ch,
                   _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1)), mode, EW, EH,
                   x + 1 < j->width);
        continue;
      }
    }
    const uint8_t *p = sep_taps(j, pos, ext, x, ch, mode, out, pw, wy, &nx, &ny, &EW, &EH);
    if (!p) continue;
    int pairs = (nx + 1) / 2;
    __m256i wp[TSR_MAX_TAPS / 2];
    for (int k = 0; k < TSR_MAX_TAPS / 2; k++) wp[k] = _mm256_set1_epi32(k < pairs ? pw[k] : 0);
    __m256i acc = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int r = 0; r < ny; r += 2) {
      const uint8_t *p0 = p + (size_t)r * stride, *p1 = r + 1 < ny ? p0 + stride : p0;
      __m256i h = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int k = 0; k < pairs; k++) {
        __m128i lo = _mm_loadl_epi64((const __m128i *)(p0 + (size_t)(2 * k * ch)));
        __m128i hi = _mm_loadl_epi64((const __m128i *)(p1 + (size_t)(2 * k * ch)));
        __m256i a = _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), shuf);
        h = _mm256_add_epi32(h, _mm256_madd_epi16(a, wp[k]));
      }
      __m256i wv = _mm256_inserti128_si256(_mm256_set1_epi32(wy[r]), _mm_set1_epi32(wy[r + 1]), 1);
      acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(h, wv));
    }
    store_sep8(out + (size_t)x * (size_t)ch, ch,
               _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1)), mode, EW, EH,
                   x + 1 < j->width);
  }
}

#define SEP_ROW(C, M, NAME)                                                                                   \
  __attribute__((target("sse4.1"))) static void NAME(const view_job *j, int y) { row_sep8_sse41(j, y, C, M); }
SEP_ROW(3, TSR_MODE_BICUBIC, row_sep8_sse41_3c)
SEP_ROW(3, TSR_MODE_LANCZOS3, row_sep8_sse41_3l)
SEP_ROW(3, TSR_MODE_AREA, row_sep8_sse41_3a)
#define SEP_ROW2(C, M, NAME)                                                                                  \
  __attribute__((target("avx2"))) static void NAME(const view_job *j, int y) { row_sep8_avx2(j, y, C, M); }
SEP_ROW2(3, TSR_MODE_BICUBIC, row_sep8_avx2_3c)
SEP_ROW2(3, TSR_MODE_LANCZOS3, row_sep8_avx2_3l)
SEP_ROW2(3, TSR_MODE_AREA, row_sep8_avx2_3a)

__attribute__((target("sse4.1"))) static void row_bilinear8_sse41_3(const view_job *j, int y) {
  row_bilinear8_sse41(j, y, 3);
}

static int have_sse41(void) {
  static int cached = -1;
  if (cached < 0) cached = __builtin_cpu_supports("sse4.1") ? 1 : 0;
  return cached;
}

static int have_avx2(void) {
  static int cached = -1;
  if (cached < 0) cached = __builtin_cpu_supports("avx2") && !getenv("TESSERA_NO_AVX2") ? 1 : 0;
  return cached;
}
#endif

static void row(const view_job *j, int y, int ch, int depth) {
  if ((ch == 2 || ch == 4) && j->mode != TSR_MODE_NEAREST) { /* alpha: premultiplied, tsr_warp_sample */
    row_any(j, y, ch, depth);
    return;
  }
  if (depth == 8 && j->mode == TSR_MODE_BILINEAR) {
#ifdef TSR_HAVE_X86
    if (ch == 3 && have_sse41()) {
      row_bilinear8_sse41_3(j, y);
      return;
    }
#endif
    if (ch == 1) row_bilinear8(j, y, 1);
    else row_bilinear8(j, y, 3);
    return;
  }
  if (depth == 8 && j->mode == TSR_MODE_NEAREST) {
    switch (ch) {
    case 1: row_nearest8(j, y, 1); return;
    case 2: row_nearest8(j, y, 2); return;
    case 3: row_nearest8(j, y, 3); return;
    default: row_nearest8(j, y, 4); return;
    }
  }
#ifdef TSR_HAVE_X86
  if (depth == 8 && ch == 3 && have_avx2()) {
    if (j->mode == TSR_MODE_BICUBIC) row_sep8_avx2_3c(j, y);
    else if (j->mode == TSR_MODE_LANCZOS3) row_sep8_avx2_3l(j, y);
    else row_sep8_avx2_3a(j, y);
    return;
  }
  if (depth == 8 && ch == 3 && have_sse41()) {
    if (j->mode == TSR_MODE_BICUBIC) row_sep8_sse41_3c(j, y);
    else if (j->mode == TSR_MODE_LANCZOS3) row_sep8_sse41_3l(j, y);
    else row_sep8_sse41_3a(j, y);
    return;
  }
#endif
  row_any(j, y, ch, depth);
}

static const uint8_t *level_ptr(const tsr__warp_plan *p, int k, const uint8_t *src, const uint8_t *levels) {
  return k ? levels + (p->s.level_offset[k] - p->s.level_offset[1]) : src;
}

void tsr__warp_levels_cpu(const tsr__warp_plan *p, const uint8_t *src, uint8_t *levels, int threads) {
  const tsr_warp_src *s = &p->s;
  for (int k = 0; k + 1 < s->nlevels; k++) {
    const uint8_t *from = level_ptr(p, k, src, levels);
    uint8_t *to = levels + (s->level_offset[k + 1] - s->level_offset[1]);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int y = 0; y < s->level_h[k + 1]; y++)
      for (int x = 0; x < s->level_w[k + 1]; x++)
        tsr_pyr_pixel(from, s->level_w[k], s->level_h[k], s->level_stride[k], to, s->level_stride[k + 1],
                      s->channels, s->depth, x, y);
  }
}

void tsr__warp_view_cpu(const tsr__warp_plan *p, int v, const uint8_t *src, const uint8_t *levels, uint8_t *dst,
                        int threads) {
  const tsr_warp_src *s = &p->s;
  const tsr_warp_vdesc *d = &p->vd[v];
  int L = d->level;
  view_job j = {level_ptr(p, L, src, levels), s->level_w[L], s->level_h[L], s->level_stride[L],
                p->pos + 2 * d->pos_offset, d->mode == TSR_MODE_AREA ? p->ext + 2 * d->ext_offset : NULL, dst,
                d->width, d->stride, d->mode, s->border};
#pragma omp parallel for num_threads(threads) schedule(static, 8)
  for (int y = 0; y < d->height; y++) row(&j, y, s->channels, s->depth);
}
