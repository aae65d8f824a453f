/* The CPU backend's stereo matcher: OpenMP loops around cl/stereo.h, one
 * tile at a time.
 *
 * The passes: census of the tile's left region and of the right columns
 * it reads; the cost volume (h x w x ndp bytes); the aggregation, whose
 * paths are summed into a 16-bit volume: the horizontal paths row by row
 * (rows in parallel), then a top-down and a bottom-up sweep for the
 * vertical and diagonal paths (each row split between the threads, a
 * barrier between rows, since a row's paths read the previous row's);
 * then per row the winner, the right image's disparities from the same
 * volume and the left-right check; last the median. Every value is that
 * of the shared header's integer functions, so the thread count, the
 * vector path (AVX2: 16 disparities at once, the same integer sums) and
 * the tile order change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TSR_HAVE_X86 1
#endif
#include <omp.h>

#include "ops/stereo_impl.h"

#define SLOT_PAD 16 /* u16 before each pixel's values: the sentinel at [-1] */

static inline size_t slot_len(int ndp) { return (size_t)ndp + SLOT_PAD; }

uint64_t tsr__stereo_work_bytes(int w, int h, int rw, int ndp) {
  uint64_t px = (uint64_t)w * (uint64_t)h, sl = slot_len(ndp) * 2;
  return px * 8 + (uint64_t)rw * (uint64_t)h * 8 /* census */
         + px * (uint64_t)ndp * 3                /* costs, sums */
         + (2 * 3 * (uint64_t)w + 1) * sl + 2 * 3 * (uint64_t)w * 4 /* vertical sweeps */
         + (3 * (uint64_t)h + 1) * sl                                 /* horizontal paths */
         + (uint64_t)ndp * 2 + px * 5 + (uint64_t)rw * (uint64_t)h * 2 + 4096;
}

static void *zalloc(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 64, n ? n : 64)) return NULL;
  return p;
}

static void fill_sentinel(uint16_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = TSR_SGM_SENTINEL;
}

void tsr__stereo_work_free(tsr__stereo_work *wk) {
  free(wk->censl);
  free(wk->censr);
  free(wk->cost);
  free(wk->sum);
  free(wk->rows);
  free(wk->rowmin);
  free(wk->hrows);
  free(wk->padmask);
  free(wk->raw);
  free(wk->disp);
  free(wk->dispr);
  free(wk->conf);
  memset(wk, 0, sizeof *wk);
}

tsr_status tsr__stereo_work_alloc(tsr__stereo_work *wk, int max_w, int max_h, int max_rw, int nd, int outputs_only) {
  memset(wk, 0, sizeof *wk);
  int ndp = (nd + 15) / 16 * 16;
  size_t px = (size_t)max_w * (size_t)max_h, sl = slot_len(ndp);
  wk->max_w = max_w;
  wk->max_h = max_h;
  wk->max_rw = max_rw;
  wk->nd = nd;
  wk->ndp = ndp;
  wk->raw = zalloc(px * 2);
  wk->disp = zalloc(px * 2);
  wk->dispr = zalloc((size_t)max_rw * (size_t)max_h * 2);
  wk->conf = zalloc(px);
  if (!wk->raw || !wk->disp || !wk->dispr || !wk->conf) {
    tsr__stereo_work_free(wk);
    return TSR_E_NOMEM;
  }
  if (outputs_only) return TSR_OK;
  wk->censl = zalloc(px * 8);
  wk->censr = zalloc((size_t)max_rw * (size_t)max_h * 8);
  wk->cost = zalloc(px * (size_t)ndp);
  wk->sum = zalloc(px * (size_t)ndp * 2);
  wk->rows = zalloc((2 * 3 * (size_t)max_w + 1) * sl * 2);
  wk->rowmin = zalloc(2 * 3 * (size_t)max_w * 4);
  wk->hrows = zalloc((3 * (size_t)max_h + 1) * sl * 2);
  wk->padmask = zalloc((size_t)ndp * 2);
  if (!wk->censl || !wk->censr || !wk->cost || !wk->sum || !wk->rows || !wk->rowmin || !wk->hrows || !wk->padmask) {
    tsr__stereo_work_free(wk);
    return TSR_E_NOMEM;
  }
  /* Pads never written hold the sentinel; the values past nd too (the
   * vector loops keep them so). */
  fill_sentinel(wk->rows, (2 * 3 * (size_t)max_w + 1) * sl);
  fill_sentinel(wk->hrows, (3 * (size_t)max_h + 1) * sl);
  for (int d = 0; d < ndp; d++) wk->padmask[d] = d < nd ? 0 : TSR_SGM_SENTINEL;
  return TSR_OK;
}

