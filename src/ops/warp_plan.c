/* A warp's plan: its views turned, once per (views, source shape), into the
 * sampling data every backend reads (cl/warp.h explains the format).
 *
 * Per view:
 *  - without antialiasing (or where the view does not minify): the view's
 *    interpolation at level 0, a position per output pixel;
 *  - antialiased: TSR_MODE_AREA, the mean of the source over each output
 *    pixel's footprint, at the pyramid level where the view samples at most
 *    AREA_DENSITY pixels of that level per output pixel. The footprint is an
 *    axis-aligned box centred on the pixel's source position whose sides are
 *    the lengths of the local Jacobian's rows (so a rotated square keeps its
 *    area), between 1 and TSR_AREA_MAX_PX pixels of the level. Cost per
 *    output pixel is thus bounded whatever the view's size.
 *
 * Positions come from tsr_view_coord in double precision, exactly at every
 * GRID-th pixel and, inside a grid cell, by cubic interpolation of the
 * nodes around it where that agrees with the exact map to 1/1024 pixel at
 * the points where each axis's error peaks (so within about 1/512 pixel
 * anywhere in the cell; before the rounding to 1/256); computed exactly per
 * pixel elsewhere: across the seam, near the poles, in strongly curved
 * cells. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/warp_impl.h"
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TSR_PLAN_X86 1
#include <immintrin.h>
#endif
#include "warp.h"

_Static_assert((-1 >> 1) == -1, "the warp's fixed-point code needs arithmetic right shifts");
_Static_assert(sizeof(tsr_warp_src) == 8 * (2 + TSR_LEVELS) + 4 * (3 * TSR_LEVELS + 6), "tsr_warp_src layout");
_Static_assert(sizeof(tsr_warp_vdesc) == 48, "tsr_warp_vdesc layout");

#define GRID 8
#define AREA_DENSITY 6.0
#define INTERP_TOL (1.0 / 1024)
/* Positions are kept within +-2^22 pixels so 256 times them fits 32 bits. */
#define POS_LIMIT 4194304.0

static const double PI = 3.14159265358979323846;

/* The source position of output position (x, y). */
static void coord(const tsr_warp_view *vw, double sw, double sh, double x, double y, double *u, double *v) {
  tsr_view_coord(vw->p, vw->kind, sw, sh, x, y, u, v);
  if (!(*u > -POS_LIMIT && *u < POS_LIMIT)) *u = -POS_LIMIT; /* NaN too: outside */
  if (!(*v > -POS_LIMIT && *v < POS_LIMIT)) *v = -POS_LIMIT;
}

/* round(256 a), half up, clamped to +-(2^31 - 1) (NaN: the lower bound). */
static inline int32_t fixed(double a) {
  double r = a * 256.0 + 0.5;
  if (!(r > -2147483647.0)) return -2147483647; /* NaN too */
  if (r >= 2147483647.0) return 2147483647;
  int32_t f = (int32_t)r; /* towards zero: floor for r >= 0 */
  return f - ((double)f > r);
}

/* Positions of nx x ny points (x0 + i, y0 + j), row-major, into u[] and v[]
 * or, where fix is not NULL, as fixed(u - 0.5), fixed(v - 0.5) pairs into
 * fix[] (point-mode positions without the doubles): exact at the nodes of
 * a GRID-pixel lattice and, inside a cell, by cubic Lagrange interpolation
 * of its 4 x 4 surrounding nodes where that agrees with the exact map to
 * INTERP_TOL pixel at the middles of the cell's top and left edges and at
 * its centre; exact per pixel elsewhere. */
