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
 * integer functions, so the thread count and the vector paths (AVX2, 16
 * disparities at once; the 8-bit route below, with its own schedule) change
 * nothing. */
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

/* The 8-bit route's sizes: columns rounded up to 64 (wv), a path row of
 * wv plus 64 pads each side, disparities by pixel rounded up to 64 (ndq)
 * with a 64-byte pad before each pixel. */
#define R8_PAD 64
/* The forward sweep's pipeline, at row i: the costs of row i + R8_AHEAD
 * (a ring of R8_RING rows by disparity; by pixel, with P2', in slot
 * row % R8_SLOTS); the horizontal chains of a pair of rows (p, p + 1),
 * p even, in two segments of the row, each on its own thread: left to
 * right, the left segment at row p - 3 and the right one at p - 2;
 * right to left, the right segment at p - 3 and the left one at p - 2;
 * the horizontal sums of row i + 1 (from the chains' values in slot
 * row % R8_SLOTS); row i's paths from above, with the sums made at row
 * i - 1 (two buffers, row % 2). Row r's costs by pixel are in use from
 * row r - 5 to r - 2 of the sweep, its chains' values from r - 4 to
 * r - 1: four rows of each at a time, so four slots. */
#define R8_AHEAD 5
#define R8_RING (R8_AHEAD + 1)
#define R8_SLOTS 4
static inline size_t r8_wv(int w) { return ((size_t)w + 63) / 64 * 64; }
static inline size_t r8_ls(size_t wv) { return wv + 2 * R8_PAD; }
static inline size_t r8_ndq(int nd) { return ((size_t)nd + 63) / 64 * 64; }
static inline size_t r8_hs(int nd) { return r8_ndq(nd) + R8_PAD; }

/* Rows by disparity are stored chunk by chunk: the nd rows of 64 columns
 * of chunk x0 (a multiple of 64) together, so that a chunk's pass over d
 * reads memory in order. Element (x, k) of a row: r8_at(nd, x0, k) + x - x0. */
static inline size_t r8_at(int nd, int x0, int k) { return (size_t)x0 * (size_t)nd + (size_t)k * 64; }

/* (The planner needs these bytes bilinear in w and h: wv is counted as
 * w + 63, its largest value, which keeps them so.) */
static uint64_t r8_bytes(int w, int h, int ndp) {
  uint64_t wv = (uint64_t)w + 63, ls = r8_ls(wv), ndq = r8_ndq(ndp);
  return ((uint64_t)h + R8_RING) * (uint64_t)ndp * wv + R8_SLOTS * wv * (ndq + 1) + 5 * ((uint64_t)ndp + 2) * ls + 5 * ls +
         2 * R8_SLOTS * wv * (ndq + R8_PAD) +
         R8_PAD + (uint64_t)ndp * wv * 4 + ndq;
}

uint64_t tsr__stereo_work_bytes(int w, int h, int rw, int ndp) {
  uint64_t px = (uint64_t)w * (uint64_t)h, sl = slot_len(ndp) * 2, W = (uint64_t)w, R = (uint64_t)rw;
  uint64_t wv = (uint64_t)w + 63; /* r8_wv(w) at most, and linear in w */
  return px * 8 + R * (uint64_t)h * 8               /* census */
         + wv * (uint64_t)h * (uint64_t)ndp * 2     /* the forward sums (either layout) */
         + wv * (uint64_t)ndp * (2 * 2 + 3 * 2)     /* cost rows, backward row sums */
         + r8_bytes(w, h, ndp)                         /* the 8-bit route's rows */
         + (2 * 3 * W + 1) * sl + 2 * 3 * W * 4     /* paths from above/below */
         + 3 * sl + W * sizeof(tsr_stereo_win) + R * 4 + 512 /* horizontal path, a row's winners, the right map */
         + (uint64_t)ndp * 2 + px * 12 + R * (uint64_t)h * 2 + 4096; /* outputs */
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
  free(wk->cv8);
  free(wk->cr8);
  free(wk->cx8);
  free(wk->e8);
  free(wk->lv8);
  free(wk->mv8);
  free(wk->h8);
  free(wk->hsum8);
  free(wk->padmask8);
  free(wk->raw);
  free(wk->disp);
  free(wk->dispr);
  free(wk->conf);
  free(wk->wbest);
  free(wk->wsmin);
  free(wk->wsub);
  free(wk->wuq);
  memset(wk, 0, sizeof *wk);
}