void tsr__stereo_work_range(tsr__stereo_work *wk, int nd) {
  if (nd == wk->nd || !wk->rows) return;
  /* every slot's pads and the values past nd must hold the sentinel again */
  int ndp = (nd + 15) / 16 * 16;
  wk->nd = nd;
  wk->ndp = ndp;
  fill_sentinel(wk->rows, (2 * 3 * (size_t)wk->max_w + 1) * slot_len(ndp));
  fill_sentinel(wk->hrows, (3 * (size_t)wk->max_h + 1) * slot_len(ndp));
  for (int d = 0; d < ndp; d++) wk->padmask[d] = d < nd ? 0 : TSR_SGM_SENTINEL;
}

/* ---- one step of a path, over every disparity ---------------------------- */
/* lc[d] = the path's value at this pixel (lp: the previous pixel's, NULL
 * at the path's start); s[d] = (add ? s[d] : 0) + lc[d]. Returns the
 * minimum over d of lc. */
typedef int (*step_fn)(const uint8_t *c, const uint16_t *lp, int mprev, uint16_t *lc, uint16_t *s, int nd, int ndp,
                       const uint16_t *padmask, int p1, int p2, int add);

static int step_scalar(const uint8_t *c, const uint16_t *lp, int mprev, uint16_t *lc, uint16_t *s, int nd, int ndp,
                       const uint16_t *padmask, int p1, int p2, int add) {
  (void)ndp;
  (void)padmask;
  return tsr_sgm_step(c, lp, lp != NULL, mprev, lc, s, nd, p1, p2, add);
}

#ifdef TSR_HAVE_X86
__attribute__((target("avx2"))) static int step_avx2(const uint8_t *c, const uint16_t *lp, int mprev, uint16_t *lc,
                                                     uint16_t *s, int nd, int ndp, const uint16_t *padmask, int p1,
                                                     int p2, int add) {
  (void)nd;
  __m256i vmin = _mm256_set1_epi16(TSR_SGM_SENTINEL);
  if (!lp) {
    for (int d = 0; d < ndp; d += 16) {
      __m256i v = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(c + d)));
      v = _mm256_max_epu16(v, _mm256_load_si256((const __m256i *)(padmask + d)));
      _mm256_store_si256((__m256i *)(lc + d), v);
      __m256i sv = add ? _mm256_add_epi16(_mm256_load_si256((const __m256i *)(s + d)), v) : v;
      _mm256_store_si256((__m256i *)(s + d), sv);
      vmin = _mm256_min_epu16(vmin, v);
    }
  } else {
    /* min(lm, lp) + P1, l0, mprev + P2: every term below 2^16 (values
     * and the sentinel are below 2^15, P2 below 4096), so plain adds. */
    __m256i vp1 = _mm256_set1_epi16((short)p1), vmp2 = _mm256_set1_epi16((short)(mprev + p2));
    __m256i vm = _mm256_set1_epi16((short)mprev);
    for (int d = 0; d < ndp; d += 16) {
      __m256i l0 = _mm256_load_si256((const __m256i *)(lp + d));
      __m256i lm = _mm256_loadu_si256((const __m256i *)(lp + d - 1));
      __m256i lq = _mm256_loadu_si256((const __m256i *)(lp + d + 1));
      __m256i v = _mm256_add_epi16(_mm256_min_epu16(lm, lq), vp1);
      v = _mm256_min_epu16(_mm256_min_epu16(v, l0), vmp2);
      __m256i cv = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(c + d)));
      v = _mm256_sub_epi16(_mm256_add_epi16(cv, v), vm);
      v = _mm256_max_epu16(v, _mm256_load_si256((const __m256i *)(padmask + d)));
      _mm256_store_si256((__m256i *)(lc + d), v);
      __m256i sv = add ? _mm256_add_epi16(_mm256_load_si256((const __m256i *)(s + d)), v) : v;
      _mm256_store_si256((__m256i *)(s + d), sv);
      vmin = _mm256_min_epu16(vmin, v);
    }
  }
  __m128i m = _mm_min_epu16(_mm256_castsi256_si128(vmin), _mm256_extracti128_si256(vmin, 1));
  return _mm_extract_epi16(_mm_minpos_epu16(m), 0);
}
#endif