static void coord_grid(const tsr_warp_view *vw, double sw, double sh, double x0, double y0, int nx, int ny,
                       int threads, double *u, double *v, int32_t *fix) {
  int ncx = (nx + GRID - 1) / GRID, ncy = (ny + GRID - 1) / GRID; /* cells */
  int gw = ncx + 3, gh = ncy + 3;                                   /* nodes -1 .. cells + 1 */
  double *gu = malloc(sizeof *gu * (size_t)gw * (size_t)gh), *gv = malloc(sizeof *gv * (size_t)gw * (size_t)gh);
  int have_grid = gu && gv;
  if (have_grid) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int gy = 0; gy < gh; gy++)
      for (int gx = 0; gx < gw; gx++)
        coord(vw, sw, sh, x0 + (gx - 1) * GRID, y0 + (gy - 1) * GRID, &gu[gy * gw + gx], &gv[gy * gw + gx]);
  }
  /* Lagrange weights of nodes -1, 0, 1, 2 at t = k / GRID. */
  double wt[GRID + 1][4];
  for (int k = 0; k <= GRID; k++) {
    double t = (double)k / GRID;
    wt[k][0] = -t * (t - 1) * (t - 2) / 6;
    wt[k][1] = (t + 1) * (t - 1) * (t - 2) / 2;
    wt[k][2] = -(t + 1) * t * (t - 2) / 2;
    wt[k][3] = (t + 1) * t * (t - 1) / 6;
  }
  double period = vw->kind == TSR_COORD_EQUIRECT ? sw : 0;
  double pole_n = vw->kind == TSR_COORD_EQUIRECT ? -vw->p[14] : -1e300;
  double pole_s = vw->kind == TSR_COORD_EQUIRECT ? pole_n + (vw->p[13] > 0 ? vw->p[13] : sh) : 1e300;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int cy = 0; cy < (have_grid ? ncy : 1); cy++)
    for (int cx = 0; cx < (have_grid ? ncx : 1); cx++) {
      int i0 = have_grid ? cx * GRID : 0, j0 = have_grid ? cy * GRID : 0;
      int ie = have_grid && i0 + GRID < nx ? i0 + GRID : nx, je = have_grid && j0 + GRID < ny ? j0 + GRID : ny;
      int exact = !have_grid;
      double nu[4][4], nv[4][4];
      if (have_grid) {
        double umin = 1e300, umax = -1e300, vmin = 1e300, vmax = -1e300;
        for (int b = 0; b < 4; b++)
          for (int a = 0; a < 4; a++) {
            size_t g = (size_t)(cy + b) * (size_t)gw + (size_t)(cx + a);
            nu[b][a] = gu[g];
            nv[b][a] = gv[g];
            if (gu[g] < umin) umin = gu[g];
            if (gu[g] > umax) umax = gu[g];
            if (gv[g] < vmin) vmin = gv[g];
            if (gv[g] > vmax) vmax = gv[g];
          }
        exact = (period > 0 && umax - umin > 0.25 * period) || vmin < pole_n + 4 || vmax > pole_s - 4 ||
                umin <= -POS_LIMIT || vmin <= -POS_LIMIT || umax >= POS_LIMIT || vmax >= POS_LIMIT;
        /* Where each axis's interpolation error peaks: the middle of the
         * top edge (x alone), of the left edge (y alone) and the centre
         * (where the two may cancel, hence the edges). */
        static const int probe[3][2] = {{GRID / 2, 0}, {0, GRID / 2}, {GRID / 2, GRID / 2}};
        for (int q = 0; q < 3 && !exact; q++) {
          const double *wx = wt[probe[q][0]], *wy = wt[probe[q][1]];
          double iu = 0, iv = 0, eu, ev;
          for (int b = 0; b < 4; b++)
            for (int a = 0; a < 4; a++) iu += wy[b] * wx[a] * nu[b][a], iv += wy[b] * wx[a] * nv[b][a];
          coord(vw, sw, sh, x0 + i0 + probe[q][0], y0 + j0 + probe[q][1], &eu, &ev);
          exact = fabs(eu - iu) > INTERP_TOL || fabs(ev - iv) > INTERP_TOL;
        }
      }
      for (int j = j0; j < je; j++) {
        double ru[4] = {0}, rv[4] = {0}; /* the row's value at the 4 node columns */
        if (!exact) {
          const double *wy = wt[j - j0];
          for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) ru[a] += wy[b] * nu[b][a], rv[a] += wy[b] * nv[b][a];
        }
        for (int i = i0; i < ie; i++) {
          size_t k = (size_t)j * (size_t)nx + (size_t)i;
          double pu, pv;
          if (exact) {
            coord(vw, sw, sh, x0 + i, y0 + j, &pu, &pv);
          } else {
            const double *wx = wt[i - i0];
            pu = wx[0] * ru[0] + wx[1] * ru[1] + wx[2] * ru[2] + wx[3] * ru[3];
            pv = wx[0] * rv[0] + wx[1] * rv[1] + wx[2] * rv[2] + wx[3] * rv[3];
          }
          if (fix) {
            fix[2 * k] = fixed(pu - 0.5);
            fix[2 * k + 1] = fixed(pv - 0.5);
          } else {
            u[k] = pu;
            v[k] = pv;
          }
        }
      }
    }
  free(gu);
  free(gv);
}

