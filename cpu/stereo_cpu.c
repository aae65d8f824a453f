/* The CPU backend's stereo matcher: OpenMP loops around cl/stereo.h, one
 * tile at a time, in two sweeps over the rows so that the 16-bit sums
 * cross memory once each way.
 *
 * First the census of the tile's left region and of the right columns it
 * reads. The forward sweep (top down) computes each row's costs from the
 * census, the paths that come from above (down; with 8 paths also the
 * two diagonals) and the left-to-right path, and stores their sum. The
 * backward sweep (bottom up) recomputes the row's costs, adds the paths
 * from below and right to left to the stored sum in a row buffer, and
 * picks the row's winners at once (the right image's disparities from the
 * same sums, the left-right check). Last, the median.
 *
 * Threads: the paths from above or below of one row are independent per
 * pixel, so the row is cut into one span per thread, with a barrier per
 * row; the horizontal path, one chain along the row, runs on thread 0 one
 * row behind, and the winners on the last thread two rows behind, their
 * spans shortened to balance. Every value is that of the shared header's
 * integer functions, so the thread count and the vector path (AVX2, 16
 * disparities at once, the same integer sums) change nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TSR_HAVE_X86 1
#endif
#include <omp.h>

#include "ops/stereo_impl.h"

#define SLOT_PAD 16 /* u16 before each pixel's path values: the sentinel at [-1] */

static inline size_t slot_len(int ndp) { return (size_t)ndp + SLOT_PAD; }

uint64_t tsr__stereo_work_bytes(int w, int h, int rw, int ndp) {
  uint64_t px = (uint64_t)w * (uint64_t)h, sl = slot_len(ndp) * 2, W = (uint64_t)w, R = (uint64_t)rw;
  return px * 8 + R * (uint64_t)h * 8               /* census */
         + px * (uint64_t)ndp * 2                   /* the forward sums */
         + W * (uint64_t)ndp * (2 * 2 + 3 * 2)      /* cost rows, backward row sums */
         + (2 * 3 * W + 1) * sl + 2 * 3 * W * 4     /* paths from above/below */
         + 3 * sl + W * 16 + R * 4 + 64             /* horizontal path, a row's winners, the right map */
         + (uint64_t)ndp * 2 + px * 9 + R * (uint64_t)h * 2 + 4096; /* outputs */
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
  free(wk->sum);
  free(wk->crow);
  free(wk->trow);
  free(wk->rows);
  free(wk->rowmin);
  free(wk->hrows);
  free(wk->rscratch);
  free(wk->padmask);
  free(wk->raw);
  free(wk->disp);
  free(wk->dispr);
  free(wk->conf);
  free(wk->wbest);
  free(wk->wsmin);
  memset(wk, 0, sizeof *wk);
}

static void reset_slots(tsr__stereo_work *wk) {
  fill_sentinel(wk->rows, (2 * 3 * (size_t)wk->max_w + 1) * slot_len(wk->ndp));
  fill_sentinel(wk->hrows, 3 * slot_len(wk->ndp));
  for (int d = 0; d < wk->ndp; d++) wk->padmask[d] = d < wk->nd ? 0 : TSR_SGM_SENTINEL;
}