static void reset_slots(tsr__stereo_work *wk) {
  fill_sentinel(wk->rows, (2 * 3 * (size_t)wk->max_w + 1) * slot_len(wk->ndp));
  fill_sentinel(wk->hrows, 3 * slot_len(wk->ndp));
  for (int d = 0; d < wk->ndp; d++) wk->padmask[d] = d < wk->nd ? 0 : TSR_SGM_SENTINEL;
  /* the 8-bit route: every path value 255 (the sentinel rows and pads
   * keep it), no costs past nd */
  size_t wv = (size_t)wk->wv, ndq = r8_ndq(wk->nd);
  memset(wk->lv8, 0xFF, 5 * ((size_t)wk->nd + 2) * r8_ls(wv));
  memset(wk->h8, 0xFF, 2 * R8_SLOTS * wv * r8_hs(wk->nd) + R8_PAD);
  memset(wk->cx8, 0, R8_SLOTS * wv * ndq);
  memset(wk->mv8, 0, 5 * r8_ls(wv));
  memset(wk->hsum8, 0, (size_t)wk->ndp * wv * 4);
  for (size_t d = 0; d < ndq; d++) wk->padmask8[d] = d < (size_t)wk->nd ? 0 : 0xFF;
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
  wk->dispr = zalloc((size_t)max_rw * (size_t)max_h * 2 + 64); /* + a pad for 32-bit gathers */
  wk->conf = zalloc(px);
  wk->wbest = zalloc(px * 2);
  wk->wsmin = zalloc(px * 2);
  wk->wsub = zalloc(px * 2);
  wk->wuq = zalloc(px);
  if (!wk->raw || !wk->disp || !wk->dispr || !wk->conf || !wk->wbest || !wk->wsmin || !wk->wsub || !wk->wuq) {
    tsr__stereo_work_free(wk);
    return TSR_E_NOMEM;
  }
  if (outputs_only) return TSR_OK;
  wk->censl = zalloc(px * 8);
  wk->censr = zalloc((size_t)max_rw * (size_t)max_h * 8);
  size_t wv = r8_wv(max_w), ls = r8_ls(wv), ndq = r8_ndq(nd);
  wk->wv = (int)wv;
  wk->sum = zalloc(wv * (size_t)max_h * (size_t)ndp * 2);
  wk->crow = zalloc(2 * (size_t)max_w * (size_t)ndp * 2);
  wk->trow = zalloc(3 * wv * (size_t)ndp * 2);
  wk->cv8 = zalloc((size_t)max_h * (size_t)ndp * wv);
  wk->cr8 = zalloc(R8_RING * (size_t)ndp * wv);
  wk->cx8 = zalloc(R8_SLOTS * wv * ndq);
  wk->e8 = zalloc(R8_SLOTS * wv);
  wk->lv8 = zalloc(5 * ((size_t)ndp + 2) * ls);
  wk->mv8 = zalloc(5 * ls);
  wk->h8 = zalloc(2 * R8_SLOTS * wv * (ndq + R8_PAD) + R8_PAD);
  wk->hsum8 = zalloc((size_t)ndp * wv * 4);
  wk->padmask8 = zalloc(ndq);
  wk->rows = zalloc((2 * 3 * (size_t)max_w + 1) * sl * 2);
  wk->rowmin = zalloc(2 * 3 * (size_t)max_w * 4);
  wk->hrows = zalloc(3 * sl * 2);
  wk->rscratch = zalloc((size_t)max_w * sizeof(tsr_stereo_win) + (size_t)max_rw * 4 + 512);
  wk->padmask = zalloc((size_t)ndp * 2);
  if (!wk->censl || !wk->censr || !wk->sum || !wk->crow || !wk->trow || !wk->rows || !wk->rowmin || !wk->hrows ||
      !wk->rscratch || !wk->padmask || !wk->cv8 || !wk->cr8 || !wk->cx8 || !wk->e8 || !wk->lv8 || !wk->mv8 || !wk->h8 || !wk->hsum8 ||
      !wk->padmask8) {
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
  int simd;          /* as asked: -1 as the CPU allows, 0 scalar, 1 at most AVX2 */
  int16_t p2lut[256]; /* tsr_sgm_p2 by intensity difference, once per tile */
} tile_job;

static inline int p2_between(const tile_job *j, int a, int b) { return j->p2lut[a > b ? a - b : b - a]; }


/* Census of n pixels of row y from x: the SSE2 path compares a window
 * row's 9 bytes with the centre in one instruction (bytes biased by 128
 * so that the signed comparison orders them as unsigned); pixels whose
 * 16-byte loads would leave the row take tsr_census. */
#ifdef TSR_HAVE_X86
/* 64 pixels of a row from column x (x - 4 >= 0, x + 68 <= W) with
 * AVX-512 and GFNI: the 63 comparisons of 64 pixels give 63 masks (mask j
 * holds bit j of every pixel); a 64 x 64 bit transpose turns them into
 * the pixels' words: the bytes of each group of 8 masks gathered (A), the
 * 8 x 8 bit blocks transposed by an affine transform whose matrix is the
 * data (B), the 8 x 8 qwords transposed and the bytes within each (C). */
__attribute__((target("avx512f,avx512bw,avx512vbmi,gfni"))) static void census64(const uint8_t *const *rows, int x,
                                                                                  uint64_t *out) {
  /* qword b of group q: byte b of masks 8q + 7 .. 8q; and the 8 x 8 byte transpose */
  static const uint8_t ia[64] = {56, 48, 40, 32, 24, 16, 8, 0, 57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 28, 20, 12, 4, 61, 53, 45, 37, 29, 21, 13, 5, 62, 54, 46, 38, 30, 22, 14, 6, 63, 55, 47, 39, 31, 23, 15, 7};
  static const uint8_t ic[64] = {0, 8, 16, 24, 32, 40, 48, 56, 1, 9, 17, 25, 33, 41, 49, 57, 2, 10, 18, 26, 34, 42, 50, 58, 3, 11, 19, 27, 35, 43, 51, 59, 4, 12, 20, 28, 36, 44, 52, 60, 5, 13, 21, 29, 37, 45, 53, 61, 6, 14, 22, 30, 38, 46, 54, 62, 7, 15, 23, 31, 39, 47, 55, 63};
  uint64_t m[64];
  __m512i c = _mm512_loadu_si512((const void *)(rows[TSR_CENSUS_RY] + x));
  for (int r = 0; r < 2 * TSR_CENSUS_RY + 1; r++)
    for (int i = 0; i < 2 * TSR_CENSUS_RX + 1; i++)
      m[r * (2 * TSR_CENSUS_RX + 1) + i] =
          _mm512_cmplt_epu8_mask(_mm512_loadu_si512((const void *)(rows[r] + x + i - TSR_CENSUS_RX)), c);
  m[63] = 0;
  const __m512i idxa = _mm512_loadu_si512((const void *)ia), idxc = _mm512_loadu_si512((const void *)ic);
  const __m512i sel = _mm512_set1_epi64((long long)0x8040201008040201ULL); /* byte s: bit s */
  __m512i R[8], t[8], u[8];
  for (int q = 0; q < 8; q++) /* R[q], qword b, byte s: bits 8q .. 8q + 7 of pixel 8b + s */
    R[q] = _mm512_gf2p8affine_epi64_epi8(sel, _mm512_permutexvar_epi8(idxa, _mm512_loadu_si512((const void *)(m + 8 * q))), 0);
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm512_unpacklo_epi64(R[2 * i], R[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi64(R[2 * i], R[2 * i + 1]);
  }
  for (int h = 0; h < 2; h++) {
    u[4 * h + 0] = _mm512_shuffle_i64x2(t[4 * h + 0], t[4 * h + 2], 0x88);
    u[4 * h + 1] = _mm512_shuffle_i64x2(t[4 * h + 1], t[4 * h + 3], 0x88);
    u[4 * h + 2] = _mm512_shuffle_i64x2(t[4 * h + 0], t[4 * h + 2], 0xDD);
    u[4 * h + 3] = _mm512_shuffle_i64x2(t[4 * h + 1], t[4 * h + 3], 0xDD);
  }
  for (int b = 0; b < 4; b++) {
    _mm512_storeu_si512((void *)(out + 8 * b), _mm512_permutexvar_epi8(idxc, _mm512_shuffle_i64x2(u[b], u[b + 4], 0x88)));
    _mm512_storeu_si512((void *)(out + 8 * (b + 4)),
                        _mm512_permutexvar_epi8(idxc, _mm512_shuffle_i64x2(u[b], u[b + 4], 0xDD)));
  }
}

static int census64_usable(void) {
  static int v = -1;
  int u = __atomic_load_n(&v, __ATOMIC_RELAXED);
  if (u < 0) {
    u = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("gfni") && !getenv("TESSERA_NO_AVX512");
    __atomic_store_n(&v, u, __ATOMIC_RELAXED);
  }
  return u;
}
#endif

static void census_row(const uint8_t *img, int W, int H, int stride, int y, int x, int n, uint64_t *out, int simd) {
#ifdef TSR_HAVE_X86
  const uint8_t *rows[2 * TSR_CENSUS_RY + 1];
  for (int r = 0; r < 2 * TSR_CENSUS_RY + 1; r++) {
    int yy = y + r - TSR_CENSUS_RY;
    rows[r] = img + (size_t)(yy < 0 ? 0 : yy >= H ? H - 1 : yy) * (size_t)stride;
  }
  const __m128i bias = _mm_set1_epi8((char)0x80);
  const uint64_t *base = out;
  if (simd < 0 && census64_usable()) {
    /* the pixels before column 4 (their windows leave the image), then
     * blocks of 64, then the rest below */
    for (; n > 0 && x < TSR_CENSUS_RX; n--, x++, out++) *out = tsr_census(img, W, H, stride, x, y);
    for (; n >= 64 && x + 64 + TSR_CENSUS_RX <= W; n -= 64, x += 64, out += 64) census64(rows, x, out);
    /* the rest that lies inside: one more block ending there, over
     * pixels already done (the same words) */
    int inside = W - TSR_CENSUS_RX - x; /* pixels from x whose windows stay inside */
    if (inside > n) inside = n;
    if (inside > 0 && x - (64 - inside) >= TSR_CENSUS_RX && out - (64 - inside) >= base) {
      census64(rows, x - (64 - inside), out - (64 - inside));
      n -= inside;
      x += inside;
      out += inside;
    }
  }
#else
  (void)simd;
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
    census_row(j->left, d->width, d->height, j->stride, d->y0 + y, d->x0, d->w, wk->censl + (size_t)y * (size_t)d->w,
               j->simd);
    census_row(j->right, d->width, d->height, j->stride, d->y0 + y, d->rx0, d->rw,
               wk->censr + (size_t)y * (size_t)d->rw, j->simd);
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

/* A row's scratch (wk->rscratch): the winners (the 16-bit route's) and
 * the right map's owners. */
static winner *scr_win(const tsr__stereo_work *wk) { return (winner *)wk->rscratch; }
static int32_t *scr_owner(const tsr__stereo_work *wk) { return (int32_t *)(scr_win(wk) + wk->max_w); }

/* Winner, uniqueness, subpixel and confidence of each pixel of row y
 * (its summed costs in sums). First every winner; then the right image's
 * map from them (tsr_stereo_right_from_left: the scalar loops call it per
 * right pixel, the vector path scatters each left winner once, keeping
 * the smallest sum, the leftmost on ties, which is the same); then the
 * left-right check against that map. */
static void right_map_row(const tile_job *j, int y);

static void winners_row(const tile_job *j, int y, const uint16_t *sums) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  winner *win = scr_win(wk);
  for (int x = 0; x < d->w; x++) {
    const uint16_t *s = sums + (size_t)x * (size_t)d->ndp;
#ifdef TSR_HAVE_X86
    win[x] = j->vec ? winner_avx2(s, d, wk->padmask) : winner_scalar(s, d, wk->padmask);
#else
    win[x] = winner_scalar(s, d, wk->padmask);
#endif
  }
  int16_t *raw = wk->raw + (size_t)y * (size_t)d->w, *dr = wk->dispr + (size_t)y * (size_t)d->rw;
  uint8_t *conf = wk->conf + (size_t)y * (size_t)d->w;
  int16_t *best = wk->wbest + (size_t)y * (size_t)d->w;
  uint16_t *smin = wk->wsmin + (size_t)y * (size_t)d->w;
  for (int x = 0; x < d->w; x++) {
    best[x] = (int16_t)win[x].best;
    smin[x] = (uint16_t)win[x].smin;
  }
  right_map_row(j, y);
  for (int x = 0; x < d->w; x++) {
    const uint16_t *s = sums + (size_t)x * (size_t)d->ndp;
    conf[x] = (uint8_t)tsr_stereo_conf(win[x]);
    raw[x] = (int16_t)tsr_stereo_finish(s, win[x], d->nd, d->dmin, d->lr_max, d->x0 + x, d->width, dr, d->rx0, d->rw);
  }
}

/* Row y's right map from its winners (wk->wbest, wk->wsmin): the vector
 * path scatters each left winner once, keeping the smallest sum, the
 * leftmost on ties, which is what tsr_stereo_right_from_left, called per
 * right pixel by the scalar loops, gives. */
static void right_map_row(const tile_job *j, int y) {
  const tsr_stereo_desc *d = j->d;
  tsr__stereo_work *wk = j->wk;
  int16_t *dr = wk->dispr + (size_t)y * (size_t)d->rw;
  const int16_t *best = wk->wbest + (size_t)y * (size_t)d->w;
  const uint16_t *smin = wk->wsmin + (size_t)y * (size_t)d->w;
  int32_t *owner = scr_owner(wk);
  if (j->vec) {
    /* one key per right column, the least wins: the sum above the
     * disparity (biased to sort as unsigned), so that among equal sums
     * the smallest disparity, the first left pixel, wins as in the
     * header; no branch on the data */
    uint32_t *own = (uint32_t *)owner, none = 0xFFFFFFFFu; /* no key: its disparity would not be a multiple of 16 */
    for (int xr = 0; xr < d->rw; xr++) own[xr] = none;
    int base = d->x0 - d->dmin - d->rx0;
    for (int x = 0; x < d->w; x++) {
      int xr = base + x - best[x];
      int i = (unsigned)xr < (unsigned)d->rw ? xr : d->rw; /* owner[rw]: a slot outside */
      uint32_t key = (uint32_t)smin[x] << 16 | (uint32_t)(((d->dmin + best[x]) * TSR_DISP_SCALE + 32768) & 0xFFFF);
      own[i] = key < own[i] ? key : own[i];
    }
    for (int xr = 0; xr < d->rw; xr++)
      dr[xr] = own[xr] == none ? (int16_t)TSR_DISP_INVALID : (int16_t)((int)(own[xr] & 0xFFFF) - 32768);
  } else {
    for (int xr = 0; xr < d->rw; xr++)
      dr[xr] = (int16_t)tsr_stereo_right_from_left(best, smin, d->nd, d->dmin, d->x0, d->w, d->rx0 + xr);
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

/* Chunks [*c0, *c1) of nc for thread t of nt, the first threads taking
 * the remainder. */
static void chunk_span(int nc, int nt, int t, int *c0, int *c1) {
  int base = nc / nt, rem = nc % nt;
  *c0 = t * base + (t < rem ? t : rem);
  *c1 = *c0 + base + (t < rem);
}

/* The forward sweep's chunks [*c0, *c1) for thread t of nt: a chunk at
 * the image's edges (its costs through masked loads, r8_costs_v) counts
 * 1.25, the others 1 (measured: Aloe's 4 edge chunks of 21 weigh one
 * chunk more), each thread taking the chunks whose middles fall in its
 * share. */
/* The tile's columns [*lo, *hi) whose every match lies in the right
 * image: pixel x matches right column x + x0 - dmin - k, k < nd. */
static void inside_cols(const tsr_stereo_desc *d, int *lo, int *hi) {
  *lo = d->dmin + d->nd - 1 - d->x0;
  *hi = d->width + d->dmin - d->x0;
  if (*hi > d->w) *hi = d->w;
}
static double chunk_weight(const tsr_stereo_desc *d, int c) {
  int lo, hi;
  inside_cols(d, &lo, &hi);
  return c * 64 >= lo && c * 64 + 64 <= hi ? 1.0 : 1.25;
}
static void fwd_span(const tsr_stereo_desc *d, int nt, int t, int *c0, int *c1) {
  int nc = (d->w + 63) / 64;
  double total = 0;
  for (int c = 0; c < nc; c++) total += chunk_weight(d, c);
  double pos = 0;
  *c0 = nc;
  *c1 = nc;
  for (int c = 0; c < nc; c++) {
    double wc = chunk_weight(d, c);
    int owner = (int)((pos + wc / 2) * nt / total); /* the thread whose share holds the chunk's middle */
    if (owner > nt - 1) owner = nt - 1;
    if (owner >= t && *c0 == nc) *c0 = c;
    if (owner > t) {
      *c1 = c;
      break;
    }
    pos += wc;
  }
  if (*c1 < *c0) *c1 = *c0;
}

/* The forward sweep's cut: the costs and the paths from above by whole
 * chunks (fwd_span); the horizontal sums' columns, cut[t] .. cut[t + 1]
 * for thread t (cut[nt] = w), at multiples of 16 where they even out
 * every thread's total. Costs, measured, in units of a chunk's costs and
 * paths: the horizontal sums of 64 pixels 0.22 (the chains are shared by
 * the first and the last thread alike). */
static void hsum_cuts(const tsr_stereo_desc *d, int nt, int *cut) {
  int w = d->w, nc = (w + 63) / 64;
  double H = 0.22 / 64, target = (nc + w * H) / nt, pos = 0;
  cut[0] = 0;
  for (int i = 0; i < nt; i++) {
    int c0, c1;
    fwd_span(d, nt, i, &c0, &c1);
    double px = (target - (c1 - c0)) / H;
    pos += px < 0 ? 0 : px;
    int b = i == nt - 1 ? w : ((int)(pos + 8) & ~15);
    b = b > w ? w : b;
    cut[i + 1] = b < cut[i] ? cut[i] : b;
  }
}

/* The backward sweep's cut for thread t of nt, by whole chunks (a chunk
 * costs the same however few of its pixels lie in the row): a chunk's
 * paths from below and winners cost np + 4.9, the rest of the winners of
 * 64 pixels, on the last thread, 74 / nd (measured). The last thread
 * takes what evens out the loads; the others share the rest
 * (chunk_span). */
static void bwd_span(int w, int nd, int np, int nt, int t, int *xa, int *xb) {
  int nc = (w + 63) / 64, c0 = 0, c1 = nc;
  double C = np + 4.9, F = 74.0 / nd * w / 64;
  double share = ((nc * C + F) / nt - F) / C; /* the last thread's chunks */
  int last = nt == 1 ? nc : share <= 0 ? 0 : share >= nc ? nc : (int)(share + 0.5);
  if (t < nt - 1)
    chunk_span(nc - last, nt - 1, t, &c0, &c1);
  else
    c0 = nc - last;
  *xa = c0 * 64;
  *xb = c1 * 64;
}

/* ---- the 8-bit route (AVX-512) ------------------------------------------ */
/* Where the CPU has AVX-512 (BW, VBMI and the 64-bit popcount) and a
 * path's values fit in a byte, the tile runs on path values of one byte
 * laid out by disparity, then column: the paths from above or below then
 * take 64 pixels per instruction with no reduction over d (each pixel's
 * minimum is a running per-lane minimum), which is what the layout by
 * pixel spends most of its time on. The horizontal paths, chains along
 * the row, stay by pixel (64 disparities per instruction); their values
 * are transposed into the sums. Every value is that of the shared
 * header's functions: a path's value lies in [cost, cost + P2'] with
 * P2' <= max(P2, P1 + 1) and a cost at most 62 (the census has 62 bits),
 * so with P2' + 62 <= 255 every value fits; the terms that can pass 255
 * (a previous value or the sentinel plus P1, the minimum plus P2)
 * saturate at 255, which never changes the minimum, since the previous
 * value at d (at most 255) is one of its terms. A pixel with no previous
 * one on its path gets minimum 0 and P2' 0, which makes the recurrence
 * give its cost, as the header's path start does.
 *
 * Sweeps: forward (top down), per row: the costs by disparity R8_AHEAD
 * rows ahead into a ring that stays in cache, and by pixel (transposed)
 * for the horizontal chains; a segment of the chains of a pair of rows
 * in one direction (the row cut in two segments, on thread 0 and the
 * last thread, each chain handed from one to the other between rows of
 * the sweep, so that with two threads each reads and writes only its
 * own columns: a core does not wait on lines from the other, which
 * costs most where the two sit far apart; the pair's two chains
 * interleaved so that each hides the other's latency); the next row's
 * horizontal sums (transposed back); this row's paths from above,
 * whose sum with the horizontal ones goes to memory with streaming
 * stores: 2 bytes per cell with the cost in its low 6 bits where it fits
 * (r8_packs), else the sum and, apart, the cost. Backward (bottom up),
 * per row: the paths from below added to the forward sums, chunk by
 * chunk, each chunk's winners picked at once from a one-chunk buffer;
 * the last thread finishes the row before (the right map, the check).
 * Columns go to threads by whole chunks; the finely divisible work (the
 * horizontal sums forward) is cut where it evens the threads out, the
 * cuts moved per row by the threads' measured times (r8_recut). */
#ifdef TSR_HAVE_X86
#define R8_COST_MAX 62
#define R8_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vpopcntdq,popcnt")))

static int r8_exact(const tsr_stereo_desc *d) {
  int p2 = d->p2 > d->p1 + 1 ? d->p2 : d->p1 + 1;
  return p2 + R8_COST_MAX <= 255;
}

/* Whether the forward sums fit in 10 bits (each path value is at most
 * R8_COST_MAX + P2', and the forward sweep sums np + 2 paths): then the
 * cost goes in their 6 low bits, so that the backward sweep reads 2
 * bytes per cell instead of 3. */
static int r8_packs(const tsr_stereo_desc *d) {
  int p2 = d->p2 > d->p1 + 1 ? d->p2 : d->p1 + 1, np = d->paths == 8 ? 3 : 1;
  return (np + 2) * (p2 + R8_COST_MAX) <= 1023;
}

static int r8_usable(const tsr_stereo_desc *d, int simd) {
  return simd < 0 && r8_exact(d) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx2") && !getenv("TESSERA_NO_AVX512") && !getenv("TESSERA_NO_AVX2");
}

/* Byte 2 i of two registers (the low bytes of 64 16-bit lanes). */
static const uint8_t r8_even[64] = {
    0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42,
    44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76, 78, 80, 82, 84, 86,
    88, 90, 92, 94, 96, 98, 100, 102, 104, 106, 108, 110, 112, 114, 116, 118, 120, 122, 124, 126};

/* One chain's state: its values at the last pixel, in nq registers of 64
 * disparities, and their minimum in every byte (v[nq]). */
typedef struct {
  __m512i v[5];
} r8_chain;

typedef struct {
  tile_job j;
  size_t wv, ls, ndq, hs;
  uint8_t p2lut[256];
  r8_chain chain[2][2][2]; /* [set][direction][row]: the state of two pairs' chains between the segments of their run */
} r8_job;

/* The paths from above or below: the vertical one (p = 0) keeps one row,
 * updated in place (a pixel's previous value sits in the very column
 * it replaces); the diagonal ones (p = 1, 2: dx = 1, -1) a row for
 * each parity of n, the row before read while the next is written, so
 * that no cache line holds the values of two threads' columns. Rows of
 * wv + 2 R8_PAD (r->ls), blocks of nd + 2 rows: p = 0, then (p, set)
 * at 1 + 2 (p - 1) + set. */
static inline size_t r8_block(int p, int set) { return p ? 1 + 2 * ((size_t)p - 1) + (size_t)set : 0; }
static inline uint8_t *r8_lrow(const r8_job *r, int p, int set, int k) { /* path row k (-1 .. nd) */
  return r->j.wk->lv8 + (r8_block(p, set) * ((size_t)r->j.d->nd + 2) + (size_t)(k + 1)) * r->ls + R8_PAD;
}
static inline uint8_t *r8_mrow(const r8_job *r, int p, int set) { return r->j.wk->mv8 + r8_block(p, set) * r->ls + R8_PAD; }
static inline uint8_t *r8_hslot(const r8_job *r, int slot, int dir, int x) { /* dir 0: left to right */
  return r->j.wk->h8 + (((size_t)slot * 2 + (size_t)dir) * r->wv + (size_t)x) * r->hs + R8_PAD;
}

/* Row y of the costs by disparity: in the forward sweep a ring of
 * R8_RING rows that stays in cache (made R8_AHEAD rows ahead, read by the chains'
 * costs and the paths from above), from which the paths from above
 * stream each row to the volume kept for the backward sweep. */
static inline uint8_t *r8_cost_ring(const r8_job *r, int y) {
  return r->j.wk->cr8 + (size_t)(y % R8_RING) * (size_t)r->j.d->nd * r->wv;
}
static inline uint8_t *r8_cost_vol(const r8_job *r, int y) {
  return r->j.wk->cv8 + (size_t)y * (size_t)r->j.d->nd * r->wv;
}

/* The counts of 64 pixels, c[j] lane i holding pixel 8 j + i, as 64
 * bytes in pixel order: lane i of c[j] goes to byte j of qword i (shifts
 * and ors), then one byte permute (perm, below) puts pixel 8 j + i at
 * byte 8 j + i. */
R8_TARGET static inline __m512i r8_counts64(const __m512i *c, __m512i perm) {
  __m512i q = _mm512_ternarylogic_epi64(c[0], _mm512_slli_epi64(c[1], 8), _mm512_slli_epi64(c[2], 16), 0xFE);
  q = _mm512_ternarylogic_epi64(q, _mm512_slli_epi64(c[3], 24), _mm512_slli_epi64(c[4], 32), 0xFE);
  q = _mm512_ternarylogic_epi64(q, _mm512_slli_epi64(c[5], 40), _mm512_slli_epi64(c[6], 48), 0xFE);
  return _mm512_permutexvar_epi8(perm, _mm512_or_si512(q, _mm512_slli_epi64(c[7], 56)));
}

/* Costs of row y by disparity, columns [xa, xb) (multiples of 64;
 * pixels past w: 0), chunk by chunk (r8_at), 64 pixels against one
 * disparity at a time: plain loads where every right pixel of the chunk
 * lies in the image, masked loads and TSR_COST_OUTSIDE elsewhere. */
R8_TARGET static void r8_costs_v(const r8_job *r, int y, int xa, int xb) {
  const tsr_stereo_desc *d = r->j.d;
  tsr__stereo_work *wk = r->j.wk;
  const uint64_t *cl = wk->censl + (size_t)y * (size_t)d->w, *cr = wk->censr + (size_t)y * (size_t)d->rw;
  int nd = d->nd, lo, hi;
  inside_cols(d, &lo, &hi); /* whole chunks in [lo, hi): plain loads */
  static const uint8_t order[64] = {0,  8,  16, 24, 32, 40, 48, 56, 1,  9,  17, 25, 33, 41, 49, 57,
                                    2,  10, 18, 26, 34, 42, 50, 58, 3,  11, 19, 27, 35, 43, 51, 59,
                                    4,  12, 20, 28, 36, 44, 52, 60, 5,  13, 21, 29, 37, 45, 53, 61,
                                    6,  14, 22, 30, 38, 46, 54, 62, 7,  15, 23, 31, 39, 47, 55, 63};
  const __m512i perm = _mm512_loadu_si512((const void *)order);
  for (int x0 = xa; x0 < xb; x0 += 64) {
    uint8_t *row = r8_cost_ring(r, y) + r8_at(nd, x0, 0) - x0; /* row + k * 64: disparity k, indexed by column */
    if (x0 >= lo && x0 + 64 <= hi) {
      __m512i l[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++) l[j] = _mm512_loadu_si512((const void *)(cl + x0 + 8 * j));
      const uint64_t *rr = cr + x0 + d->x0 - d->dmin - d->rx0;
      for (int k = 0; k < nd; k++) {
        __m512i c[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
          c[j] = _mm512_popcnt_epi64(_mm512_xor_si512(l[j], _mm512_loadu_si512((const void *)(rr + 8 * j - k))));
        _mm512_store_si512((void *)(row + (size_t)k * 64 + x0), r8_counts64(c, perm));
      }
      continue;
    }
    /* a chunk at an edge: per disparity, the lanes whose right pixel
     * lies in the image, [ia, ib) (the others cost TSR_COST_OUTSIDE;
     * pixels past w, 0), by masked loads and a byte blend */
    int wl = d->w - x0 < 64 ? d->w - x0 : 64;
    uint64_t mw = wl >= 64 ? ~0ull : (1ull << wl) - 1;
    __m512i l[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) l[j] = _mm512_maskz_loadu_epi64((__mmask8)(mw >> (8 * j)), (const void *)(cl + x0 + 8 * j));
    const __m512i outside = _mm512_maskz_mov_epi8((__mmask64)mw, _mm512_set1_epi8(TSR_COST_OUTSIDE));
    for (int k = 0; k < nd; k++) {
      /* lane i is pixel x0 + i, right column c0 + i */
      int c0 = x0 + d->x0 - d->dmin - k, ia = -c0, ib = d->width - c0;
      ia = ia < 0 ? 0 : ia > 64 ? 64 : ia;
      ib = ib > wl ? wl : ib;
      ib = ib < ia ? ia : ib;
      uint64_t m = (ib >= 64 ? ~0ull : (1ull << ib) - 1) & ~(ia >= 64 ? ~0ull : (1ull << ia) - 1);
      __m512i c[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; j++)
        c[j] = _mm512_popcnt_epi64(_mm512_xor_si512(
            l[j], _mm512_maskz_loadu_epi64((__mmask8)(m >> (8 * j)), (const void *)(cr + (c0 - d->rx0) + 8 * j))));
      _mm512_store_si512((void *)(row + (size_t)k * 64 + x0), _mm512_mask_blend_epi8((__mmask64)m, outside, r8_counts64(c, perm)));
    }
  }
}

/* P2' of 64 pixels from their intensity differences: the 256-entry table
 * in four registers. */
R8_TARGET static inline __m512i r8_p2(const __m512i *t, __m512i diff) {
  __m512i lo = _mm512_permutex2var_epi8(t[0], diff, t[1]), hi = _mm512_permutex2var_epi8(t[2], diff, t[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(diff), lo, hi);
}

/* The horizontal chains' P2' of row y into slot `slot`, columns [xa, xb)
 * (multiples of 64): at x >= 1, from the intensity step between x - 1
 * and x (a chain from the right takes x + 1's at x). */
R8_TARGET static void r8_p2_row(const r8_job *r, int y, int slot, int xa, int xb) {
  const tsr_stereo_desc *d = r->j.d;
  const uint8_t *g = r->j.left + (size_t)(d->y0 + y) * (size_t)r->j.stride + (size_t)d->x0;
  uint8_t *e = r->j.wk->e8 + (size_t)slot * r->wv;
  int w = d->w;
  __m512i tab[4];
  for (int i = 0; i < 4; i++) tab[i] = _mm512_loadu_si512((const void *)(r->p2lut + 64 * i));
  for (int x0 = xa; x0 < xb; x0 += 64) {
    __mmask64 kw = w - x0 >= 64 ? ~(__mmask64)0 : w > x0 ? ((__mmask64)1 << (w - x0)) - 1 : 0;
    __mmask64 kp = x0 ? kw : kw & ~(__mmask64)1;
    __m512i gi = _mm512_maskz_loadu_epi8(kw, g + x0), gp = _mm512_maskz_loadu_epi8(kp, g + x0 - 1);
    __m512i diff = _mm512_or_si512(_mm512_subs_epu8(gi, gp), _mm512_subs_epu8(gp, gi));
    _mm512_store_si512((void *)(e + x0), r8_p2(tab, diff));
  }
}

/* Four perfect shuffles: each 128-bit lane L of the 16 registers, a
 * 16 x 16 byte block (row i = a[i]), comes out transposed (a[k], lane L:
 * byte k of every row). */
R8_TARGET static inline void r8_transpose16(__m512i *a) {
  __m512i t[16];
  for (int s = 0; s < 4; s++) {
    for (int i = 0; i < 8; i++) {
      t[2 * i] = _mm512_unpacklo_epi8(a[i], a[i + 8]);
      t[2 * i + 1] = _mm512_unpackhi_epi8(a[i], a[i + 8]);
    }
    for (int i = 0; i < 16; i++) a[i] = t[i];
  }
}

/* Costs of row y by pixel (ndq per pixel) into cost slot `slot`, pixels
 * [xa, min(xb, w)): the costs by disparity of chunks [xa, xb), transposed
 * 16 disparities by 64 pixels at a time. Bytes at nd and past are left
 * as they come (the chains make every value there 255). */
R8_TARGET static void r8_costs_x(const r8_job *r, int y, int slot, int xa, int xb) {
  const tsr_stereo_desc *d = r->j.d;
  int nd = d->nd;
  uint8_t *cx = r->j.wk->cx8 + (size_t)slot * r->wv * r->ndq;
  for (int x0 = xa; x0 < xb; x0 += 64) {
    const uint8_t *cv = r8_cost_ring(r, y) + r8_at(nd, x0, 0);
    for (int k0 = 0; k0 < nd; k0 += 16) {
      __m512i a[16];
      for (int i = 0; i < 16; i++)
        a[i] = k0 + i < nd ? _mm512_load_si512((const void *)(cv + (size_t)(k0 + i) * 64)) : _mm512_setzero_si512();
      r8_transpose16(a);
      /* a[i], lane L: pixel x0 + 16 L + i, disparities k0 .. k0 + 15 */
      for (int i = 0; i < 16; i++) {
        __m128i q[4] = {_mm512_extracti32x4_epi32(a[i], 0), _mm512_extracti32x4_epi32(a[i], 1),
                        _mm512_extracti32x4_epi32(a[i], 2), _mm512_extracti32x4_epi32(a[i], 3)};
        for (int L = 0; L < 4; L++) {
          int x = x0 + 16 * L + i;
          if (x < d->w) _mm_store_si128((__m128i *)(cx + (size_t)x * r->ndq + (size_t)k0), q[L]);
        }
      }
    }
  }
}

R8_TARGET static void r8_winners(const r8_job *r, int y, const uint16_t *S, int sx0, int xa, int xb,
                              const uint16_t *pf);

/* One path's state over a chunk of 64 pixels (the 8-bit route). */
typedef struct {
  __m512i lm, l0, mp2, mpr, vmin;
  const uint8_t *lq; /* the previous row's values at the next disparity but one */
  uint8_t *lnew;     /* this row's at the next disparity (in the same columns) */
  uint8_t *mout;     /* where vmin goes */
  size_t ls;         /* (in the struct: the loop's byte stores could alias r->ls) */
} r8_path;

R8_TARGET static inline void r8_path_start(const r8_job *r, r8_path *q, int p, int dx, int n, int x0,
                                           __mmask64 kw, __m512i gi, const uint8_t *gprev, const __m512i *tab) {
  int w = r->j.d->w;
  __mmask64 kp = n > 0 ? kw : 0; /* the pixels that have a previous one */
  if (dx == 1 && x0 == 0) kp &= ~(__mmask64)1;
  if (dx == -1 && w - 1 >= x0 && w - 1 < x0 + 64) kp &= ~((__mmask64)1 << (w - 1 - x0));
  __m512i gp = _mm512_maskz_loadu_epi8(kp, gprev + x0 - dx);
  __m512i diff = _mm512_or_si512(_mm512_subs_epu8(gi, gp), _mm512_subs_epu8(gp, gi));
  __m512i p2v = _mm512_maskz_mov_epi8(kp, r8_p2(tab, diff));
  int set = n & 1;
  q->mout = r8_mrow(r, p, set) + x0;
  q->mpr = _mm512_maskz_loadu_epi8(kp, r8_mrow(r, p, set ^ 1) + x0 - dx);
  q->mp2 = _mm512_adds_epu8(q->mpr, p2v);
  const uint8_t *lold = r8_lrow(r, p, set ^ 1, -1) + x0 - dx;
  q->ls = r->ls;
  q->lnew = r8_lrow(r, p, set, 0) + x0;
  q->lm = _mm512_loadu_si512((const void *)lold);
  q->l0 = _mm512_loadu_si512((const void *)(lold + q->ls));
  q->lq = lold + 2 * q->ls;
  q->vmin = _mm512_set1_epi8((char)0xFF);
}

/* Disparity index k of one path: its new values, stored, and returned. */
R8_TARGET static inline __m512i r8_path_step(r8_path *q, __m512i c, __m512i vp1) {
  __m512i lq = _mm512_loadu_si512((const void *)q->lq);
  q->lq += q->ls;
  __m512i t = _mm512_adds_epu8(_mm512_min_epu8(q->lm, lq), vp1);
  t = _mm512_min_epu8(_mm512_min_epu8(t, q->l0), q->mp2);
  __m512i v = _mm512_add_epi8(_mm512_sub_epi8(t, q->mpr), c);
  _mm512_storeu_si512((void *)q->lnew, v);
  q->lnew += q->ls;
  q->vmin = _mm512_min_epu8(q->vmin, v);
  q->lm = q->l0;
  q->l0 = lq;
  return v;
}

/* The lines of the previous row's diagonal paths that this row's chunks
 * [xa, xb) read from the threads beside (column xa - 1 of the path
 * going right, xb of the one going left), asked for into L2 as the row
 * begins: they come from another core, and the row's other work runs
 * while they do. */
/* (an asm statement: GCC deletes a loop of nothing but _mm_prefetch) */
#define R8_FETCH_L2(p) __asm__ volatile("prefetcht1 %0" : : "m"(*(const char *)(p)))
static void r8_fetch_edges(const r8_job *r, int n, int xa, int xb) {
  int prev = (n & 1) ^ 1, nd = r->j.d->nd;
  if (xa > 0) {
    R8_FETCH_L2(r8_mrow(r, 1, prev) + xa - 1);
    for (int k = 0; k < nd; k++) R8_FETCH_L2(r8_lrow(r, 1, prev, k) + xa - 1);
  }
  if (xb < r->j.d->w) {
    R8_FETCH_L2(r8_mrow(r, 2, prev) + xb);
    for (int k = 0; k < nd; k++) R8_FETCH_L2(r8_lrow(r, 2, prev, k) + xb);
  }
}

R8_TARGET static inline __m512i r8_lo16(__m512i v) { return _mm512_cvtepu8_epi16(_mm512_castsi512_si256(v)); }
R8_TARGET static inline __m512i r8_hi16(__m512i v) { return _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(v, 1)); }

/* The paths from above (dy = 1, `stream`) or below (-1) of row y, n rows
 * into the sweep, columns [xa, xb) (multiples of 64), by disparity.
 * Forward: sout = the horizontal sums (sin) + their sum, with streaming
 * stores, the cost in the low 6 bits where `pack`. Backward: sin + their
 * sum (sin packed where `pack`) into sout, a buffer of one chunk whose
 * winners are picked at once. np: 1 or 3 paths (written out for each, so
 * that every path's state stays in registers). */
R8_TARGET __attribute__((always_inline)) static inline void r8_vertical_with(const r8_job *r, const int np, int dy,
                                                                             int n, int y, const uint16_t *sin,
                                                                             uint16_t *sout, const int stream,
                                                                             const int pack, int xa, int xb) {
  const tsr_stereo_desc *d = r->j.d;
  int w = d->w, nd = d->nd;
  const uint8_t *grow = r->j.left + (size_t)(d->y0 + y) * (size_t)r->j.stride + (size_t)d->x0;
  const uint8_t *gprev = grow - (ptrdiff_t)dy * r->j.stride;
  __m512i tab[4];
  for (int i = 0; i < 4; i++) tab[i] = _mm512_loadu_si512((const void *)(r->p2lut + 64 * i));
  const __m512i vp1 = _mm512_set1_epi8((char)d->p1);
  /* the chunks from the second on, the first last: the diagonals of a
   * thread's first chunk read the previous row of the thread before,
   * whose lines r8_fetch_edges asked for when the row began */
  int nc = (xb - xa) / 64;
  for (int c = 0; c < nc; c++) {
    int x0 = xa + 64 * ((c + 1) % nc);
    __mmask64 kw = w - x0 >= 64 ? ~(__mmask64)0 : w > x0 ? ((__mmask64)1 << (w - x0)) - 1 : 0;
    __m512i gi = _mm512_maskz_loadu_epi8(kw, grow + x0);
    r8_path q0, q1, q2;
    r8_path_start(r, &q0, 0, 0, n, x0, kw, gi, gprev, tab);
    if (np == 3) {
      r8_path_start(r, &q1, 1, 1, n, x0, kw, gi, gprev, tab);
      r8_path_start(r, &q2, 2, -1, n, x0, kw, gi, gprev, tab);
    }
    /* the costs: forward, the ring (streamed on to the volume where not
     * packing); backward, the volume, or the forward sums' 6 low bits */
    const uint8_t *cv = pack && !stream ? NULL : (stream ? r8_cost_ring(r, y) : r8_cost_vol(r, y)) + r8_at(nd, x0, 0);
    uint8_t *cvol = stream && !pack ? r8_cost_vol(r, y) + r8_at(nd, x0, 0) : NULL;
    const uint16_t *si = sin ? sin + r8_at(nd, x0, 0) : NULL;
    /* backward: the sums of the chunk into a buffer of one chunk, whose
     * winners are picked at once, while it is in cache */
    uint16_t *so = stream ? sout + r8_at(nd, x0, 0) : sout;
    const __m512i even = _mm512_loadu_si512((const void *)r8_even), low6 = _mm512_set1_epi8(63);
    for (int k = 0; k < nd; k++, so += 64) {
      __m512i c, plo = _mm512_setzero_si512(), phi = plo;
      if (pack && !stream) {
        _mm_prefetch((const char *)(si + 1024), _MM_HINT_T0);
        _mm_prefetch((const char *)(si + 1024 + 32), _MM_HINT_T0);
        _mm_prefetch((const char *)(si + 2048), _MM_HINT_T1); /* and 4 KiB ahead into L2: -2 % on Aloe */
        _mm_prefetch((const char *)(si + 2048 + 32), _MM_HINT_T1);
        plo = _mm512_load_si512((const void *)si);
        phi = _mm512_load_si512((const void *)(si + 32));
        c = _mm512_and_si512(_mm512_permutex2var_epi8(plo, even, phi), low6);
      } else {
        if (stream) {
          _mm_prefetch((const char *)(cv + 1024), _MM_HINT_T0); /* the ring and the horizontal sums from L3: -1.5 % */
          if (si) {
            _mm_prefetch((const char *)(si + 512), _MM_HINT_T0);
            _mm_prefetch((const char *)(si + 512 + 32), _MM_HINT_T0);
          }
        }
        c = _mm512_load_si512((const void *)cv);
        cv += 64;
      }
      if (cvol) _mm512_stream_si512((void *)(cvol + (size_t)k * 64), c);
      __m512i v = r8_path_step(&q0, c, vp1), slo = r8_lo16(v), shi = r8_hi16(v);
      if (np == 3) {
        v = r8_path_step(&q1, c, vp1);
        slo = _mm512_add_epi16(slo, r8_lo16(v));
        shi = _mm512_add_epi16(shi, r8_hi16(v));
        v = r8_path_step(&q2, c, vp1);
        slo = _mm512_add_epi16(slo, r8_lo16(v));
        shi = _mm512_add_epi16(shi, r8_hi16(v));
      }
      if (si && pack && !stream) {
        slo = _mm512_add_epi16(slo, _mm512_srli_epi16(plo, 6));
        shi = _mm512_add_epi16(shi, _mm512_srli_epi16(phi, 6));
        si += 64;
      } else if (si) {
        /* the forward sums come from memory: fetch 2 KiB ahead (the
         * hardware's prefetch stops at every page) */
        if (!stream) {
          _mm_prefetch((const char *)(si + 1024), _MM_HINT_T0);
          _mm_prefetch((const char *)(si + 1024 + 32), _MM_HINT_T0);
          _mm_prefetch((const char *)(cv + 1024), _MM_HINT_T0);
        }
        slo = _mm512_add_epi16(slo, _mm512_load_si512((const void *)si));
        shi = _mm512_add_epi16(shi, _mm512_load_si512((const void *)(si + 32)));
        si += 64;
      }
      if (pack && stream) {
        slo = _mm512_or_si512(_mm512_slli_epi16(slo, 6), r8_lo16(c));
        shi = _mm512_or_si512(_mm512_slli_epi16(shi, 6), r8_hi16(c));
      }
      if (stream) {
        _mm512_stream_si512((void *)so, slo);
        _mm512_stream_si512((void *)(so + 32), shi);
      } else {
        _mm512_store_si512((void *)so, slo);
        _mm512_store_si512((void *)(so + 32), shi);
      }
    }
    if (!stream) {
      /* while the winners run, the next chunk's sums (or the next row's
       * first chunk's) come into L2 */
      const uint16_t *next = c + 1 < nc ? sin + r8_at(nd, xa + 64 * ((c + 2) % nc), 0)
                             : y > 0     ? sin - (size_t)nd * r->wv + r8_at(nd, xa + 64 * (1 % nc), 0)
                                         : NULL;
      r8_winners(r, y, sout, x0, x0, x0 + 64, next);
    }
    _mm512_storeu_si512((void *)q0.mout, q0.vmin);
    if (np == 3) {
      _mm512_storeu_si512((void *)q1.mout, q1.vmin);
      _mm512_storeu_si512((void *)q2.mout, q2.vmin);
    }
  }
  if (stream) _mm_sfence();
}
#define R8_VERTICAL(name, np, dy, stream, pack)                                                                   \
  R8_TARGET static void name(const r8_job *r, int n, int y, const uint16_t *sin, uint16_t *sout, int xa, int xb) { \
    r8_vertical_with(r, np, dy, n, y, sin, sout, stream, pack, xa, xb);                                            \
  }
R8_VERTICAL(r8_fwd1, 1, 1, 1, 0)
R8_VERTICAL(r8_fwd3, 3, 1, 1, 0)
R8_VERTICAL(r8_bwd1, 1, -1, 0, 0)
R8_VERTICAL(r8_bwd3, 3, -1, 0, 0)
R8_VERTICAL(r8_fwd1p, 1, 1, 1, 1)
R8_VERTICAL(r8_fwd3p, 3, 1, 1, 1)
R8_VERTICAL(r8_bwd1p, 1, -1, 0, 1)
R8_VERTICAL(r8_bwd3p, 3, -1, 0, 1)
#undef R8_VERTICAL

/* The minimum of 64 bytes, in every byte. */
R8_TARGET static inline __m512i r8_bmin(__m512i v) {
  v = _mm512_min_epu8(v, _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_min_epu8(v, _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_min_epu8(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
  v = _mm512_min_epu8(v, _mm512_shuffle_epi32(v, _MM_PERM_CDAB));
  v = _mm512_min_epu8(v, _mm512_ror_epi32(v, 16));
  return _mm512_min_epu8(v, _mm512_ror_epi32(v, 8));
}

/* The byte permutes of a horizontal chain's step, by lane i: lm takes
 * the previous values' lane i - 1 (lane 0: lane 63 of the register
 * before, index 127), lq lane i + 1 (lane 63: lane 0 of the register
 * after, index 64); past the ends, the sentinel. */
static const uint8_t r8_im[64] = {
    127, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
    29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56,
    57, 58, 59, 60, 61, 62};
static const uint8_t r8_iq[64] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
    31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 61, 62, 63, 64};

/* The constants of a chain's step. */
typedef struct {
  __m512i im, iq, vp1, pad[4];
} r8_hconst;

/* A chain's first pixel: its costs (disparities past nd: 255). */
R8_TARGET __attribute__((always_inline)) static inline void r8_hfirst(const int nq, r8_chain *q, const uint8_t *c,
                                                                      const r8_hconst *k, uint8_t *out) {
  __m512i m = _mm512_set1_epi8((char)0xFF);
  for (int j = 0; j < nq; j++) {
    q->v[j] = _mm512_max_epu8(_mm512_load_si512((const void *)(c + 64 * j)), k->pad[j]);
    _mm512_store_si512((void *)(out + 64 * j), q->v[j]);
    m = _mm512_min_epu8(m, q->v[j]);
  }
  q->v[nq] = r8_bmin(m);
}

/* One step of a chain, every value in registers so that nothing waits on
 * a store: the header's recurrence on 64 disparities per register. */
R8_TARGET __attribute__((always_inline)) static inline void r8_hstep(const int nq, r8_chain *q, const uint8_t *c,
                                                                     int p2, const r8_hconst *k, uint8_t *out) {
  const __m512i sent = _mm512_set1_epi8((char)0xFF);
  __m512i mb = q->v[nq], mp2 = _mm512_adds_epu8(mb, _mm512_set1_epi8((char)p2)), t[4];
  for (int j = 0; j < nq; j++) {
    __m512i lm = _mm512_permutex2var_epi8(q->v[j], k->im, j ? q->v[j - 1] : sent);
    __m512i lq = _mm512_permutex2var_epi8(q->v[j], k->iq, j + 1 < nq ? q->v[j + 1] : sent);
    t[j] = _mm512_min_epu8(_mm512_adds_epu8(_mm512_min_epu8(lm, lq), k->vp1), q->v[j]);
  }
  __m512i m = sent;
  for (int j = 0; j < nq; j++) {
    __m512i v = _mm512_min_epu8(t[j], mp2);
    v = _mm512_max_epu8(_mm512_add_epi8(_mm512_sub_epi8(v, mb), _mm512_load_si512((const void *)(c + 64 * j))),
                        k->pad[j]);
    _mm512_store_si512((void *)(out + 64 * j), v);
    q->v[j] = v;
    m = j ? _mm512_min_epu8(m, v) : v;
  }
  q->v[nq] = r8_bmin(m);
}

/* The chains of rows y and yb in direction dir (0: left to right, 1:
 * right to left), nq registers each, steps [k0, k1) of their run (step
 * k at pixel k, or w - 1 - k), started at their first pixel where
 * `start`, else from their state in st[0..1], where they leave it. The
 * two chains are independent: interleaved, each hides the other's
 * latency. */
R8_TARGET __attribute__((always_inline)) static inline void r8_chains_reg(r8_job *r, int y, int yb, int dir, int start,
                                                                          r8_chain *st, int k0, int k1, const int nq) {
  const tsr_stereo_desc *d = r->j.d;
  tsr__stereo_work *wk = r->j.wk;
  int w = d->w;
  size_t ndq = r->ndq;
  r8_hconst k;
  k.im = _mm512_loadu_si512((const void *)r8_im);
  k.iq = _mm512_loadu_si512((const void *)r8_iq);
  k.vp1 = _mm512_set1_epi8((char)d->p1);
  for (int j = 0; j < nq; j++) k.pad[j] = _mm512_loadu_si512((const void *)(wk->padmask8 + 64 * j));
  int sa = y % R8_SLOTS, sb = yb % R8_SLOTS;
  const uint8_t *ea = wk->e8 + (size_t)sa * r->wv, *eb = wk->e8 + (size_t)sb * r->wv;
  const uint8_t *ca = wk->cx8 + (size_t)sa * r->wv * ndq, *cb = wk->cx8 + (size_t)sb * r->wv * ndq;
  r8_chain q[2];
  int x0 = dir ? w - 1 : 0; /* (P2' of pixel x: e8[x + dir], the step from the chain's previous pixel) */
  for (int b = 0; b < 2; b++) {
    if (start)
      r8_hfirst(nq, &q[b], (b ? cb : ca) + (size_t)x0 * ndq, &k, r8_hslot(r, b ? sb : sa, dir, x0));
    else
      for (int j = 0; j <= nq; j++) q[b].v[j] = st[b].v[j];
  }
  /* (everything the loop reads from r in locals: its stores are byte
   * stores, which could alias r) */
  size_t hs = r->hs;
  uint8_t *oa = r8_hslot(r, sa, dir, 0), *ob = r8_hslot(r, sb, dir, 0);
  for (int i = k0; i < k1; i++) {
    int x = dir ? w - 1 - i : i;
    r8_hstep(nq, &q[0], ca + (size_t)x * ndq, ea[x + dir], &k, oa + (size_t)x * hs);
    r8_hstep(nq, &q[1], cb + (size_t)x * ndq, eb[x + dir], &k, ob + (size_t)x * hs);
  }
  for (int b = 0; b < 2; b++)
    for (int j = 0; j <= nq; j++) st[b].v[j] = q[b].v[j];
}

#define R8_CHAINS(nq)                                                                                             \
  R8_TARGET static void r8_chains_##nq(r8_job *r, int y, int yb, int dir, int start, r8_chain *st, int k0,     \
                                       int k1) {                                                                  \
    r8_chains_reg(r, y, yb, dir, start, st, k0, k1, nq);                                                          \
  }
R8_CHAINS(1)
R8_CHAINS(2)
R8_CHAINS(3)
R8_CHAINS(4)
#undef R8_CHAINS

/* The horizontal chains of row y (and of row y + 1 where `two`) in
 * direction dir over columns [xs, xe), continuing from the segment
 * before (the one nearer the chain's start, run at an earlier row of the
 * sweep): costs in cost slot row % R8_SLOTS, values into h8 slot
 * row % R8_SLOTS; with up to 256 disparities the state in registers,
 * kept in r->chain[set][dir] between the segments, else the previous
 * pixel's values from h8. */
R8_TARGET static void r8_chains(r8_job *r, int y, int two, int dir, int xs, int xe, int set) {
  const tsr_stereo_desc *d = r->j.d;
  tsr__stereo_work *wk = r->j.wk;
  int w = d->w;
  if (xe > w) xe = w;
  if (xs >= xe) return;
  /* steps [k0, k1): pixel k (left to right) or w - 1 - k; step 0, the
   * first pixel, where the segment holds it */
  int k0 = dir ? w - xe : xs, k1 = dir ? w - xs : xe, start = k0 == 0;
  const __m512i vp1 = _mm512_set1_epi8((char)d->p1);
  if (r->ndq <= 256) {
    int yb = two ? y + 1 : y; /* one row: its chains twice, the same values */
    r8_chain *st = r->chain[set][dir];
    int a = k0 > 1 ? k0 : 1;
    switch (r->ndq / 64) {
    case 1: r8_chains_1(r, y, yb, dir, start, st, a, k1); break;
    case 2: r8_chains_2(r, y, yb, dir, start, st, a, k1); break;
    case 3: r8_chains_3(r, y, yb, dir, start, st, a, k1); break;
    default: r8_chains_4(r, y, yb, dir, start, st, a, k1); break;
    }
    return;
  }
  /* more than 256 disparities: the previous pixel's values from memory */
  for (int row = y; row <= y + (two ? 1 : 0); row++) {
    int slot = row % R8_SLOTS, dx = dir ? -1 : 1;
    const uint8_t *e = wk->e8 + (size_t)slot * r->wv; /* P2' (r8_p2_row) */
    const uint8_t *cost = wk->cx8 + (size_t)slot * r->wv * r->ndq;
    int m = 0;
    if (!start) { /* the previous pixel's minimum */
      const uint8_t *lp = r8_hslot(r, slot, dir, dir ? w - 1 - (k0 - 1) : k0 - 1);
      __m512i vmin = _mm512_set1_epi8((char)0xFF);
      for (size_t k = 0; k < r->ndq; k += 64) vmin = _mm512_min_epu8(vmin, _mm512_load_si512((const void *)(lp + k)));
      m = (uint8_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(r8_bmin(vmin)));
    }
    for (int n = k0; n < k1; n++) {
      int x = dir ? w - 1 - n : n;
      const uint8_t *c = cost + (size_t)x * r->ndq;
      uint8_t *cur = r8_hslot(r, slot, dir, x);
      const uint8_t *lp = n ? r8_hslot(r, slot, dir, x - dx) : NULL;
      int p2 = n ? e[x + dir] : 0;
      __m512i mb = _mm512_set1_epi8((char)m), mp2 = _mm512_adds_epu8(mb, _mm512_set1_epi8((char)p2));
      __m512i vmin = _mm512_set1_epi8((char)0xFF);
      for (size_t k = 0; k < r->ndq; k += 64) {
        __m512i v = _mm512_load_si512((const void *)(c + k));
        if (lp) {
          __m512i lm = _mm512_loadu_si512((const void *)(lp + k - 1)), lq = _mm512_loadu_si512((const void *)(lp + k + 1));
          __m512i t = _mm512_min_epu8(_mm512_adds_epu8(_mm512_min_epu8(lm, lq), vp1),
                                      _mm512_load_si512((const void *)(lp + k)));
          v = _mm512_add_epi8(_mm512_sub_epi8(_mm512_min_epu8(t, mp2), mb), v);
        }
        v = _mm512_max_epu8(v, _mm512_loadu_si512((const void *)(wk->padmask8 + k)));
        _mm512_store_si512((void *)(cur + k), v);
        vmin = _mm512_min_epu8(vmin, v);
      }
      m = (uint8_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(r8_bmin(vmin)));
    }
  }
}

/* The sum of both chains of columns [xa, xb) (multiples of 16), by
 * disparity, into hsum8: blocks of 16 pixels by 64 disparities, whose
 * four 16 x 16 lanes four perfect shuffles transpose at once. */
R8_TARGET static void r8_hsum(const r8_job *r, int hslot, uint16_t *hsum, int xa, int xb) {
  const tsr_stereo_desc *d = r->j.d;
  int xe = (d->w + 15) / 16 * 16, nd = d->nd;
  if (xb > xe) xb = xe;
  for (int x0 = xa; x0 < xb; x0 += 16) {
    uint16_t *out = hsum + r8_at(nd, x0 & ~63, 0) + (x0 & 63);
    for (int d0 = 0; d0 < nd; d0 += 64) {
      __m512i a[16], b[16];
      for (int i = 0; i < 16; i++) {
        a[i] = _mm512_load_si512((const void *)(r8_hslot(r, hslot, 0, x0 + i) + d0));
        b[i] = _mm512_load_si512((const void *)(r8_hslot(r, hslot, 1, x0 + i) + d0));
      }
      r8_transpose16(a);
      r8_transpose16(b);
      /* a[k], lane L: disparity d0 + 16 L + k of the 16 pixels */
      /* a[k] + b[k] widened by multiply-adds of the pairs (lane L: pixels 0-7
       * in u0, 8-15 in u1), the two halves of each lane put together */
      const __m512i ones = _mm512_set1_epi8(1), i01 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11),
                    i23 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
      for (int k = 0; k < 16; k++) {
        __m512i u0 = _mm512_maddubs_epi16(_mm512_unpacklo_epi8(a[k], b[k]), ones);
        __m512i u1 = _mm512_maddubs_epi16(_mm512_unpackhi_epi8(a[k], b[k]), ones);
        __m512i lo = _mm512_permutex2var_epi64(u0, i01, u1), hi = _mm512_permutex2var_epi64(u0, i23, u1);
        __m256i part[4] = {_mm512_castsi512_si256(lo), _mm512_extracti64x4_epi64(lo, 1),
                           _mm512_castsi512_si256(hi), _mm512_extracti64x4_epi64(hi, 1)};
        for (int L = 0; L < 4; L++) {
          int dd = d0 + 16 * L + k;
          if (dd < nd) _mm256_store_si256((__m256i *)(out + (size_t)dd * 64), part[L]);
        }
      }
    }
  }
}

/* tsr_stereo_sub and tsr_stereo_conf of 32 pixels, 16 at a time in
 * 32-bit lanes: their integer divisions in single precision, which gives
 * the same floors here: the dividends are below 2^23 (sums are at most
 * 8 x 255), so a quotient just below an integer stays below it. */
R8_TARGET static void r8_sub_conf(__m512i smin, __m512i best, __m512i sa, __m512i sc, __m512i s2, int nd,
                                  int16_t *sub, uint8_t *conf) {
  const __m512i zero = _mm512_setzero_si512();
  for (int h = 0; h < 2; h++) {
    __m512i m = _mm512_cvtepu16_epi32(h ? _mm512_extracti64x4_epi64(smin, 1) : _mm512_castsi512_si256(smin));
    __m512i b = _mm512_cvtepu16_epi32(h ? _mm512_extracti64x4_epi64(best, 1) : _mm512_castsi512_si256(best));
    __m512i a = _mm512_cvtepu16_epi32(h ? _mm512_extracti64x4_epi64(sa, 1) : _mm512_castsi512_si256(sa));
    __m512i c = _mm512_cvtepu16_epi32(h ? _mm512_extracti64x4_epi64(sc, 1) : _mm512_castsi512_si256(sc));
    __m512i t = _mm512_cvtepu16_epi32(h ? _mm512_extracti64x4_epi64(s2, 1) : _mm512_castsi512_si256(s2));
    /* the parabola: den = a + c - 2 m, num = 8 (a - c); (2 |num| + den) / (2 den) with num's sign */
    __m512i den = _mm512_sub_epi32(_mm512_add_epi32(a, c), _mm512_slli_epi32(m, 1));
    __m512i num = _mm512_slli_epi32(_mm512_sub_epi32(a, c), 3);
    __m512i an = _mm512_abs_epi32(num);
    __m512 q = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(an, 1), den)),
                             _mm512_cvtepi32_ps(_mm512_slli_epi32(den, 1)));
    __mmask16 ok = _mm512_cmpgt_epi32_mask(den, zero) & _mm512_cmpgt_epi32_mask(b, zero) &
                   _mm512_cmplt_epi32_mask(b, _mm512_set1_epi32(nd - 1));
    __m512i qi = _mm512_maskz_cvttps_epi32(ok, _mm512_roundscale_ps(q, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    qi = _mm512_mask_sub_epi32(qi, _mm512_cmplt_epi32_mask(num, zero), zero, qi);
    _mm256_storeu_si256((__m256i *)(sub + 16 * h), _mm512_cvtepi32_epi16(qi));
    /* confidence: 255 without a second sum, else 255 (s2 - smin) / s2 (0 where s2 is 0) */
    __m512 cq = _mm512_div_ps(_mm512_cvtepi32_ps(_mm512_mullo_epi32(_mm512_sub_epi32(t, m), _mm512_set1_epi32(255))),
                              _mm512_cvtepi32_ps(t));
    __m512i ci = _mm512_maskz_cvttps_epi32(_mm512_cmpgt_epi32_mask(t, zero),
                                           _mm512_roundscale_ps(cq, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
    ci = _mm512_mask_mov_epi32(ci, _mm512_cmpeq_epi32_mask(t, _mm512_set1_epi32(0xFFFF)), _mm512_set1_epi32(255));
    _mm_storeu_si128((__m128i *)(conf + 16 * h), _mm512_cvtepi32_epi8(ci));
  }
}

/* The winners of a row's pixels [xa, min(xb, w)) from its sums by
 * disparity (S: r8_at, from column sx0), 32 pixels at a time, as winner_avx2 and the
 * header compute them, into the row's wbest, wsmin, wsub, wuq and conf;
 * while they run, the sums at pf (the next chunk's) are asked for. */
R8_TARGET static void r8_winners(const r8_job *r, int y, const uint16_t *S, int sx0, int xa, int xb,
                              const uint16_t *pf) {
  const tsr_stereo_desc *d = r->j.d;
  tsr__stereo_work *wk = r->j.wk;
  int16_t *sub = wk->wsub + (size_t)y * (size_t)d->w, *wbest = wk->wbest + (size_t)y * (size_t)d->w;
  uint8_t *conf = wk->conf + (size_t)y * (size_t)d->w, *uq = wk->wuq + (size_t)y * (size_t)d->w;
  uint16_t *wsmin = wk->wsmin + (size_t)y * (size_t)d->w;
  int u = d->uniqueness;
  if (xb > d->w) xb = d->w;
  for (int x0 = xa; x0 < xb; x0 += 32) {
    const uint16_t *Sx = S + r8_at(d->nd, (x0 & ~63) - sx0, 0) + (x0 & 63);
    /* the first minimum, and its neighbours' sums: below, the sum before
     * it; above, the sum after the last new minimum (where the minimum is
     * the last disparity, a stale value the subpixel step never uses) */
    __m512i smin = _mm512_set1_epi16(-1), best = _mm512_setzero_si512(), sa = best, sc = best, sprev = best;
    __mmask32 ltprev = 0;
    const uint16_t *pfx = pf ? pf + (size_t)((x0 - xa) / 32) * (size_t)d->nd * 32 : NULL;
    for (int k = 0; k < d->nd; k++) {
      if (pfx) _mm_prefetch((const char *)(pfx + (size_t)k * 32), _MM_HINT_T1);
      __m512i s = _mm512_load_si512((const void *)(Sx + (size_t)k * 64));
      __mmask32 lt = _mm512_cmplt_epu16_mask(s, smin);
      smin = _mm512_min_epu16(smin, s);
      best = _mm512_mask_mov_epi16(best, lt, _mm512_set1_epi16((short)k));
      sa = _mm512_mask_mov_epi16(sa, lt, sprev);
      sc = _mm512_mask_mov_epi16(sc, ltprev, s);
      ltprev = lt;
      sprev = s;
    }
    uint16_t sm[32], bs[32], th[32];
    _mm512_storeu_si512((void *)sm, smin);
    _mm512_storeu_si512((void *)bs, best);
    for (int i = 0; i < 32; i++) {
      int thr = u ? (sm[i] * (100 + u) + 99) / 100 : 0; /* s < thr fails */
      th[i] = (uint16_t)(thr < 0 ? 0 : thr > 0xFFFF ? 0xFFFF : thr);
    }
    /* the least sum outside best - 1 .. best + 1 (where k + 1 - best is 0,
     * 1 or 2): uniqueness fails where it is below the threshold */
    __m512i s2 = _mm512_set1_epi16(-1);
    for (int k = 0; k < d->nd; k++) {
      __m512i s = _mm512_load_si512((const void *)(Sx + (size_t)k * 64));
      __m512i dk = _mm512_sub_epi16(_mm512_set1_epi16((short)(k + 1)), best);
      s2 = _mm512_mask_min_epu16(s2, _mm512_cmpgt_epu16_mask(dk, _mm512_set1_epi16(2)), s2, s);
    }
    __mmask32 fail = _mm512_cmplt_epu16_mask(s2, _mm512_loadu_si512((const void *)th));
    uint8_t cf[32];
    int16_t sb[32]; /* (32 of them: the row's own may end sooner) */
    r8_sub_conf(smin, best, sa, sc, s2, d->nd, sb, cf);
    for (int i = 0; i < 32 && x0 + i < d->w; i++) {
      sub[x0 + i] = sb[i];
      wbest[x0 + i] = (int16_t)bs[i];
      wsmin[x0 + i] = sm[i];
      conf[x0 + i] = cf[i];
      uq[x0 + i] = (uint8_t)!(u && ((fail >> i) & 1));
    }
  }
}

/* The rest of row y's winners (r8_winners picked them): the right
 * map, then tsr_stereo_finish_sub of 16 pixels at a time (the right map
 * gathered where the check reads it). */
R8_TARGET static void r8_finish(const r8_job *r, int y) {
  const tsr_stereo_desc *d = r->j.d;
  tsr__stereo_work *wk = r->j.wk;
  right_map_row(&r->j, y);
  const int16_t *best = wk->wbest + (size_t)y * (size_t)d->w, *sub = wk->wsub + (size_t)y * (size_t)d->w;
  const int16_t *dr = wk->dispr + (size_t)y * (size_t)d->rw;
  const uint8_t *uq = wk->wuq + (size_t)y * (size_t)d->w;
  int16_t *raw = wk->raw + (size_t)y * (size_t)d->w;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i zero = _mm512_setzero_si512(), inv = _mm512_set1_epi32(TSR_DISP_INVALID);
  for (int x0 = 0; x0 < d->w; x0 += 16) {
    __mmask16 kw = (__mmask16)(d->w - x0 >= 16 ? 0xFFFF : (1u << (d->w - x0)) - 1);
    __m512i b = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(kw, best + x0));
    __m512i sb = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(kw, sub + x0));
    __mmask16 ok = _mm512_mask_test_epi32_mask(kw, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(kw, uq + x0)),
                                               _mm512_set1_epi32(1));
    __m512i di = _mm512_add_epi32(b, _mm512_set1_epi32(d->dmin));
    __m512i xr = _mm512_sub_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(d->x0 + x0)), di); /* gx - di */
    ok &= _mm512_cmpge_epi32_mask(xr, zero) & _mm512_cmplt_epi32_mask(xr, _mm512_set1_epi32(d->width));
    if (d->lr_max >= 0) {
      __m512i xrr = _mm512_sub_epi32(xr, _mm512_set1_epi32(d->rx0));
      __mmask16 in = ok & _mm512_cmpge_epi32_mask(xrr, zero) & _mm512_cmplt_epi32_mask(xrr, _mm512_set1_epi32(d->rw));
      /* dr[xrr] as the low half of a 32-bit read (dispr has a pad past its end) */
      __m512i v = _mm512_mask_i32gather_epi32(inv, in, xrr, (const void *)dr, 2);
      v = _mm512_srai_epi32(_mm512_slli_epi32(v, 16), 16);
      __mmask16 has = in & _mm512_cmpneq_epi32_mask(v, inv);
      /* dr / 16, truncated toward zero as C divides */
      __m512i q = _mm512_srai_epi32(_mm512_add_epi32(v, _mm512_and_si512(_mm512_srai_epi32(v, 31), _mm512_set1_epi32(15))), 4);
      __m512i diff = _mm512_abs_epi32(_mm512_sub_epi32(q, di));
      ok &= ~(has & _mm512_cmpgt_epi32_mask(diff, _mm512_set1_epi32(d->lr_max)));
    }
    __m512i out = _mm512_mask_add_epi32(inv, ok, _mm512_slli_epi32(di, 4), sb); /* di * TSR_DISP_SCALE + sub */
    _mm256_mask_storeu_epi16(raw + x0, kw, _mm512_cvtepi32_epi16(out));
  }
}

/* Balancing the finely divisible work between the forward sweep's row
 * barriers (the horizontal sums): every thread times its share of each
 * row; after the row's barrier each thread moves every cut one grain so
 * that the busier of the two threads beside it gets less, from the same
 * times, so that all threads keep the same cuts. A core that the
 * machine slows then gets less work; the output never depends on the
 * cuts. (Not with two threads: see r8_tile.) */
#define R8_MAXT 64
typedef struct {
  uint64_t busy[2][R8_MAXT];
} r8_clock;

static void r8_recut(int *cut, int nt, const uint64_t *busy, int grain) {
  for (int b = 1; b < nt; b++) {
    uint64_t l = busy[b - 1], r = busy[b];
    /* the next multiple of the grain below or above (a cut may sit at
     * the row's end, which need not be one) */
    int lo = (cut[b] - 1) / grain * grain, hi = cut[b] / grain * grain + grain;
    if (l > r + r / 64 && cut[b] > 0 && lo >= cut[b - 1])
      cut[b] = lo;
    else if (r > l + l / 64 && hi <= cut[b + 1])
      cut[b] = hi;
  }
}

static void r8_tile(tsr__stereo_work *wk, const tsr_stereo_desc *d, tile_job *j, int threads) {
  r8_job r;
  r.j = *j;
  r.wv = (size_t)wk->wv;
  r.ls = r8_ls(r.wv);
  r.ndq = r8_ndq(d->nd);
  r.hs = r.ndq <= 256 ? r.ndq : r8_hs(d->nd); /* the pads only for the chains whose state is in memory */
  for (int k = 0; k < 256; k++) r.p2lut[k] = (uint8_t)j->p2lut[k];
  int np = d->paths == 8 ? 3 : 1;
  size_t rowsum = (size_t)d->nd * r.wv;
  int pack = r8_packs(d);
  void (*fwd)(const r8_job *, int, int, const uint16_t *, uint16_t *, int, int) =
      pack ? (np == 3 ? r8_fwd3p : r8_fwd1p) : np == 3 ? r8_fwd3 : r8_fwd1;
  void (*bwd)(const r8_job *, int, int, const uint16_t *, uint16_t *, int, int) =
      pack ? (np == 3 ? r8_bwd3p : r8_bwd1p) : np == 3 ? r8_bwd3 : r8_bwd1;
  census(j, threads);
  r8_clock clk;
#pragma omp parallel num_threads(threads)
  {
    /* (with two threads the sums' cut stays at the chunks', cs: each
     * thread's horizontal sums are of its own chains' values, for its
     * own paths from above; moving the cut moves those across cores,
     * which costs more than the balance gains where the cores sit far
     * apart: Aloe 10 % slower then, no faster otherwise) */
    int nt = omp_get_num_threads(), t = omp_get_thread_num(), adapt = nt > 2 && nt <= R8_MAXT;
    int cut[R8_MAXT + 1], xa, xb, ha, hb;
    /* forward: the costs R8_AHEAD rows ahead; the chains' segments; the
     * next row's horizontal sums; this row's paths from above (see
     * R8_AHEAD) */
    fwd_span(d, nt, t, &xa, &xb);
    xa *= 64;
    xb *= 64;
    /* the chains' segments meet at the first thread's chunks' end with 2
     * threads, in the middle with more; one thread runs both */
    int cs = 0, c0;
    if (nt == 2) fwd_span(d, nt, 0, &c0, &cs);
    if (nt > 2) cs = ((d->w + 63) / 64 + 1) / 2;
    cs *= 64;
    ha = xa; /* (the thread's own chunks where the cuts do not adapt) */
    hb = xb;
    if (adapt) hsum_cuts(d, nt, cut);
    for (int i = -R8_AHEAD; i < d->h; i++) {
      uint64_t t0 = __rdtsc();
      if (adapt) {
        ha = cut[t];
        hb = cut[t + 1];
      }
      if (np == 3 && nt > 1 && i >= 1) r8_fetch_edges(&r, i, xa, xb);
      if (i + R8_AHEAD < d->h) {
        r8_costs_v(&r, i + R8_AHEAD, xa, xb);
        r8_costs_x(&r, i + R8_AHEAD, (i + R8_AHEAD) % R8_SLOTS, xa, xb);
        r8_p2_row(&r, i + R8_AHEAD, (i + R8_AHEAD) % R8_SLOTS, xa, xb);
      }
      for (int sg = 0; sg < 2; sg++) /* segment sg: [0, cs) on thread 0, [cs, w) on the last thread */
        if (t == (sg ? nt - 1 : 0))
          for (int dir = 0; dir < 2; dir++) {
            int p = i + 3 - (sg ^ dir); /* (the pair whose chains in direction dir reach segment sg at this row) */
            if (!(p & 1) && p >= 0 && p < d->h)
              r8_chains(&r, p, p + 1 < d->h, dir, sg ? cs : 0, sg ? d->w : cs, (p >> 1) & 1);
          }
      if (i + 1 >= 0 && i + 1 < d->h) r8_hsum(&r, (i + 1) % R8_SLOTS, wk->hsum8 + (size_t)((i + 1) & 1) * rowsum, ha, hb);
      if (i >= 0) fwd(&r, i, i, wk->hsum8 + (size_t)(i & 1) * rowsum, wk->sum + (size_t)i * rowsum, xa, xb);
      if (adapt) clk.busy[i & 1][t] = __rdtsc() - t0;
#pragma omp barrier
      if (adapt) r8_recut(cut, nt, clk.busy[i & 1], 16);
    }
    /* backward: a row's paths from below and their winners, chunk by
     * chunk (in a buffer of one chunk: this thread's part of trow); on
     * the last thread the rest of the winners of the row before (the
     * right map, the check) */
    bwd_span(d->w, d->nd, np, nt, t, &xa, &xb);
    uint16_t *cbuf = wk->trow + r8_at(d->nd, xa < (int)r.wv ? xa : 0, 0);
    for (int i = 0; i <= d->h; i++) {
      int y = d->h - 1 - i;
      if (np == 3 && nt > 1 && i >= 1 && i < d->h) r8_fetch_edges(&r, i, xa, xb);
      if (i < d->h && xa < xb) bwd(&r, i, y, wk->sum + (size_t)y * rowsum, cbuf, xa, xb);
      if (t == nt - 1 && i >= 1) r8_finish(&r, y + 1);
#pragma omp barrier
    }
  }
  median3(j, threads);
}
#endif

/* ---- gray ------------------------------------------------------------------- */
#ifdef TSR_HAVE_X86
/* 64 pixels of 8-bit RGB to tsr_luma8, in 16-bit lanes (the weighted sum
 * is below 2^16): the three channels picked out of 192 bytes by byte
 * permutes. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void gray64(const uint8_t *rgb, uint8_t *out) {
  /* channel c of pixel i is byte 3 i + c: from the first two registers below 128, else from the third */
  static const uint8_t idx[3][2][64] = {
      {{0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63, 66, 69, 72, 75, 78, 81,
      84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31,
      34, 37, 40, 43, 46, 49, 52, 55, 58, 61}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37,
      40, 43, 46, 49, 52, 55, 58, 61}}, {{1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40, 43, 46, 49, 52, 55,
      58, 61, 64, 67, 70, 73, 76, 79, 82, 85, 88, 91, 94, 97, 100, 103, 106, 109, 112, 115, 118, 121, 124, 127, 2, 5,
      8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5, 8, 11,
      14, 17, 20, 23, 26, 29, 32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62}}, {{2, 5, 8, 11, 14, 17, 20, 23, 26, 29,
      32, 35, 38, 41, 44, 47, 50, 53, 56, 59, 62, 65, 68, 71, 74, 77, 80, 83, 86, 89, 92, 95, 98, 101, 104, 107, 110,
      113, 116, 119, 122, 125, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60, 63}}};
  static const __mmask64 fromc[3] = {0xfffff80000000000ull, 0xfffff80000000000ull, 0xfffffc0000000000ull};
  __m512i a = _mm512_loadu_si512((const void *)rgb), b = _mm512_loadu_si512((const void *)(rgb + 64));
  __m512i c = _mm512_loadu_si512((const void *)(rgb + 128)), ch[3];
  for (int k = 0; k < 3; k++) {
    ch[k] = _mm512_permutex2var_epi8(a, _mm512_loadu_si512((const void *)idx[k][0]), b);
    ch[k] = _mm512_mask_permutexvar_epi8(ch[k], fromc[k], _mm512_loadu_si512((const void *)idx[k][1]), c);
  }
  __m256i half[2];
  for (int h = 0; h < 2; h++) {
    __m512i r = _mm512_cvtepu8_epi16(h ? _mm512_extracti64x4_epi64(ch[0], 1) : _mm512_castsi512_si256(ch[0]));
    __m512i g = _mm512_cvtepu8_epi16(h ? _mm512_extracti64x4_epi64(ch[1], 1) : _mm512_castsi512_si256(ch[1]));
    __m512i bb = _mm512_cvtepu8_epi16(h ? _mm512_extracti64x4_epi64(ch[2], 1) : _mm512_castsi512_si256(ch[2]));
    __m512i v = _mm512_add_epi16(_mm512_mullo_epi16(r, _mm512_set1_epi16(77)), _mm512_mullo_epi16(g, _mm512_set1_epi16(150)));
    v = _mm512_add_epi16(v, _mm512_add_epi16(_mm512_mullo_epi16(bb, _mm512_set1_epi16(29)), _mm512_set1_epi16(128)));
    half[h] = _mm512_cvtepi16_epi8(_mm512_srli_epi16(v, 8));
  }
  _mm256_storeu_si256((__m256i *)out, half[0]);
  _mm256_storeu_si256((__m256i *)(out + 32), half[1]);
}
#endif