int tsr__warp_area_level(const tsr_warp_view *vw, int w, int h) {
  double d = tsr_view_density(vw, w, h);
  int L = 0;
  while (L < TSR_LEVELS - 1 && d / (double)(1 << L) > AREA_DENSITY && (w >> (L + 1)) >= 1 && (h >> (L + 1)) >= 1) L++;
  return L;
}

/* Point-mode positions of one view at level 0. */
static void plan_point(const tsr_warp_view *vw, int sw, int sh, int threads, int32_t *pos) {
  coord_grid(vw, sw, sh, 0.5, 0.5, vw->width, vw->height, threads, NULL, NULL, pos);
}

/* What a row of area-mode pixels needs besides its corners. */
typedef struct {
  double period, half, scale, pre;
} area_consts;

/* Area-mode position and footprint of one pixel from the source positions
 * of its corners: u0[x], u0[x + 1] on the row above, u1[...] below. */
static inline void area_pixel(const double *u0, const double *u1, const double *v0, const double *v1, int x,
                              const area_consts *k, int32_t *pos, uint16_t *ext) {
  double u00 = u0[x], u10 = u0[x + 1], u01 = u1[x], u11 = u1[x + 1];
  double period = k->period, half = k->half, scale = k->scale;
  /* The short way round the seam: floor(d / period + 0.5) periods off, for
   * |d| <= period (a period of 0, off an equirectangular source, changes
   * nothing). */
  u10 += u10 - u00 >= half ? -period : u10 - u00 < -half ? period : 0;
  u01 += u01 - u00 >= half ? -period : u01 - u00 < -half ? period : 0;
  u11 += u11 - u00 >= half ? -period : u11 - u00 < -half ? period : 0;
  double v00 = v0[x], v10 = v0[x + 1], v01 = v1[x], v11 = v1[x + 1];
  double cu = 0.25 * (u00 + u10 + u01 + u11) * scale, cv = 0.25 * (v00 + v10 + v01 + v11) * scale;
  double dux = 0.5 * ((u10 - u00) + (u11 - u01)), duy = 0.5 * ((u01 - u00) + (u11 - u10));
  double dvx = 0.5 * ((v10 - v00) + (v11 - v01)), dvy = 0.5 * ((v01 - v00) + (v11 - v10));
  double eu2 = dux * dux + duy * duy - k->pre, ev2 = dvx * dvx + dvy * dvy - k->pre;
  double eu = sqrt(eu2 > 0 ? eu2 : 0) * scale, ev = sqrt(ev2 > 0 ? ev2 : 0) * scale;
  eu = eu > 1 ? (eu < TSR_AREA_MAX_PX ? eu : TSR_AREA_MAX_PX) : 1;
  ev = ev > 1 ? (ev < TSR_AREA_MAX_PX ? ev : TSR_AREA_MAX_PX) : 1; /* NaN: 1 */
  int32_t ew = fixed(eu), eh = fixed(ev);
  pos[2 * x] = fixed(cu) - ew / 2;
  pos[2 * x + 1] = fixed(cv) - eh / 2;
  ext[2 * x] = (uint16_t)ew;
  ext[2 * x + 1] = (uint16_t)eh;
}

#ifdef TSR_PLAN_X86
/* fixed() of four values. */
__attribute__((target("avx"))) static inline __m128i fixed4(__m256d a) {
  __m256d r = _mm256_add_pd(_mm256_mul_pd(a, _mm256_set1_pd(256.0)), _mm256_set1_pd(0.5));
  r = _mm256_max_pd(r, _mm256_set1_pd(-2147483647.0)); /* NaN: the bound, as fixed() */
  r = _mm256_min_pd(r, _mm256_set1_pd(2147483647.0));
  __m128i f = _mm256_cvttpd_epi32(r);
  __m256d above = _mm256_cmp_pd(_mm256_cvtepi32_pd(f), r, _CMP_GT_OQ);
  return _mm_sub_epi32(f, _mm256_cvttpd_epi32(_mm256_and_pd(above, _mm256_set1_pd(1.0))));
}

/* area_pixel for pixels [x, x + 4): the same operations in the same order
 * on four lanes (IEEE results, no contraction: the same bits). */