tsr_status tsr__stereo_work_alloc(tsr__stereo_work *wk, int max_w, int max_h, int max_rw, int nd, int outputs_only) {
  memset(wk, 0, sizeof *wk);
  int ndp = (nd + 15) / 16 * 16;
  size_t px = (size_t)max_w * (size_t)max_h, sl = slot_len(ndp);
  wk->max_w = max_w;
  wk->max_h = max_h;
  wk->max_rw = max_rw;
  wk->cap_nd = nd;
  wk->nd = nd;
  wk->ndp = ndp;
  wk->raw = zalloc(px * 2);
  wk->disp = zalloc(px * 2);
  wk->dispr = zalloc((size_t)max_rw * (size_t)max_h * 2);
  wk->conf = zalloc(px);
  wk->wbest = zalloc(px * 2);
  wk->wsmin = zalloc(px * 2);
  if (!wk->raw || !wk->disp || !wk->dispr || !wk->conf || !wk->wbest || !wk->wsmin) {
    tsr__stereo_work_free(wk);
    return TSR_E_NOMEM;
  }
  if (outputs_only) return TSR_OK;
  wk->censl = zalloc(px * 8);
  wk->censr = zalloc((size_t)max_rw * (size_t)max_h * 8);
  wk->sum = zalloc(px * (size_t)ndp * 2);
  wk->crow = zalloc(2 * (size_t)max_w * (size_t)ndp * 2);
  wk->trow = zalloc(3 * (size_t)max_w * (size_t)ndp * 2);
  wk->rows = zalloc((2 * 3 * (size_t)max_w + 1) * sl * 2);
  wk->rowmin = zalloc(2 * 3 * (size_t)max_w * 4);
  wk->hrows = zalloc(3 * sl * 2);
  wk->rscratch = zalloc((size_t)max_w * 16 + (size_t)max_rw * 4 + 64);
  wk->padmask = zalloc((size_t)ndp * 2);
  if (!wk->censl || !wk->censr || !wk->sum || !wk->crow || !wk->trow || !wk->rows || !wk->rowmin || !wk->hrows ||
      !wk->rscratch || !wk->padmask) {
    tsr__stereo_work_free(wk);
    return TSR_E_NOMEM;
  }
  reset_slots(wk);
  return TSR_OK;
}

void tsr__stereo_work_range(tsr__stereo_work *wk, int nd) {
  if (!wk->rows) return;
  /* every slot's pads and the values past nd must hold the sentinel again */
  wk->nd = nd;
  wk->ndp = (nd + 15) / 16 * 16;
  reset_slots(wk);
}

/* ---- one step of a path, over every disparity ---------------------------- */
/* lc[d] = the path's value at this pixel (lp: the previous pixel's, NULL
 * at the path's start); sout[d] = (sin ? sin[d] : 0) + lc[d]. Returns the
 * minimum over d of lc. */
typedef int (*step_fn)(const uint16_t *c, const uint16_t *lp, int mprev, uint16_t *lc, const uint16_t *sin,
                       uint16_t *sout, int nd, int ndp, const uint16_t *padmask, int p1, int p2);

static int step_scalar(const uint16_t *c, const uint16_t *lp, int mprev, uint16_t *lc, const uint16_t *sin,
                       uint16_t *sout, int nd, int ndp, const uint16_t *padmask, int p1, int p2) {
  (void)ndp;
  (void)padmask;
  int m = TSR_SGM_SENTINEL;
  for (int k = 0; k < nd; k++) {
    int v = lp ? tsr_sgm_cell(c[k], lp[k - 1], lp[k], lp[k + 1], mprev, p1, p2) : c[k];
    lc[k] = (uint16_t)v;
    sout[k] = (uint16_t)(sin ? sin[k] + v : v);
    if (v < m) m = v;
  }
  return m;
}