static step_fn pick_step(int simd) {
#ifdef TSR_HAVE_X86
  if (simd != 0 && __builtin_cpu_supports("avx2") && !getenv("TESSERA_NO_AVX2")) return step_avx2;
#endif
  (void)simd;
  return step_scalar;
}

/* ---- the passes ------------------------------------------------------------ */
typedef struct {
  tsr__stereo_work *wk;
  const tsr_stereo_desc *d;
  const uint8_t *left, *right;
  int stride;
  step_fn step;
} tile_job;

static inline const uint8_t *cost_at(const tile_job *j, int x, int y) {
  return j->wk->cost + ((size_t)y * (size_t)j->d->w + (size_t)x) * (size_t)j->wk->ndp;
}
static inline uint16_t *sum_at(const tile_job *j, int x, int y) {
  return j->wk->sum + ((size_t)y * (size_t)j->d->w + (size_t)x) * (size_t)j->wk->ndp;
}
static inline int gray_at(const tile_job *j, int x, int y) {
  return j->left[(size_t)(j->d->y0 + y) * (size_t)j->stride + (size_t)(j->d->x0 + x)];
}

/* Census of n pixels of row y from x: the SSE2 path compares a window
 * row's 9 bytes with the centre in one instruction (bytes biased by 128
 * so that the signed comparison orders them as unsigned); pixels whose
 * 16-byte loads would leave the row take tsr_census. */
static void census_row(const uint8_t *img, int W, int H, int stride, int y, int x, int n, uint64_t *out) {
#ifdef TSR_HAVE_X86
  const uint8_t *rows[2 * TSR_CENSUS_RY + 1];
  for (int r = 0; r < 2 * TSR_CENSUS_RY + 1; r++) {
    int yy = y + r - TSR_CENSUS_RY;
    rows[r] = img + (size_t)(yy < 0 ? 0 : yy >= H ? H - 1 : yy) * (size_t)stride;
  }
  const __m128i bias = _mm_set1_epi8((char)0x80);
#endif
  for (int i = 0; i < n; i++, x++) {
#ifdef TSR_HAVE_X86
    if (x >= TSR_CENSUS_RX && x - TSR_CENSUS_RX + 16 <= W) {
      __m128i c = _mm_set1_epi8((char)(rows[TSR_CENSUS_RY][x] ^ 0x80));
      uint64_t bits = 0;
      for (int r = 0; r < 2 * TSR_CENSUS_RY + 1; r++) {
        __m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(rows[r] + x - TSR_CENSUS_RX)), bias);
        uint64_t m = (uint64_t)(_mm_movemask_epi8(_mm_cmpgt_epi8(c, v)) & 0x1FF);
        bits |= m << (r * (2 * TSR_CENSUS_RX + 1));
      }
      out[i] = bits;
      continue;
    }
#endif
    out[i] = tsr_census(img, W, H, stride, x, y);
  }
}

/* One row's costs; the right pixels of interior disparities are all in
 * the census row, so the inner loop is a popcount per cell. */
static inline void cost_row_body(const tsr_stereo_desc *d, int ndp, const uint64_t *cl, const uint64_t *cr, uint8_t *cost) {
  for (int x = 0; x < d->w; x++) {
    uint8_t *c = cost + (size_t)x * (size_t)ndp;
    int gx = d->x0 + x;
    int xr_hi = gx - d->dmin, xr_lo = gx - d->dmin - d->nd + 1;
    if (xr_lo >= 0 && xr_hi < d->width) {
      const uint64_t *r = cr + (xr_hi - d->rx0);
      uint64_t l = cl[x];
      for (int k = 0; k < d->nd; k++) c[k] = (uint8_t)__builtin_popcountll(l ^ r[-k]);
    } else {
      for (int k = 0; k < d->nd; k++) c[k] = tsr_stereo_cost(cl[x], cr, d->rx0, d->width, gx, d->dmin + k);
    }
    for (int k = d->nd; k < ndp; k++) c[k] = 0;
  }
}
#ifdef TSR_HAVE_X86
__attribute__((target("popcnt"))) static void cost_row_popcnt(const tsr_stereo_desc *d, int ndp, const uint64_t *cl,
                                                              const uint64_t *cr, uint8_t *cost) {
  cost_row_body(d, ndp, cl, cr, cost);
}
#endif
static void cost_row_plain(const tsr_stereo_desc *d, int ndp, const uint64_t *cl, const uint64_t *cr, uint8_t *cost) {
  cost_row_body(d, ndp, cl, cr, cost);
}