__attribute__((target("avx"))) static void area_pixels4(const double *u0, const double *u1, const double *v0,
                                                        const double *v1, int x, const area_consts *k, int32_t *pos,
                                                        uint16_t *ext) {
  const __m256d period = _mm256_set1_pd(k->period), nperiod = _mm256_set1_pd(-k->period);
  const __m256d half = _mm256_set1_pd(k->half), nhalf = _mm256_set1_pd(-k->half), scale = _mm256_set1_pd(k->scale);
  __m256d u00 = _mm256_loadu_pd(u0 + x), u10 = _mm256_loadu_pd(u0 + x + 1);
  __m256d u01 = _mm256_loadu_pd(u1 + x), u11 = _mm256_loadu_pd(u1 + x + 1);
#define TSR_SEAM(U)                                                                                                  \
  {                                                                                                                  \
    __m256d d = _mm256_sub_pd(U, u00);                                                                               \
    U = _mm256_add_pd(U, _mm256_or_pd(_mm256_and_pd(_mm256_cmp_pd(d, half, _CMP_GE_OQ), nperiod),                  \
                                      _mm256_andnot_pd(_mm256_cmp_pd(d, half, _CMP_GE_OQ),                          \
                                                       _mm256_and_pd(_mm256_cmp_pd(d, nhalf, _CMP_LT_OQ), period)))); \
  }
  TSR_SEAM(u10)
  TSR_SEAM(u01)
  TSR_SEAM(u11)
#undef TSR_SEAM
  __m256d v00 = _mm256_loadu_pd(v0 + x), v10 = _mm256_loadu_pd(v0 + x + 1);
  __m256d v01 = _mm256_loadu_pd(v1 + x), v11 = _mm256_loadu_pd(v1 + x + 1);
  const __m256d q = _mm256_set1_pd(0.25), h = _mm256_set1_pd(0.5);
  __m256d cu = _mm256_mul_pd(_mm256_mul_pd(q, _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(u00, u10), u01), u11)), scale);
  __m256d cv = _mm256_mul_pd(_mm256_mul_pd(q, _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(v00, v10), v01), v11)), scale);
  __m256d dux = _mm256_mul_pd(h, _mm256_add_pd(_mm256_sub_pd(u10, u00), _mm256_sub_pd(u11, u01)));
  __m256d duy = _mm256_mul_pd(h, _mm256_add_pd(_mm256_sub_pd(u01, u00), _mm256_sub_pd(u11, u10)));
  __m256d dvx = _mm256_mul_pd(h, _mm256_add_pd(_mm256_sub_pd(v10, v00), _mm256_sub_pd(v11, v01)));
  __m256d dvy = _mm256_mul_pd(h, _mm256_add_pd(_mm256_sub_pd(v01, v00), _mm256_sub_pd(v11, v10)));
  const __m256d pre = _mm256_set1_pd(k->pre), zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  const __m256d maxpx = _mm256_set1_pd(TSR_AREA_MAX_PX);
  __m256d eu2 = _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(dux, dux), _mm256_mul_pd(duy, duy)), pre);
  __m256d ev2 = _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(dvx, dvx), _mm256_mul_pd(dvy, dvy)), pre);
  /* max(a, 0) and min(a, b) return their second operand for NaN and ties,
   * as the scalar ternaries do. */
  __m256d eu = _mm256_mul_pd(_mm256_sqrt_pd(_mm256_max_pd(eu2, zero)), scale);
  __m256d ev = _mm256_mul_pd(_mm256_sqrt_pd(_mm256_max_pd(ev2, zero)), scale);
  eu = _mm256_max_pd(_mm256_min_pd(eu, maxpx), one);
  ev = _mm256_max_pd(_mm256_min_pd(ev, maxpx), one);
  __m128i ew = fixed4(eu), eh = fixed4(ev);
  __m128i px = _mm_sub_epi32(fixed4(cu), _mm_srai_epi32(ew, 1)), py = _mm_sub_epi32(fixed4(cv), _mm_srai_epi32(eh, 1));
  _mm_storeu_si128((__m128i *)(pos + 2 * x), _mm_unpacklo_epi32(px, py));
  _mm_storeu_si128((__m128i *)(pos + 2 * x + 4), _mm_unpackhi_epi32(px, py));
  _mm_storeu_si128((__m128i *)(ext + 2 * x), _mm_packus_epi32(_mm_unpacklo_epi32(ew, eh), _mm_unpackhi_epi32(ew, eh)));
}
#endif