#ifdef TSR_HAVE_X86
__attribute__((target("avx2"), always_inline)) static inline int step_avx2(const uint16_t *c, const uint16_t *lp, int mprev, uint16_t *lc,
                                                     const uint16_t *sin, uint16_t *sout, int nd, int ndp,
                                                     const uint16_t *padmask, int p1, int p2) {
  (void)nd;
  const __m256i sent = _mm256_set1_epi16(TSR_SGM_SENTINEL);
  __m256i vmin = sent;
  /* the values past nd become the sentinel: only the last vector has any */
  int last = ndp - 16;
  __m256i pad = _mm256_load_si256((const __m256i *)(padmask + last));
  if (!lp) {
    for (int d = 0; d < ndp; d += 16) {
      __m256i v = _mm256_load_si256((const __m256i *)(c + d));
      if (d == last) v = _mm256_max_epu16(v, pad);
      _mm256_store_si256((__m256i *)(lc + d), v);
      __m256i sv = sin ? _mm256_add_epi16(_mm256_load_si256((const __m256i *)(sin + d)), v) : v;
      _mm256_store_si256((__m256i *)(sout + d), sv);
      vmin = _mm256_min_epu16(vmin, v);
    }
  } else {
    /* min(lm, lq) + P1, l0, mprev + P2, less mprev, plus the cost: every
     * term below 2^16 (values and the sentinel are below 2^15, P2 below
     * 4096), so plain adds */
    __m256i vp1 = _mm256_set1_epi16((short)p1), vmp2 = _mm256_set1_epi16((short)(mprev + p2));
    __m256i vm = _mm256_set1_epi16((short)mprev);
    for (int d = 0; d < ndp; d += 16) {
      __m256i l0 = _mm256_load_si256((const __m256i *)(lp + d));
      __m256i lm = _mm256_loadu_si256((const __m256i *)(lp + d - 1));
      __m256i lq = _mm256_loadu_si256((const __m256i *)(lp + d + 1));
      __m256i v = _mm256_add_epi16(_mm256_min_epu16(lm, lq), vp1);
      v = _mm256_min_epu16(_mm256_min_epu16(v, l0), vmp2);
      v = _mm256_sub_epi16(_mm256_add_epi16(_mm256_load_si256((const __m256i *)(c + d)), v), vm);
      if (d == last) v = _mm256_max_epu16(v, pad);
      _mm256_store_si256((__m256i *)(lc + d), v);
      __m256i sv = sin ? _mm256_add_epi16(_mm256_load_si256((const __m256i *)(sin + d)), v) : v;
      _mm256_store_si256((__m256i *)(sout + d), sv);
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

typedef struct {
  tsr__stereo_work *wk;
  const tsr_stereo_desc *d;
  const uint8_t *left, *right;
  int stride;
  step_fn step;
  int vec;           /* the vector winners */
  int16_t p2lut[256]; /* tsr_sgm_p2 by intensity difference, once per tile */
} tile_job;

static inline int p2_between(const tile_job *j, int a, int b) { return j->p2lut[a > b ? a - b : b - a]; }


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

/* Costs of pixels [xa, xb) of row y into cost (ndp per pixel); the right
 * pixels of interior disparities all lie in the census row, so the inner
 * loop is one popcount per cell. */
static inline void cost_span_body(const tsr_stereo_desc *d, int ndp, const uint64_t *cl, const uint64_t *cr, uint16_t *cost,
                                  int xa, int xb) {
  for (int x = xa; x < xb; x++) {
    uint16_t *c = cost + (size_t)x * (size_t)ndp;
    int gx = d->x0 + x;
    int xr_hi = gx - d->dmin, xr_lo = gx - d->dmin - d->nd + 1;
    if (xr_lo >= 0 && xr_hi < d->width) {
      const uint64_t *r = cr + (xr_hi - d->rx0);
      uint64_t l = cl[x];
      for (int k = 0; k < d->nd; k++) c[k] = (uint16_t)__builtin_popcountll(l ^ r[-k]);
    } else {
      for (int k = 0; k < d->nd; k++) c[k] = tsr_stereo_cost(cl[x], cr, d->rx0, d->width, gx, d->dmin + k);
    }
    for (int k = d->nd; k < ndp; k++) c[k] = 0;
  }
}
#ifdef TSR_HAVE_X86
__attribute__((target("popcnt"))) static void cost_span_popcnt(const tsr_stereo_desc *d, int ndp, const uint64_t *cl,
                                                               const uint64_t *cr, uint16_t *cost, int xa, int xb) {
  cost_span_body(d, ndp, cl, cr, cost, xa, xb);
}

/* AVX-512 with its 64-bit popcount: 8 disparities per instruction (their
 * right pixels loaded in one go and reversed), the counts narrowed to
 * bytes. The same numbers as the scalar loop. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static void cost_span_avx512(const tsr_stereo_desc *d, int ndp,
                                                                                 const uint64_t *cl, const uint64_t *cr,
                                                                                 uint16_t *cost, int xa, int xb) {
  const __m512i rev = _mm512_set_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  for (int x = xa; x < xb; x++) {
    uint16_t *c = cost + (size_t)x * (size_t)ndp;
    int gx = d->x0 + x;
    int xr_hi = gx - d->dmin, xr_lo = gx - d->dmin - d->nd + 1;
    if (xr_lo < 0 || xr_hi >= d->width) {
      cost_span_body(d, ndp, cl, cr, cost, x, x + 1);
      continue;
    }
    const uint64_t *r = cr + (xr_hi - d->rx0);
    __m512i l = _mm512_set1_epi64((long long)cl[x]);
    int k = 0;
    for (; k + 8 <= d->nd; k += 8) {
      /* r[-k-7] .. r[-k], reversed: lane i holds r[-k-i] */
      __m512i v = _mm512_permutexvar_epi64(rev, _mm512_loadu_si512((const void *)(r - k - 7)));
      _mm_storeu_si128((__m128i *)(c + k), _mm512_cvtepi64_epi16(_mm512_popcnt_epi64(_mm512_xor_si512(v, l))));
    }
    for (; k < d->nd; k++) c[k] = (uint16_t)__builtin_popcountll(cl[x] ^ r[-k]);
    for (k = d->nd; k < ndp; k++) c[k] = 0;
  }
}
#endif
static void cost_span_plain(const tsr_stereo_desc *d, int ndp, const uint64_t *cl, const uint64_t *cr, uint16_t *cost,
                            int xa, int xb) {
  cost_span_body(d, ndp, cl, cr, cost, xa, xb);
}
typedef void (*cost_fn)(const tsr_stereo_desc *, int, const uint64_t *, const uint64_t *, uint16_t *, int, int);