void tsr__gray8_rgb_row(const uint8_t *rgb, uint8_t *out, int n) {
  int x = 0;
#ifdef TSR_HAVE_X86
  static int v = -1;
  int u = __atomic_load_n(&v, __ATOMIC_RELAXED);
  if (u < 0) {
    u = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") && !getenv("TESSERA_NO_AVX512");
    __atomic_store_n(&v, u, __ATOMIC_RELAXED);
  }
  if (u)
    for (; x + 64 <= n; x += 64) gray64(rgb + 3 * (size_t)x, out + x);
#endif
  for (; x < n; x++) out[x] = (uint8_t)tsr_luma8(rgb[3 * x], rgb[3 * x + 1], rgb[3 * x + 2]);
}

const char *tsr__stereo_cpu_route(const tsr_stereo_desc *d, int simd) {
#ifdef TSR_HAVE_X86
  if (r8_usable(d, simd)) return r8_packs(d) ? "8-bit AVX-512, costs packed into the forward sums" : "8-bit AVX-512";
#endif
  (void)d;
  return pick_step(simd) != step_scalar ? "AVX2" : "scalar";
}

void tsr__stereo_tile_cpu(tsr__stereo_work *wk, const tsr_stereo_desc *d, const uint8_t *left, const uint8_t *right,
                          int stride, int threads, int simd) {
  tile_job j = {wk, d, left, right, stride, pick_step(simd), 0, simd, {0}};
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
#ifdef TSR_HAVE_X86
  if (r8_usable(d, simd)) {
    r8_tile(wk, d, &j, threads);
    return;
  }
#endif
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