int tsr__warp_plan_vector = -1;

/* Whether the area rows take area_pixels4. */
static int plan_vector(void) {
#ifdef TSR_PLAN_X86
  if (tsr__warp_plan_vector >= 0) return tsr__warp_plan_vector;
  return __builtin_cpu_supports("avx") && !getenv("TESSERA_NO_AVX2");
#else
  return 0;
#endif
}

/* Area-mode positions and footprints of one view at level L, from the
 * source positions of its pixel corners (u[], v[]: room for them, shared
 * by the views so their pages are faulted in once). */
static void plan_area(const tsr_warp_view *vw, int sw, int sh, int L, int threads, double *u, double *v, int32_t *pos,
                      uint16_t *ext) {
  int W = vw->width, H = vw->height, vec = plan_vector();
  coord_grid(vw, sw, sh, 0, 0, W + 1, H + 1, threads, u, v, NULL);
  area_consts k;
  k.period = vw->kind == TSR_COORD_EQUIRECT ? sw : 0;
  k.half = 0.5 * k.period;
  k.scale = 1.0 / (double)(1 << L);
  /* A level-L pixel is already filtered (each [1 3 3 1] / 8 level adds a
   * variance of 3/4 of its pixel squared: 3 (4^L - 1) / 12 source pixels
   * squared in all): the box on it is narrowed so the two together have
   * the footprint's spread, e^2 / 12. */
  k.pre = 3.0 * ((double)(1 << L) * (double)(1 << L) - 1);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < H; y++) {
    const double *u0 = u + (size_t)y * (size_t)(W + 1), *v0 = v + (size_t)y * (size_t)(W + 1);
    int32_t *prow = pos + 2 * (size_t)y * (size_t)W;
    uint16_t *erow = ext + 2 * (size_t)y * (size_t)W;
    int x = 0;
#ifdef TSR_PLAN_X86
    if (vec)
      for (; x + 4 <= W; x += 4) area_pixels4(u0, u0 + W + 1, v0, v0 + W + 1, x, &k, prow, erow);
#endif
    for (; x < W; x++) area_pixel(u0, u0 + W + 1, v0, v0 + W + 1, x, &k, prow, erow);
  }
  (void)vec;
}