static void census(const tile_job *j, int threads) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int y = 0; y < d->h; y++) {
    census_row(j->left, d->width, d->height, j->stride, d->y0 + y, d->x0, d->w, wk->censl + (size_t)y * (size_t)d->w);
    census_row(j->right, d->width, d->height, j->stride, d->y0 + y, d->rx0, d->rw, wk->censr + (size_t)y * (size_t)d->rw);
  }
}

/* The paths from above (dy = 1) or below (dy = -1) of pixels [xa, xb) of
 * row y, n rows into the sweep: into sout = (sin ? sin : 0) + their sum.
 * Written once, instantiated per step function so that the vector step
 * is inlined into its loop. */
__attribute__((always_inline)) static inline void vertical_span_with(step_fn step, const tile_job *j, int dy, int n,
                                                                     int y, const uint16_t *cost, const uint16_t *sin,
                                                                     uint16_t *sout, int xa, int xb) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  size_t sl = slot_len(wk->ndp), ndp = (size_t)wk->ndp;
  int npaths = d->paths == 8 ? 3 : 1, set = n & 1;
  static const int dxs[3] = {0, 1, -1}; /* the previous pixel is (x - dx, y - dy) */
  const uint8_t *grow = j->left + (size_t)(d->y0 + y) * (size_t)j->stride + (size_t)d->x0;
  const uint8_t *gprev = grow - (ptrdiff_t)dy * j->stride;
  for (int p = 0; p < npaths; p++) {
    uint16_t *cur = wk->rows + ((size_t)set * 3 + (size_t)p) * (size_t)d->w * sl + SLOT_PAD;
    uint16_t *old = wk->rows + ((size_t)(set ^ 1) * 3 + (size_t)p) * (size_t)d->w * sl + SLOT_PAD;
    int32_t *mcur = wk->rowmin + ((size_t)set * 3 + (size_t)p) * (size_t)d->w;
    int32_t *mold = wk->rowmin + ((size_t)(set ^ 1) * 3 + (size_t)p) * (size_t)d->w;
    for (int x = xa; x < xb; x++) {
      int px = x - dxs[p];
      int has_prev = n > 0 && px >= 0 && px < d->w;
      const uint16_t *lp = has_prev ? old + (size_t)px * sl : NULL;
      int p2 = has_prev ? p2_between(j, grow[x], gprev[px]) : d->p2;
      const uint16_t *in = p == 0 ? (sin ? sin + (size_t)x * ndp : NULL) : sout + (size_t)x * ndp;
      mcur[x] = step(cost + (size_t)x * ndp, lp, has_prev ? mold[px] : 0, cur + (size_t)x * sl, in,
                     sout + (size_t)x * ndp, d->nd, wk->ndp, wk->padmask, d->p1, p2);
    }
  }
}