static void census_and_costs(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  int ndp = wk->ndp;
  void (*cost_row)(const tsr_stereo_desc *, int, const uint64_t *, const uint64_t *, uint8_t *) = cost_row_plain;
#ifdef TSR_HAVE_X86
  if (__builtin_cpu_supports("popcnt")) cost_row = cost_row_popcnt;
#endif
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    uint64_t *cl = wk->censl + (size_t)y * (size_t)d->w, *cr = wk->censr + (size_t)y * (size_t)d->rw;
    census_row(j->left, d->width, d->height, j->stride, d->y0 + y, d->x0, d->w, cl);
    census_row(j->right, d->width, d->height, j->stride, d->y0 + y, d->rx0, d->rw, cr);
    cost_row(d, ndp, cl, cr, wk->cost + (size_t)y * (size_t)d->w * (size_t)ndp);
  }
}

static void horizontal_paths(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  size_t sl = slot_len(wk->ndp);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    uint16_t *a = wk->hrows + 3 * (size_t)y * sl + SLOT_PAD, *b = a + sl;
    for (int dir = 0; dir < 2; dir++) {
      int x = dir ? d->w - 1 : 0, step = dir ? -1 : 1, m = 0;
      uint16_t *prev = NULL, *cur = a;
      for (int n = 0; n < d->w; n++, x += step) {
        int p2 = prev ? tsr_sgm_p2(d->p1, d->p2, gray_at(j, x, y), gray_at(j, x - step, y)) : d->p2;
        m = j->step(cost_at(j, x, y), prev, m, cur, sum_at(j, x, y), d->nd, wk->ndp, wk->padmask, d->p1, p2, dir);
        prev = cur;
        cur = cur == a ? b : a;
      }
    }
  }
}

/* The vertical and diagonal paths of one sweep direction (dy = 1: top
 * down, -1: bottom up): each row reads the previous row's values. */
static void vertical_sweep(const tile_job *j, int dy, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  size_t sl = slot_len(wk->ndp);
  int npaths = d->paths == 8 ? 3 : 1;
  static const int dxs[3] = {0, 1, -1}; /* the previous pixel is (x - dx, y - dy) */
#pragma omp parallel num_threads(threads)
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int xa = (int)((int64_t)d->w * t / nt), xb = (int)((int64_t)d->w * (t + 1) / nt);
    for (int n = 0; n < d->h; n++) {
      int y = dy > 0 ? n : d->h - 1 - n, set = n & 1;
      for (int p = 0; p < npaths; p++) {
        uint16_t *cur = wk->rows + ((size_t)set * 3 + (size_t)p) * (size_t)d->w * sl + SLOT_PAD;
        uint16_t *old = wk->rows + ((size_t)(set ^ 1) * 3 + (size_t)p) * (size_t)d->w * sl + SLOT_PAD;
        int32_t *mcur = wk->rowmin + ((size_t)set * 3 + (size_t)p) * (size_t)d->w;
        int32_t *mold = wk->rowmin + ((size_t)(set ^ 1) * 3 + (size_t)p) * (size_t)d->w;
        for (int x = xa; x < xb; x++) {
          int px = x - dxs[p];
          int has_prev = n > 0 && px >= 0 && px < d->w;
          const uint16_t *lp = has_prev ? old + (size_t)px * sl : NULL;
          int p2 = has_prev ? tsr_sgm_p2(d->p1, d->p2, gray_at(j, x, y), gray_at(j, px, y - dy)) : d->p2;
          mcur[x] = j->step(cost_at(j, x, y), lp, has_prev ? mold[px] : 0, cur + (size_t)x * sl, sum_at(j, x, y),
                            d->nd, wk->ndp, wk->padmask, d->p1, p2, 1);
        }
      }
#pragma omp barrier
    }
  }
}