tsr_status tsr__warp_plan_make(tsr_context *ctx, int w, int h, int channels, int depth, const tsr_warp_view *views,
                               int nviews, tsr_interp interp, tsr_border border, int threads, tsr__warp_plan *p) {
  memset(p, 0, sizeof *p);
  if (w < 1 || h < 1 || channels < 1 || channels > 4 || (depth != 8 && depth != 16) || nviews < 1)
    return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: bad source format or no views");
  if ((unsigned)interp > TSR_INTERP_LANCZOS3 || (unsigned)border > TSR_BORDER_SPHERE)
    return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: unknown interpolation or border");
  p->vd = calloc((size_t)nviews, sizeof *p->vd);
  if (!p->vd) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory planning a warp");
  tsr_warp_src *s = &p->s;
  int bytes = depth / 8, deepest = 0;
  s->channels = channels;
  s->depth = depth;
  s->border = (tsr_i32)border;
  s->nviews = nviews;
  for (int v = 0; v < nviews; v++) {
    const tsr_warp_view *vw = &views[v];
    tsr_warp_vdesc *d = &p->vd[v];
    if ((vw->kind != TSR_COORD_AFFINE && vw->kind != TSR_COORD_EQUIRECT) || vw->width < 1 || vw->height < 1 ||
        (uint64_t)vw->width * (uint64_t)vw->height > ((uint64_t)1 << 31)) {
      tsr__warp_plan_free(p);
      return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: view %d has an unknown coordinate function or a bad size", v);
    }
    d->width = vw->width;
    d->height = vw->height;
    d->stride = (tsr_i32)((size_t)vw->width * (size_t)channels * (size_t)bytes);
    d->dst_offset = s->dst_item_bytes;
    s->dst_item_bytes += (uint64_t)d->stride * (uint64_t)d->height;
    d->pos_offset = p->npos;
    p->npos += (uint64_t)vw->width * (uint64_t)vw->height;
    if (vw->supersample > 1) {
      d->mode = TSR_MODE_AREA;
      d->level = tsr__warp_area_level(vw, w, h);
      d->ext_offset = p->next;
      p->next += (uint64_t)vw->width * (uint64_t)vw->height;
    } else {
      d->mode = (tsr_i32)interp;
    }
    if (d->level > deepest) deepest = d->level;
  }
  s->nlevels = deepest + 1;
  uint64_t off = 0;
  for (int k = 0; k < TSR_LEVELS; k++) {
    s->level_w[k] = k ? (s->level_w[k - 1] + 1) / 2 : w;
    s->level_h[k] = k ? (s->level_h[k - 1] + 1) / 2 : h;
    s->level_stride[k] = s->level_w[k] * channels * bytes;
    if (k < s->nlevels) {
      s->level_offset[k] = off;
      off += (uint64_t)s->level_stride[k] * (uint64_t)s->level_h[k];
    }
  }
  s->item_bytes = off;
  p->level_bytes = off - s->level_offset[0] - (uint64_t)s->level_stride[0] * (uint64_t)h;
  p->pos = malloc(sizeof *p->pos * 2 * (size_t)p->npos);
  p->ext = p->next ? malloc(sizeof *p->ext * 2 * (size_t)p->next) : NULL;
  if (!p->pos || (p->next && !p->ext)) {
    tsr__warp_plan_free(p);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory for the sampling data of %d views", nviews);
  }
  size_t corners = 0;
  for (int v = 0; v < nviews; v++)
    if (p->vd[v].mode == TSR_MODE_AREA) {
      size_t n = (size_t)(views[v].width + 1) * (size_t)(views[v].height + 1);
      if (n > corners) corners = n;
    }
  double *cu = corners ? malloc(sizeof *cu * corners) : NULL, *cv = corners ? malloc(sizeof *cv * corners) : NULL;
  if (corners && (!cu || !cv)) {
    free(cu);
    free(cv);
    tsr__warp_plan_free(p);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory planning the antialiased views");
  }
  for (int v = 0; v < nviews; v++) {
    const tsr_warp_vdesc *d = &p->vd[v];
    if (d->mode == TSR_MODE_AREA)
      plan_area(&views[v], w, h, d->level, threads, cu, cv, p->pos + 2 * d->pos_offset, p->ext + 2 * d->ext_offset);
    else
      plan_point(&views[v], w, h, threads, p->pos + 2 * d->pos_offset);
  }
  free(cu);
  free(cv);
  return TSR_OK;
}

uint64_t tsr__warp_plan_data_bytes(const tsr__warp_plan *p) {
  return p->npos * 2 * sizeof *p->pos + p->next * 2 * sizeof *p->ext;
}

void tsr__warp_plan_free(tsr__warp_plan *p) {
  free(p->vd);
  free(p->pos);
  free(p->ext);
  memset(p, 0, sizeof *p);
}

double tsr_view_density(const tsr_warp_view *view, int src_w, int src_h) {
  const int grid = 32;
  double worst = 0;
  for (int gy = 0; gy <= grid; gy++)
    for (int gx = 0; gx <= grid; gx++) {
      double x = (double)((view->width - 1) * gx) / grid + 0.5, y = (double)((view->height - 1) * gy) / grid + 0.5;
      double u0, v0, ux, vx, uy, vy;
      tsr_view_coord(view->p, view->kind, src_w, src_h, x, y, &u0, &v0);
      tsr_view_coord(view->p, view->kind, src_w, src_h, x + 1, y, &ux, &vx);
      tsr_view_coord(view->p, view->kind, src_w, src_h, x, y + 1, &uy, &vy);
      double dux = ux - u0, duy = uy - u0, dvx = vx - v0, dvy = vy - v0;
      if (view->kind == TSR_COORD_EQUIRECT) {
        /* Across the seam, the short way round; a source row holds
         * cos(latitude) of the equator's length, so columns count less. */
        dux -= src_w * floor(dux / src_w + 0.5);
        duy -= src_w * floor(duy / src_w + 0.5);
        double full_h = view->p[13] > 0 ? view->p[13] : src_h;
        double c = cos((0.5 - ((v0 + view->p[14]) / full_h)) * PI);
        dux *= c;
        duy *= c;
      }
      double fx = sqrt(dux * dux + dvx * dvx), fy = sqrt(duy * duy + dvy * dvy);
      if (fx > worst) worst = fx;
      if (fy > worst) worst = fy;
    }
  return worst;
}