/* The horizontal path of row y (dx = 1: left to right, -1: right to
 * left), added to sums. */
__attribute__((always_inline)) static inline void horizontal_row_with(step_fn step, const tile_job *j, int dx, int y,
                                                                      const uint16_t *cost, uint16_t *sums) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  size_t sl = slot_len(wk->ndp), ndp = (size_t)wk->ndp;
  const uint8_t *grow = j->left + (size_t)(d->y0 + y) * (size_t)j->stride + (size_t)d->x0;
  uint16_t *a = wk->hrows + SLOT_PAD, *b = a + sl;
  int x = dx > 0 ? 0 : d->w - 1, m = 0;
  uint16_t *prev = NULL, *cur = a;
  for (int n = 0; n < d->w; n++, x += dx) {
    int p2 = prev ? p2_between(j, grow[x], grow[x - dx]) : d->p2;
    uint16_t *s = sums + (size_t)x * ndp;
    m = step(cost + (size_t)x * ndp, prev, m, cur, s, s, d->nd, wk->ndp, wk->padmask, d->p1, p2);
    prev = cur;
    cur = cur == a ? b : a;
  }
}

static void vertical_span_scalar(const tile_job *j, int dy, int n, int y, const uint16_t *cost, const uint16_t *sin,
                                 uint16_t *sout, int xa, int xb) {
  vertical_span_with(step_scalar, j, dy, n, y, cost, sin, sout, xa, xb);
}
static void horizontal_row_scalar(const tile_job *j, int dx, int y, const uint16_t *cost, uint16_t *sums) {
  horizontal_row_with(step_scalar, j, dx, y, cost, sums);
}
#ifdef TSR_HAVE_X86
__attribute__((target("avx2"))) static void vertical_span_avx2(const tile_job *j, int dy, int n, int y,
                                                               const uint16_t *cost, const uint16_t *sin,
                                                               uint16_t *sout, int xa, int xb) {
  vertical_span_with(step_avx2, j, dy, n, y, cost, sin, sout, xa, xb);
}
__attribute__((target("avx2"))) static void horizontal_row_avx2(const tile_job *j, int dx, int y, const uint16_t *cost,
                                                                uint16_t *sums) {
  horizontal_row_with(step_avx2, j, dx, y, cost, sums);
}
#endif

static void vertical_span(const tile_job *j, int dy, int n, int y, const uint16_t *cost, const uint16_t *sin,
                          uint16_t *sout, int xa, int xb) {
#ifdef TSR_HAVE_X86
  if (j->vec) {
    vertical_span_avx2(j, dy, n, y, cost, sin, sout, xa, xb);
    return;
  }
#endif
  vertical_span_scalar(j, dy, n, y, cost, sin, sout, xa, xb);
}

static void horizontal_row(const tile_job *j, int dx, int y, const uint16_t *cost, uint16_t *sums) {
#ifdef TSR_HAVE_X86
  if (j->vec) {
    horizontal_row_avx2(j, dx, y, cost, sums);
    return;
  }
#endif
  horizontal_row_scalar(j, dx, y, cost, sums);
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
  const __m256i sixteen = _mm256_set1_epi16(16);
  /* per lane: the smallest sum and the first index that has it */
  __m256i vmin = ones, vidx = ones, idx = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int k = 0; k < ndp; k += 16, idx = _mm256_add_epi16(idx, sixteen)) {
    __m256i pad = _mm256_cmpeq_epi16(_mm256_load_si256((const __m256i *)(padmask + k)), sent);
    __m256i v = _mm256_or_si256(_mm256_load_si256((const __m256i *)(s + k)), pad);
    __m256i lt = _mm256_andnot_si256(_mm256_cmpeq_epi16(_mm256_min_epu16(vmin, v), vmin), ones); /* v < vmin */
    vmin = _mm256_min_epu16(vmin, v);
    vidx = _mm256_blendv_epi8(vidx, idx, lt);
  }
  __m128i m = _mm_min_epu16(_mm256_castsi256_si128(vmin), _mm256_extracti128_si256(vmin, 1));
  winner w = {0, _mm_extract_epi16(_mm_minpos_epu16(m), 0), 0xFFFF, 1};
  /* the smallest index among the lanes that hold the minimum */
  __m256i other = _mm256_andnot_si256(_mm256_cmpeq_epi16(vmin, _mm256_set1_epi16((short)w.smin)), ones);
  __m256i cand = _mm256_or_si256(vidx, other);
  __m128i c = _mm_min_epu16(_mm256_castsi256_si128(cand), _mm256_extracti128_si256(cand, 1));
  w.best = _mm_extract_epi16(_mm_minpos_epu16(c), 0);
  int thr = d->uniqueness ? (w.smin * (100 + d->uniqueness) + 99) / 100 : 0; /* s < thr fails */
  __m256i vthr1 = _mm256_set1_epi16((short)(thr > 0 ? thr - 1 : 0));
  __m256i lo = _mm256_set1_epi16((short)(w.best - 2)), hi = _mm256_set1_epi16((short)(w.best + 2));
  idx = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
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

