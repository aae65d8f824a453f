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

tsr_status tsr__stereo_work_alloc(tsr__stereo_work *wk, int max_w, int max_h, int max_rw, int nd) {
  memset(wk, 0, sizeof *wk);
  int ndp = (nd + 15) / 16 * 16;
  size_t px = (size_t)max_w * (size_t)max_h, sl = slot_len(ndp);
  wk->max_w = max_w;
  wk->max_h = max_h;
  wk->max_rw = max_rw;
  wk->nd = nd;
  wk->ndp = ndp;
  wk->censl = zalloc(px * 8);
  wk->censr = zalloc((size_t)max_rw * (size_t)max_h * 8);
  wk->cost = zalloc(px * (size_t)ndp);
  wk->sum = zalloc(px * (size_t)ndp * 2);
  wk->rows = zalloc((2 * 3 * (size_t)max_w + 1) * sl * 2);
  wk->rowmin = zalloc(2 * 3 * (size_t)max_w * 4);
  wk->hrows = zalloc((3 * (size_t)max_h + 1) * sl * 2);
  wk->padmask = zalloc((size_t)ndp * 2);
  wk->raw = zalloc(px * 2);
  wk->disp = zalloc(px * 2);
  wk->dispr = zalloc((size_t)max_rw * (size_t)max_h * 2);
  wk->conf = zalloc(px);
  if (!wk->censl || !wk->censr || !wk->cost || !wk->sum || !wk->rows || !wk->rowmin || !wk->hrows || !wk->padmask ||
      !wk->raw || !wk->disp || !wk->dispr || !wk->conf) {
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
  if (nd == wk->nd) return;
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
  int m = TSR_SGM_SENTINEL;
  for (int d = 0; d < nd; d++) {
    int v = lp ? tsr_sgm_cell(c[d], lp[d - 1], lp[d], lp[d + 1], mprev, p1, p2) : c[d];
    lc[d] = (uint16_t)v;
    s[d] = (uint16_t)(add ? s[d] + v : v);
    if (v < m) m = v;
  }
  return m;
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

static void census_and_costs(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  int ndp = wk->ndp;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    uint64_t *cl = wk->censl + (size_t)y * (size_t)d->w, *cr = wk->censr + (size_t)y * (size_t)d->rw;
    for (int x = 0; x < d->w; x++) cl[x] = tsr_census(j->left, d->width, d->height, j->stride, d->x0 + x, d->y0 + y);
    for (int x = 0; x < d->rw; x++)
      cr[x] = tsr_census(j->right, d->width, d->height, j->stride, d->rx0 + x, d->y0 + y);
    for (int x = 0; x < d->w; x++) {
      uint8_t *c = wk->cost + ((size_t)y * (size_t)d->w + (size_t)x) * (size_t)ndp;
      int gx = d->x0 + x;
      for (int k = 0; k < d->nd; k++) c[k] = tsr_stereo_cost(cl[x], cr, d->rx0, d->width, gx, d->dmin + k);
      for (int k = d->nd; k < ndp; k++) c[k] = 0;
    }
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

/* Winner, uniqueness, subpixel and confidence of each pixel of a row,
 * then the right image's disparities from the same sums and the
 * left-right check. */
static void winners(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    int16_t *raw = wk->raw + (size_t)y * (size_t)d->w, *dr = wk->dispr + (size_t)y * (size_t)d->rw;
    uint8_t *conf = wk->conf + (size_t)y * (size_t)d->w;
    /* the right image's integer disparities first: the check reads them */
    for (int xr = 0; xr < d->rw; xr++) {
      int gx = d->rx0 + xr, best = -1, smin = 0x10000;
      for (int k = 0; k < d->nd; k++) {
        int lx = gx + d->dmin + k - d->x0;
        if (lx < 0 || lx >= d->w) continue;
        int v = sum_at(j, lx, y)[k];
        if (v < smin) {
          smin = v;
          best = k;
        }
      }
      dr[xr] = (int16_t)(best < 0 ? TSR_DISP_INVALID : (d->dmin + best) * TSR_DISP_SCALE);
    }
    for (int x = 0; x < d->w; x++) {
      const uint16_t *s = sum_at(j, x, y);
      int best = 0, smin = s[0];
      for (int k = 1; k < d->nd; k++)
        if (s[k] < smin) {
          smin = s[k];
          best = k;
        }
      int s2 = 0xFFFF, ok = 1;
      for (int k = 0; k < d->nd; k++) {
        if (k >= best - 1 && k <= best + 1) continue;
        if (s[k] < s2) s2 = s[k];
        if (d->uniqueness && !tsr_unique_enough(smin, s[k], d->uniqueness)) ok = 0;
      }
      conf[x] = (uint8_t)(s2 == 0xFFFF ? 255 : s2 > 0 ? (s2 - smin) * 255 / s2 : 0);
      if (ok && d->lr_max >= 0) {
        /* a right pixel outside the image or without candidates in the
         * tile cannot be checked: the match stands */
        int di = d->dmin + best, xr = d->x0 + x - di - d->rx0;
        if (xr >= 0 && xr < d->rw && dr[xr] != TSR_DISP_INVALID) {
          int diff = dr[xr] / TSR_DISP_SCALE - di;
          if (diff > d->lr_max || -diff > d->lr_max) ok = 0;
        }
      }
      int sub = best > 0 && best < d->nd - 1 ? tsr_subpixel16(s[best - 1], smin, s[best + 1]) : 0;
      raw[x] = (int16_t)(ok ? (d->dmin + best) * TSR_DISP_SCALE + sub : TSR_DISP_INVALID);
    }
  }
}

static void median3(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    for (int x = 0; x < d->w; x++) {
      int16_t c = wk->raw[(size_t)y * (size_t)d->w + (size_t)x];
      if (c == TSR_DISP_INVALID) {
        wk->disp[(size_t)y * (size_t)d->w + (size_t)x] = c;
        continue;
      }
      int32_t v[9];
      int n = 0;
      for (int yy = y - 1; yy <= y + 1; yy++)
        for (int xx = x - 1; xx <= x + 1; xx++)
          if (yy >= 0 && yy < d->h && xx >= 0 && xx < d->w) v[n++] = wk->raw[(size_t)yy * (size_t)d->w + (size_t)xx];
      wk->disp[(size_t)y * (size_t)d->w + (size_t)x] = (int16_t)tsr_median_valid(v, n);
    }
  }
}

void tsr__stereo_tile_cpu(tsr__stereo_work *wk, const tsr_stereo_desc *d, const uint8_t *left, const uint8_t *right,
                          int stride, int threads, int simd) {
  tile_job j = {wk, d, left, right, stride, pick_step(simd)};
  if (threads < 1) threads = 1;
  census_and_costs(&j, threads);
  horizontal_paths(&j, threads);
  vertical_sweep(&j, 1, threads);
  vertical_sweep(&j, -1, threads);
  winners(&j, threads);
  median3(&j, threads);
}