typedef tsr_stereo_win winner;

static winner winner_scalar(const uint16_t *s, const tsr_stereo_desc *d, const uint16_t *padmask) {
  (void)padmask;
  return tsr_stereo_winner(s, d->nd, d->uniqueness);
}

#ifdef TSR_HAVE_X86
/* The same, 16 sums at a time: tsr_unique_enough(smin, s, u) is
 * s >= ceil(smin (100 + u) / 100), one threshold for every s. */
__attribute__((target("avx2"))) static winner winner_avx2(const uint16_t *s, const tsr_stereo_desc *d,
                                                          const uint16_t *padmask) {
  int ndp = d->ndp;
  const __m256i sent = _mm256_set1_epi16(TSR_SGM_SENTINEL), ones = _mm256_set1_epi16(-1);
  __m256i vmin = ones;
  for (int k = 0; k < ndp; k += 16) {
    __m256i pad = _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(padmask + k)), sent);
    vmin = _mm256_min_epu16(vmin, _mm256_or_si256(_mm256_load_si256((const __m256i *)(s + k)), pad));
  }
  __m128i m = _mm_min_epu16(_mm256_castsi256_si128(vmin), _mm256_extracti128_si256(vmin, 1));
  winner w = {0, _mm_extract_epi16(_mm_minpos_epu16(m), 0), 0xFFFF, 1};
  __m256i vs = _mm256_set1_epi16((short)w.smin);
  for (int k = 0; k < ndp; k += 16) {
    unsigned bits = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(s + k)), vs));
    if (bits) {
      w.best = k + __builtin_ctz(bits) / 2;
      break;
    }
  }
  int thr = d->uniqueness ? (w.smin * (100 + d->uniqueness) + 99) / 100 : 0; /* s < thr fails */
  __m256i vthr1 = _mm256_set1_epi16((short)(thr > 0 ? thr - 1 : 0));
  __m256i lo = _mm256_set1_epi16((short)(w.best - 2)), hi = _mm256_set1_epi16((short)(w.best + 2));
  __m256i idx = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), sixteen = _mm256_set1_epi16(16);
  __m256i v2 = ones, fail = _mm256_setzero_si256();
  for (int k = 0; k < ndp; k += 16, idx = _mm256_add_epi16(idx, sixteen)) {
    __m256i v = _mm256_load_si256((const __m256i *)(s + k));
    /* excluded: the pads and best - 1 .. best + 1 */
    __m256i ex = _mm256_or_si256(_mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(padmask + k)), sent),
                                 _mm256_and_si256(_mm256_cmpgt_epi16(idx, lo), _mm256_cmpgt_epi16(hi, idx)));
    v = _mm256_or_si256(v, ex);
    v2 = _mm256_min_epu16(v2, v);
    if (thr > 0) /* v <= thr - 1, on lanes not excluded (those are 0xFFFF) */
      fail = _mm256_or_si256(fail, _mm256_cmpeq_epi16(_mm256_min_epu16(v, vthr1), v));
  }
  m = _mm_min_epu16(_mm256_castsi256_si128(v2), _mm256_extracti128_si256(v2, 1));
  w.s2 = _mm_extract_epi16(_mm_minpos_epu16(m), 0);
  w.unique = thr <= 0 || _mm256_testz_si256(fail, fail);
  return w;
}

/* The right image's winners of one row: right pixel xr's candidates are
 * the left pixels x = xr + dmin + k. Indexed backwards (t = T0(x) + k),
 * a left pixel's candidates for all k are consecutive, so each left pixel
 * updates 16 right pixels per instruction; scanning x upwards meets each
 * right pixel's candidates in increasing k, and a strict "less" keeps the
 * first, as the scalar loop does. */