#endif

/* Winner, uniqueness, subpixel and confidence of each pixel of row y
 * (its summed costs in sums). First every winner; then the right image's
 * map from them (tsr_stereo_right_from_left: the scalar loops call it per
 * right pixel, the vector path scatters each left winner once, keeping
 * the smallest sum, the leftmost on ties, which is the same); then the
 * left-right check against that map. */
static void winners_row(const tile_job *j, int y, const uint16_t *sums) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  int16_t *raw = wk->raw + (size_t)y * (size_t)d->w, *dr = wk->dispr + (size_t)y * (size_t)d->rw;
  uint8_t *conf = wk->conf + (size_t)y * (size_t)d->w;
  winner *win = (winner *)wk->rscratch;
  int16_t *best = wk->wbest + (size_t)y * (size_t)d->w;
  uint16_t *smin = wk->wsmin + (size_t)y * (size_t)d->w;
  int32_t *owner = (int32_t *)(win + d->w);
  for (int x = 0; x < d->w; x++) {
    const uint16_t *s = sums + (size_t)x * (size_t)d->ndp;
#ifdef TSR_HAVE_X86
    win[x] = j->vec ? winner_avx2(s, d, wk->padmask) : winner_scalar(s, d, wk->padmask);
#else
    win[x] = winner_scalar(s, d, wk->padmask);
#endif
    best[x] = (int16_t)win[x].best;
    smin[x] = (uint16_t)win[x].smin;
  }
  if (j->vec) {
    for (int xr = 0; xr < d->rw; xr++) {
      owner[xr] = 0x10000;
      dr[xr] = TSR_DISP_INVALID;
    }
    for (int x = 0; x < d->w; x++) {
      int xr = d->x0 + x - (d->dmin + best[x]) - d->rx0;
      if (xr >= 0 && xr < d->rw && smin[x] < owner[xr]) {
        owner[xr] = smin[x];
        dr[xr] = (int16_t)((d->dmin + best[x]) * TSR_DISP_SCALE);
      }
    }
  } else {
    for (int xr = 0; xr < d->rw; xr++)
      dr[xr] = (int16_t)tsr_stereo_right_from_left(best, smin, d->nd, d->dmin, d->x0, d->w, d->rx0 + xr);
  }
  for (int x = 0; x < d->w; x++) {
    const uint16_t *s = sums + (size_t)x * (size_t)d->ndp;
    conf[x] = (uint8_t)tsr_stereo_conf(win[x]);
    raw[x] = (int16_t)tsr_stereo_finish(s, win[x], d->nd, d->dmin, d->lr_max, d->x0 + x, d->width, dr, d->rx0,
                                         d->rw);
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

/* Thread t's span of a row of w pixels: thread 0 also runs the horizontal
 * path (f0 units per pixel), the last thread the winners (f1), a pixel of
 * the span costs v; spans are cut so that every thread has the same load. */
static void span(int w, int nt, int t, double v, double f0, double f1, int *xa, int *xb) {
  double fixed[2] = {f0 * w, f1 * w}, total = (f0 + f1) * w + v * w, load = total / nt;
  double a[64], sum = 0;
  int n = nt < 64 ? nt : 64;
  for (int i = 0; i < n; i++) {
    double f = (i == 0 ? fixed[0] : 0) + (i == n - 1 ? fixed[1] : 0);
    a[i] = load > f ? (load - f) / v : 0;
    sum += a[i];
  }
  double pos = 0;
  for (int i = 0; i < t && i < n; i++) pos += a[i];
  *xa = sum > 0 ? (int)((double)w * pos / sum + 0.5) : 0;
  *xb = t >= n - 1 ? w : sum > 0 ? (int)((double)w * (pos + a[t]) / sum + 0.5) : 0;
  if (t >= n) *xa = *xb = w;
}

void tsr__stereo_tile_cpu(tsr__stereo_work *wk, const tsr_stereo_desc *d, const uint8_t *left, const uint8_t *right,
                          int stride, int threads, int simd) {
  tile_job j = {wk, d, left, right, stride, pick_step(simd), 0, {0}};
  j.vec = j.step != step_scalar;
  for (int k = 0; k < 256; k++) j.p2lut[k] = (int16_t)tsr_sgm_p2(d->p1, d->p2, k, 0);
  cost_fn cost_span = cost_span_plain;
#ifdef TSR_HAVE_X86
  if (__builtin_cpu_supports("popcnt")) cost_span = cost_span_popcnt;
  if (simd != 0 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
      !getenv("TESSERA_NO_AVX512"))
    cost_span = cost_span_avx512;
#endif
  if (threads < 1) threads = 1;
  census(&j, threads);
  size_t rowsum = (size_t)d->w * (size_t)wk->ndp;
  double v = (d->paths == 8 ? 3.0 : 1.0) + 0.5; /* the paths from above or below, and the costs */
#pragma omp parallel num_threads(threads)
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num(), xa, xb;
    /* forward: row i's costs and paths from above; thread 0: row i - 1's
     * left-to-right path */
    span(d->w, nt, t, v, 1.0, 0.0, &xa, &xb);
    for (int i = 0; i <= d->h; i++) {
      if (i < d->h) {
        uint16_t *c = wk->crow + (size_t)(i & 1) * rowsum;
        cost_span(d, wk->ndp, wk->censl + (size_t)i * (size_t)d->w, wk->censr + (size_t)i * (size_t)d->rw, c, xa, xb);
        vertical_span(&j, 1, i, i, c, NULL, wk->sum + (size_t)i * rowsum, xa, xb);
      }
      if (t == 0 && i > 0)
        horizontal_row(&j, 1, i - 1, wk->crow + (size_t)((i - 1) & 1) * rowsum, wk->sum + (size_t)(i - 1) * rowsum);
#pragma omp barrier
    }
    /* backward: row y's costs and paths from below, added to its forward
     * sums in a row buffer; thread 0: the right-to-left path of the row
     * before; the last thread: the winners of the row before that */
    span(d->w, nt, t, v, 1.0, 2.0, &xa, &xb);
    for (int i = 0; i <= d->h + 1; i++) {
      int y = d->h - 1 - i;
      if (i < d->h) {
        uint16_t *c = wk->crow + (size_t)(i & 1) * rowsum;
        cost_span(d, wk->ndp, wk->censl + (size_t)y * (size_t)d->w, wk->censr + (size_t)y * (size_t)d->rw, c, xa, xb);
        vertical_span(&j, -1, i, y, c, wk->sum + (size_t)y * rowsum, wk->trow + (size_t)(i % 3) * rowsum, xa, xb);
      }
      if (t == 0 && i >= 1 && i - 1 < d->h)
        horizontal_row(&j, -1, y + 1, wk->crow + (size_t)((i - 1) & 1) * rowsum,
                       wk->trow + (size_t)((i - 1) % 3) * rowsum);
      if (t == nt - 1 && i >= 2) winners_row(&j, y + 2, wk->trow + (size_t)((i - 2) % 3) * rowsum);
#pragma omp barrier
    }
  }
  median3(&j, threads);
}