__attribute__((target("avx2"))) static void right_row_avx2(const uint16_t *sums, const tsr_stereo_desc *d,
                                                           const uint16_t *padmask, uint16_t *minr, uint16_t *bestr,
                                                           int16_t *dr) {
  int ndp = d->ndp, rw = d->rw, t_end = d->rx0 + rw - 1;
  const __m256i sent = _mm256_set1_epi16(TSR_SGM_SENTINEL);
  for (int t = 0; t < rw + ndp; t++) {
    minr[t] = 0xFFFF;
    bestr[t] = 0xFFFF;
  }
  for (int x = 0; x < d->w; x++) {
    const uint16_t *s = sums + (size_t)x * (size_t)ndp;
    int t0 = t_end - (d->x0 + x - d->dmin);
    if (t0 >= 0 && t0 + ndp <= rw + ndp) {
      __m256i kv = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
      const __m256i sixteen = _mm256_set1_epi16(16);
      for (int k = 0; k < ndp; k += 16, kv = _mm256_add_epi16(kv, sixteen)) {
        __m256i v = _mm256_or_si256(_mm256_load_si256((const __m256i *)(s + k)),
                                    _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(padmask + k)), sent));
        __m256i mv = _mm256_loadu_si256((const __m256i *)(minr + t0 + k));
        __m256i mn = _mm256_min_epu16(v, mv);
        __m256i lt = _mm256_andnot_si256(_mm256_cmpeq_epi16(v, mv), _mm256_cmpeq_epi16(mn, v));
        _mm256_storeu_si256((__m256i *)(minr + t0 + k), mn);
        __m256i bv = _mm256_loadu_si256((const __m256i *)(bestr + t0 + k));
        _mm256_storeu_si256((__m256i *)(bestr + t0 + k), _mm256_blendv_epi8(bv, kv, lt));
      }
    } else {
      for (int k = 0; k < d->nd; k++) {
        int t = t0 + k;
        if (t < 0 || t >= rw) continue;
        if (s[k] < minr[t]) {
          minr[t] = s[k];
          bestr[t] = (uint16_t)k;
        }
      }
    }
  }
  for (int xr = 0; xr < rw; xr++) {
    int t = t_end - (d->rx0 + xr);
    dr[xr] = (int16_t)(bestr[t] == 0xFFFF ? TSR_DISP_INVALID : (d->dmin + bestr[t]) * TSR_DISP_SCALE);
  }
}
#endif

static void right_row_scalar(const uint16_t *sums, const tsr_stereo_desc *d, int16_t *dr) {
  for (int xr = 0; xr < d->rw; xr++)
    dr[xr] = (int16_t)tsr_stereo_right_winner(sums, d->ndp, d->nd, d->dmin, d->x0, d->w, d->rx0 + xr);
}

/* Winner, uniqueness, subpixel and confidence of each pixel of a row,
 * then the right image's disparities from the same sums and the
 * left-right check. */
static void winners(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  int vec = j->step != step_scalar;
#pragma omp parallel num_threads(threads)
  {
    /* the vector right-winner scan's per-thread scratch (not planned: a
     * few bytes per column) */
    uint16_t *minr = vec ? malloc(((size_t)d->rw + (size_t)d->ndp + 16) * 4) : NULL;
    uint16_t *bestr = minr ? minr + d->rw + d->ndp + 16 : NULL;
#pragma omp for schedule(static)
    for (int y = 0; y < d->h; y++) {
      int16_t *raw = wk->raw + (size_t)y * (size_t)d->w, *dr = wk->dispr + (size_t)y * (size_t)d->rw;
      uint8_t *conf = wk->conf + (size_t)y * (size_t)d->w;
      const uint16_t *rowsum = sum_at(j, 0, y);
      /* the right image's integer disparities first: the check reads them */
#ifdef TSR_HAVE_X86
      if (minr) right_row_avx2(rowsum, d, wk->padmask, minr, bestr, dr);
      else
#endif
        right_row_scalar(rowsum, d, dr);
      for (int x = 0; x < d->w; x++) {
        const uint16_t *s = sum_at(j, x, y);
#ifdef TSR_HAVE_X86
        winner w = vec ? winner_avx2(s, d, wk->padmask) : winner_scalar(s, d, wk->padmask);
#else
        winner w = winner_scalar(s, d, wk->padmask);
#endif
        conf[x] = (uint8_t)tsr_stereo_conf(w);
        raw[x] = (int16_t)tsr_stereo_finish(s, w, d->nd, d->dmin, d->lr_max, d->x0 + x, dr, d->rx0, d->rw);
      }
    }
    free(minr);
  }
}

static void median_px(const tsr__stereo_work *wk, const tsr_stereo_desc *d, int x, int y) {
  wk->disp[(size_t)y * (size_t)d->w + (size_t)x] = (int16_t)tsr_stereo_median_at(wk->raw, d->w, d->h, x, y);
}

#ifdef TSR_HAVE_X86
/* 16 interior pixels at once: the 9 values sorted by an odd-even
 * transposition network (invalid values, the smallest, sort first), then
 * for n valid values the one at rank 9 - n + (n - 1) / 2: the lower middle
 * of the valid ones, as tsr_median_valid picks. */
__attribute__((target("avx2"))) static void median16_avx2(const tsr__stereo_work *wk, const tsr_stereo_desc *d, int x,
                                                          int y) {
  const int16_t *r = wk->raw + (size_t)y * (size_t)d->w + (size_t)x;
  const __m256i inv = _mm256_set1_epi16(TSR_DISP_INVALID);
  __m256i v[9], nvalid = _mm256_set1_epi16(9);
  for (int k = 0; k < 9; k++) {
    v[k] = _mm256_loadu_si256((const __m256i *)(r + (ptrdiff_t)(k / 3 - 1) * d->w + (k % 3 - 1)));
    nvalid = _mm256_add_epi16(nvalid, _mm256_cmpeq_epi16(v[k], inv)); /* -1 per invalid */
  }
  for (int round = 0; round < 9; round++)
    for (int i = round & 1; i + 1 < 9; i += 2) {
      __m256i a = _mm256_min_epi16(v[i], v[i + 1]);
      v[i + 1] = _mm256_max_epi16(v[i], v[i + 1]);
      v[i] = a;
    }
  /* rank = 9 - n + (n - 1) / 2 */
  __m256i rank = _mm256_add_epi16(_mm256_sub_epi16(_mm256_set1_epi16(9), nvalid),
                                  _mm256_srai_epi16(_mm256_sub_epi16(nvalid, _mm256_set1_epi16(1)), 1));
  __m256i res = v[0];
  for (int k = 1; k < 9; k++) res = _mm256_blendv_epi8(res, v[k], _mm256_cmpeq_epi16(rank, _mm256_set1_epi16((short)k)));
  __m256i c = _mm256_loadu_si256((const __m256i *)r);
  res = _mm256_blendv_epi8(res, inv, _mm256_cmpeq_epi16(c, inv));
  _mm256_storeu_si256((__m256i *)(wk->disp + (size_t)y * (size_t)d->w + (size_t)x), res);
}
#endif

static void median3(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  int vec = j->step != step_scalar;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    int x = 0;
#ifdef TSR_HAVE_X86
    if (vec && y > 0 && y + 1 < d->h) {
      median_px(wk, d, 0, y);
      for (x = 1; x + 16 + 1 <= d->w; x += 16) median16_avx2(wk, d, x, y);
    }
#else
    (void)vec;
#endif
    for (; x < d->w; x++) median_px(wk, d, x, y);
  }
}

void tsr__stereo_tile_cpu(tsr__stereo_work *wk, const tsr_stereo_desc *d, const uint8_t *left, const uint8_t *right,
                          int stride, int threads, int simd) {
  tile_job j = {wk, d, left, right, stride, pick_step(simd)};
  if (threads < 1) threads = 1;
  double t[7];
  t[0] = omp_get_wtime();
  census_and_costs(&j, threads);
  t[1] = omp_get_wtime();
  horizontal_paths(&j, threads);
  t[2] = omp_get_wtime();
  vertical_sweep(&j, 1, threads);
  t[3] = omp_get_wtime();
  vertical_sweep(&j, -1, threads);
  t[4] = omp_get_wtime();
  winners(&j, threads);
  t[5] = omp_get_wtime();
  median3(&j, threads);
  t[6] = omp_get_wtime();
  if (getenv("TSR_T")) fprintf(stderr, "cost %.1f h %.1f down %.1f up %.1f wta %.1f med %.1f ms\n", (t[1]-t[0])*1e3, (t[2]-t[1])*1e3, (t[3]-t[2])*1e3, (t[4]-t[3])*1e3, (t[5]-t[4])*1e3, (t[6]-t[5])*1e3);
}
