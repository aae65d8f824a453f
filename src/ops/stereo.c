/* The host side of the stereo matcher (cl/stereo.h): options, the tile
 * grid from the planner, guidance, and the tiles run on the context's
 * device or the CPU backend.
 *
 * Tiles: each tile's core is extended by a margin on every side (clipped
 * at the image) for the aggregation paths to warm up; its right-image
 * columns reach a further disparity range to the left. Only the core is
 * kept (cropped, not blended): every cost depends on image coordinates
 * alone, so the core's values differ from an untiled run only through
 * paths that started at the region's edge, and the margin makes those
 * rare; a blend would mix two such estimates instead of keeping the
 * better-warmed one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/stereo_impl.h"
#include "runtime/cl.h"

/* The public constants are the kernels' own. */
_Static_assert(TSR_STEREO_SCALE == TSR_DISP_SCALE && TSR_STEREO_INVALID == TSR_DISP_INVALID &&
                   TSR_STEREO_DISP_LIMIT == TSR_DISP_LIMIT,
               "include/tessera/stereo.h and cl/stereo.h disagree");

#define DEFAULT_MARGIN 32
#define GUIDE_FACTOR 4
#define GUIDE_CORE 384 /* the core of a guided tile: small enough that its range is narrow */

void tsr_stereo_options_init(tsr_stereo_options *opts) {
  if (!opts) return;
  memset(opts, 0, sizeof *opts);
  opts->struct_size = sizeof *opts;
  opts->lr_max = 1;
}

tsr_status tsr_image_gray8(tsr_context *ctx, const tsr_image *img, tsr_image **gray) {
  if (!img || !gray) return TSR_E_INVALID;
  *gray = NULL;
  tsr_image *g = NULL;
  tsr_status st = tsr_image_create(img->width, img->height, 1, 8, &g);
  if (st) return ctx ? tsr__fail(ctx, st, "out of memory for a %dx%d gray image", img->width, img->height) : st;
  int ch = img->channels, colour = ch >= 3, threads = ctx ? tsr_context_threads(ctx) : 1;
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : 1)
  for (int y = 0; y < img->height; y++) {
    const uint8_t *row = img->data + (size_t)y * img->stride;
    uint8_t *o = g->data + (size_t)y * g->stride;
    if (img->depth == 8 && ch == 3) { /* the common case, vector loops where the CPU has them */
      tsr__gray8_rgb_row(row, o, img->width);
      continue;
    }
    for (int x = 0; x < img->width; x++) {
      int r, gg, b;
      if (img->depth == 16) {
        const uint16_t *p = (const uint16_t *)row + (size_t)x * (size_t)ch;
        r = p[0] >> 8;
        gg = colour ? p[1] >> 8 : r;
        b = colour ? p[2] >> 8 : r;
      } else {
        const uint8_t *p = row + (size_t)x * (size_t)ch;
        r = p[0];
        gg = colour ? p[1] : r;
        b = colour ? p[2] : r;
      }
      o[x] = (uint8_t)tsr_luma8(r, gg, b);
    }
  }
  *gray = g;
  return TSR_OK;
}

/* ---- options ------------------------------------------------------------------- */
typedef struct {
  int dmin, nd, p1, p2, uniqueness, lr_max, paths, median, margin, tile_w, tile_h, guide;
} params;

static tsr_status resolve(tsr_context *ctx, const tsr_stereo_options *o, params *p) {
  if (!o || o->struct_size == 0 || o->struct_size > sizeof *o)
    return tsr__fail(ctx, TSR_E_INVALID, "stereo options: struct_size not set (use tsr_stereo_options_init)");
  memset(p, 0, sizeof *p);
  p->dmin = o->min_disp;
  p->nd = o->num_disp;
  if (p->nd < 1) return tsr__fail(ctx, TSR_E_INVALID, "the disparity range is empty (num_disp %d)", p->nd);
  if (p->dmin <= -TSR_DISP_LIMIT || (int64_t)p->dmin + p->nd > TSR_DISP_LIMIT)
    return tsr__fail(ctx, TSR_E_INVALID, "disparities %d..%d: they must stay within +-%d", p->dmin,
                     p->dmin + p->nd - 1, TSR_DISP_LIMIT - 1);
  p->paths = o->paths ? o->paths : 8;
  if (p->paths != 4 && p->paths != 8) return tsr__fail(ctx, TSR_E_INVALID, "paths must be 4 or 8, not %d", p->paths);
  p->p1 = o->p1 ? o->p1 : 10;
  p->p2 = o->p2 ? o->p2 : 120;
  if (p->p1 < 1 || p->p2 <= p->p1 || p->p2 > TSR_SGM_P2_MAX)
    return tsr__fail(ctx, TSR_E_INVALID, "penalties P1 %d, P2 %d: need 0 < P1 < P2 <= %d", p->p1, p->p2,
                     TSR_SGM_P2_MAX);
  p->uniqueness = o->uniqueness < 0 ? 0 : o->uniqueness ? o->uniqueness : 5;
  if (p->uniqueness > 100) return tsr__fail(ctx, TSR_E_INVALID, "uniqueness %d%%: at most 100", p->uniqueness);
  p->lr_max = o->lr_max < 0 ? -1 : o->lr_max;
  p->median = o->median >= 0;
  p->tile_w = o->tile_w;
  p->tile_h = o->tile_h;
  if (p->tile_w < 0 || p->tile_h < 0) return tsr__fail(ctx, TSR_E_INVALID, "tile size must be positive");
  if (o->overlap < -1) return tsr__fail(ctx, TSR_E_INVALID, "overlap must not be negative");
  p->margin = o->overlap < 0 ? 0 : o->overlap ? (o->overlap + 1) / 2 : DEFAULT_MARGIN;
  if ((p->tile_w && p->tile_w <= 2 * p->margin) || (p->tile_h && p->tile_h <= 2 * p->margin))
    return tsr__fail(ctx, TSR_E_INVALID, "tiles of %dx%d leave no core inside an overlap of %d", p->tile_w, p->tile_h,
                     2 * p->margin);
  p->guide = o->guide;
  return TSR_OK;
}

void tsr__stereo_effective(const tsr_stereo_options *o, tsr_stereo_options *out) {
  *out = *o;
  out->p1 = o->p1 ? o->p1 : 10;
  out->p2 = o->p2 ? o->p2 : 120;
  out->uniqueness = o->uniqueness < 0 ? 0 : o->uniqueness ? o->uniqueness : 5;
  out->lr_max = o->lr_max < 0 ? -1 : o->lr_max;
  out->paths = o->paths ? o->paths : 8;
  out->median = o->median >= 0 ? 1 : 0;
  out->overlap = o->overlap < 0 ? 0 : o->overlap ? (o->overlap + 1) / 2 * 2 : 2 * DEFAULT_MARGIN;
}

/* What one tile's region takes, per pixel, row and column, for a range
 * of nd: the CPU backend's scratch, or a device's buffers. Both are
 * bilinear in the region's size (w, h), with w + nd - 1 right columns. */
static tsr_tile_need tile_need(int nd, int margin, int device) {
  int ndp = (nd + 15) / 16 * 16;
  uint64_t (*bytes)(int, int, int, int) = device ? tsr__stereo_cl_bytes : tsr__stereo_work_bytes;
  tsr_tile_need n;
  memset(&n, 0, sizeof n);
  uint64_t a = bytes(2, 2, 2 + nd - 1, ndp), b = bytes(3, 2, 3 + nd - 1, ndp);
  uint64_t c = bytes(2, 3, 2 + nd - 1, ndp), e = bytes(3, 3, 3 + nd - 1, ndp);
  /* a + (w-2) col + (h-2) row + (w-2)(h-2) px */
  n.pixel_bytes = e - b - c + a;
  n.column_bytes = b - a - 2 * n.pixel_bytes;
  n.row_bytes = c - a - 2 * n.pixel_bytes;
  n.fixed_bytes = a - 4 * n.pixel_bytes - 2 * n.column_bytes - 2 * n.row_bytes;
  n.largest_pixel_bytes = 2 * (uint64_t)ndp;
  n.margin = margin;
  return n;
}

/* ---- the tiles ----------------------------------------------------------------- */
typedef struct {
  tsr_context *ctx;
  const params *p;
  const tsr_image *l, *r; /* 8-bit gray */
  int16_t *disp, *dright;
  uint16_t *rowner; /* with dright: the summed cost of each right pixel's left winner so far */
  uint8_t *conf;
  tsr_tile_plan plan;
  tsr__stereo_work *wk;
  int device;         /* planned for the context's OpenCL device */
  tsr__stereo_cl *cl; /* NULL on the CPU backend, or once the device failed */
  tsr_stereo_stats *stats;
} matcher;

static void region(int size, int core, int i, int margin, int *c0, int *c1, int *r0, int *r1) {
  *c0 = i * core;
  *c1 = *c0 + core < size ? *c0 + core : size;
  *r0 = *c0 - margin > 0 ? *c0 - margin : 0;
  *r1 = *c1 + margin < size ? *c1 + margin : size;
}

static void tile_desc(const matcher *m, int tx, int ty, int dmin, int nd, tsr_stereo_desc *d, int core[4]) {
  const params *p = m->p;
  int W = m->l->width, H = m->l->height, x1, y1;
  memset(d, 0, sizeof *d);
  region(W, m->plan.core_w, tx, m->plan.nx > 1 ? p->margin : 0, &core[0], &core[2], &d->x0, &x1);
  region(H, m->plan.core_h, ty, m->plan.ny > 1 ? p->margin : 0, &core[1], &core[3], &d->y0, &y1);
  d->width = W;
  d->height = H;
  d->w = x1 - d->x0;
  d->h = y1 - d->y0;
  d->dmin = dmin;
  d->nd = nd;
  d->ndp = (nd + 15) / 16 * 16;
  d->p1 = p->p1;
  d->p2 = p->p2;
  d->uniqueness = p->uniqueness;
  d->lr_max = p->lr_max;
  d->paths = p->paths;
  int rx0 = d->x0 - (dmin + nd - 1), rx1 = x1 - dmin;
  if (rx0 < 0) rx0 = 0;
  if (rx1 > W) rx1 = W;
  d->rx0 = rx0 < W ? rx0 : W;
  d->rw = rx1 > d->rx0 ? rx1 - d->rx0 : 0;
}

/* The core of a finished tile into the outputs. */
static void keep_core(matcher *m, const tsr_stereo_desc *d, const int core[4]) {
  int W = d->width;
  const tsr__stereo_work *wk = m->wk;
  const int16_t *src = m->p->median ? wk->disp : wk->raw;
  for (int y = core[1]; y < core[3]; y++) {
    size_t ro = (size_t)(y - d->y0) * (size_t)d->w + (size_t)(core[0] - d->x0);
    memcpy(m->disp + (size_t)y * (size_t)W + (size_t)core[0], src + ro, (size_t)(core[2] - core[0]) * 2);
    if (m->conf) memcpy(m->conf + (size_t)y * (size_t)W + (size_t)core[0], wk->conf + ro, (size_t)(core[2] - core[0]));
    if (m->dright) {
      /* the right view: each core pixel's winner lands on a right pixel;
       * the smallest summed cost keeps it (the leftmost on ties: tiles
       * and pixels go left to right), as in an untiled run */
      int16_t *o = m->dright + (size_t)y * (size_t)W;
      uint16_t *own = m->rowner + (size_t)y * (size_t)W;
      const int16_t *best = wk->wbest + (size_t)(y - d->y0) * (size_t)d->w;
      const uint16_t *smin = wk->wsmin + (size_t)(y - d->y0) * (size_t)d->w;
      for (int x = core[0]; x < core[2]; x++) {
        int lx = x - d->x0, dd = d->dmin + best[lx], xr = x - dd;
        if (xr < 0 || xr >= W || smin[lx] >= own[xr]) continue;
        own[xr] = smin[lx];
        o[xr] = (int16_t)(dd * TSR_DISP_SCALE);
      }
    }
  }
}

/* The disparity interval a tile searches under guidance: the range the
 * quarter-resolution disparities of its region span, widened by a margin;
 * the full range where fewer than half of them are valid. */
static void guided_range(const matcher *m, const int16_t *q, int qw, int qh, const tsr_stereo_desc *d, int *dmin,
                         int *nd) {
  const params *p = m->p;
  *dmin = p->dmin;
  *nd = p->nd;
  if (!q) return;
  int qx0 = d->x0 / GUIDE_FACTOR, qy0 = d->y0 / GUIDE_FACTOR;
  int qx1 = (d->x0 + d->w + GUIDE_FACTOR - 1) / GUIDE_FACTOR, qy1 = (d->y0 + d->h + GUIDE_FACTOR - 1) / GUIDE_FACTOR;
  if (qx1 > qw) qx1 = qw;
  if (qy1 > qh) qy1 = qh;
  uint64_t n = 0, valid = 0;
  int lo = INT32_MAX, hi = INT32_MIN;
  for (int y = qy0; y < qy1; y++)
    for (int x = qx0; x < qx1; x++) {
      int v = q[(size_t)y * (size_t)qw + (size_t)x];
      n++;
      if (v == TSR_DISP_INVALID) continue;
      valid++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!n || valid * 2 < n) return;
  /* quarter pixels in 1/16 to full pixels, then a margin of 8 pixels plus
   * an eighth of the span found (the estimate misses thin structures) */
  int a = (int)floor((double)lo * GUIDE_FACTOR / TSR_DISP_SCALE), b = (int)ceil((double)hi * GUIDE_FACTOR / TSR_DISP_SCALE);
  int pad = 6 + (b - a) / 16;
  a -= pad;
  b += pad;
  if (a < p->dmin) a = p->dmin;
  if (b > p->dmin + p->nd - 1) b = p->dmin + p->nd - 1;
  if (b < a) return;
  *dmin = a;
  *nd = b - a + 1;
}

static tsr_status quarter(tsr_context *ctx, const tsr_image *g, tsr_image **out) {
  int qw = g->width / GUIDE_FACTOR, qh = g->height / GUIDE_FACTOR;
  tsr_status st = tsr_image_create(qw, qh, 1, 8, out);
  if (st) return tsr__fail(ctx, st, "out of memory for the guidance images");
  for (int y = 0; y < qh; y++)
    for (int x = 0; x < qw; x++) {
      int s = 0;
      for (int k = 0; k < GUIDE_FACTOR; k++)
        for (int i = 0; i < GUIDE_FACTOR; i++)
          s += g->data[(size_t)(y * GUIDE_FACTOR + k) * g->stride + (size_t)(x * GUIDE_FACTOR + i)];
      (*out)->data[(size_t)y * (*out)->stride + (size_t)x] = (uint8_t)((s + GUIDE_FACTOR * GUIDE_FACTOR / 2) /
                                                                       (GUIDE_FACTOR * GUIDE_FACTOR));
    }
  return TSR_OK;
}

static tsr_status guide_pass(matcher *m, int16_t **q, int *qw, int *qh) {
  *q = NULL;
  const params *p = m->p;
  if (!p->guide || m->l->width < 16 * GUIDE_FACTOR || m->l->height < 16 * GUIDE_FACTOR) return TSR_OK;
  tsr_image *ql = NULL, *qr = NULL;
  tsr_status st = quarter(m->ctx, m->l, &ql);
  if (!st) st = quarter(m->ctx, m->r, &qr);
  if (!st) {
    tsr_stereo_options o;
    tsr_stereo_options_init(&o);
    o.min_disp = (int)floor((double)p->dmin / GUIDE_FACTOR);
    o.num_disp = (int)ceil((double)(p->dmin + p->nd) / GUIDE_FACTOR) - o.min_disp + 1;
    o.p1 = p->p1;
    o.p2 = p->p2;
    o.uniqueness = p->uniqueness ? p->uniqueness : -1;
    o.lr_max = p->lr_max;
    o.paths = p->paths;
    *qw = ql->width;
    *qh = ql->height;
    *q = malloc((size_t)ql->width * (size_t)ql->height * 2);
    if (!*q) st = tsr__fail(m->ctx, TSR_E_NOMEM, "out of memory for the guidance disparities");
    tsr_stereo_stats qs;
    if (!st) st = tsr_stereo_match(m->ctx, ql, qr, &o, *q, NULL, NULL, &qs);
    if (!st) m->stats->cells += qs.cells;
  }
  tsr_image_free(ql);
  tsr_image_free(qr);
  if (st) {
    free(*q);
    *q = NULL;
  }
  return st;
}

/* The CPU scratch (or, with outputs_only, the region's outputs) for
 * regions up to w x h reading rw right columns, nd disparities: what
 * the context kept from its last match when it is large enough. */
static void work_destroy(void *p) {
  tsr__stereo_work_free(p);
  free(p);
}

static tsr_status work_get(tsr_context *ctx, int w, int h, int rw, int nd, int outputs_only, tsr__stereo_work **out) {
  tsr__stereo_work *wk = tsr__scratch_take(ctx, work_destroy);
  if (wk && wk->max_w >= w && wk->max_h >= h && wk->max_rw >= rw && wk->cap_nd >= nd &&
      (outputs_only || wk->rows)) {
    tsr__stereo_work_range(wk, nd);
    *out = wk;
    return TSR_OK;
  }
  if (wk) work_destroy(wk); /* too small: freed before the larger one is made */
  wk = calloc(1, sizeof *wk);
  tsr_status st = wk ? tsr__stereo_work_alloc(wk, w, h, rw, nd, outputs_only) : TSR_E_NOMEM;
  if (st) {
    free(wk);
    return tsr__fail(ctx, st, "out of memory for a stereo tile of %dx%d with %d disparities", w, h, nd);
  }
  *out = wk;
  return TSR_OK;
}

/* Keeps the scratch on the context for the next match. */
static void work_put(tsr_context *ctx, tsr__stereo_work *wk) {
  if (wk) tsr__scratch_keep(ctx, wk, work_destroy);
}

static tsr_status run_tiles(matcher *m) {
  const params *p = m->p;
  int16_t *q = NULL;
  int qw = 0, qh = 0;
  tsr_status st = guide_pass(m, &q, &qw, &qh);
  if (st) return st;
  m->stats->min_tile_ndisp = p->nd;
  m->stats->max_tile_ndisp = 0;
  int max_w = m->plan.region_w, max_h = m->plan.region_h;
  int max_rw = max_w + p->nd - 1 < m->l->width ? max_w + p->nd - 1 : m->l->width;
  if (m->device && tsr__stereo_cl_open(m->ctx, m->l, m->r, max_w, max_h, max_rw, p->nd, &m->cl)) {
    tsr__warn(m->ctx, "stereo: %s; the CPU backend matches this pair", tsr_context_error(m->ctx));
    tsr__device_failed(m->ctx);
    m->cl = NULL;
  }
  if ((st = work_get(m->ctx, max_w, max_h, max_rw, p->nd, m->cl != NULL, &m->wk))) {
    tsr__stereo_cl_close(m->cl);
    free(q);
    return st;
  }
  snprintf(m->stats->device, sizeof m->stats->device, "%s", m->cl ? m->ctx->dev->id : "cpu");
  int threads = tsr_context_threads(m->ctx);
  for (int ty = 0; ty < m->plan.ny && !st; ty++)
    for (int tx = 0; tx < m->plan.nx && !st; tx++) {
      if (tsr__cancelled(m->ctx)) {
        st = tsr__fail(m->ctx, TSR_E_CANCELLED, "cancelled");
        break;
      }
      tsr_stereo_desc d;
      int core[4], dmin = p->dmin, nd = p->nd;
      tile_desc(m, tx, ty, dmin, nd, &d, core);
      guided_range(m, q, qw, qh, &d, &dmin, &nd);
      if (nd != p->nd) {
        tile_desc(m, tx, ty, dmin, nd, &d, core);
        m->stats->guided_tiles++;
      }
      if (nd < m->stats->min_tile_ndisp) m->stats->min_tile_ndisp = nd;
      if (nd > m->stats->max_tile_ndisp) m->stats->max_tile_ndisp = nd;
      if (m->cl && tsr__stereo_cl_tile(m->cl, &d, m->wk, p->median)) {
        /* the same tile and the rest on the CPU, on the same grid */
        tsr__warn(m->ctx, "stereo: the device failed (%s); the CPU backend finishes the pair", tsr_context_error(m->ctx));
        tsr__device_failed(m->ctx);
        tsr__stereo_cl_close(m->cl);
        m->cl = NULL;
        work_destroy(m->wk);
        m->wk = NULL;
        if ((st = work_get(m->ctx, max_w, max_h, max_rw, p->nd, 0, &m->wk))) break;
        snprintf(m->stats->device, sizeof m->stats->device, "cpu");
      }
      if (!m->cl) {
        /* the scratch was sized for the full range: a narrower one fits */
        tsr__stereo_work_range(m->wk, nd);
        tsr__stereo_tile_cpu(m->wk, &d, m->l->data, m->r->data, (int)m->l->stride, threads, -1);
      }
      m->stats->cells += (uint64_t)d.w * (uint64_t)d.h * (uint64_t)nd;
      keep_core(m, &d, core);
    }
  tsr__stereo_cl_close(m->cl);
  m->cl = NULL;
  work_put(m->ctx, m->wk);
  m->wk = NULL;
  free(q);
  return st;
}

tsr_status tsr_stereo_match(tsr_context *ctx, const tsr_image *left, const tsr_image *right,
                            const tsr_stereo_options *opts, int16_t *disp, int16_t *disp_right, uint8_t *confidence,
                            tsr_stereo_stats *stats) {
  if (!ctx || !left || !right || !disp) return TSR_E_INVALID;
  tsr_stereo_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  params p;
  tsr_status st = resolve(ctx, opts, &p);
  if (st) return st;
  if (left->width != right->width || left->height != right->height)
    return tsr__fail(ctx, TSR_E_INVALID, "the images differ in size (%dx%d and %dx%d); a rectified pair has one size",
                     left->width, left->height, right->width, right->height);
  double t0 = tsr__now();
  tsr_image *gl = NULL, *gr = NULL;
  const tsr_image *l = left, *r = right;
  if (left->channels != 1 || left->depth != 8) {
    if ((st = tsr_image_gray8(ctx, left, &gl))) return st;
    l = gl;
  }
  if (right->channels != 1 || right->depth != 8) {
    if ((st = tsr_image_gray8(ctx, right, &gr))) {
      tsr_image_free(gl);
      return st;
    }
    r = gr;
  }
  if (r->stride != l->stride) { /* one stride for both: copy the right one if they differ */
    tsr_image *c = NULL;
    if ((st = tsr_image_create(r->width, r->height, 1, 8, &c))) goto done;
    for (int y = 0; y < r->height; y++) memcpy(c->data + (size_t)y * c->stride, r->data + (size_t)y * r->stride, (size_t)r->width);
    tsr_image_free(gr);
    gr = c;
    r = c;
  }
  {
    matcher m;
    memset(&m, 0, sizeof m);
    m.ctx = ctx;
    m.p = &p;
    m.l = l;
    m.r = r;
    m.disp = disp;
    m.dright = disp_right;
    m.conf = confidence;
    m.stats = stats;
    int W = l->width, H = l->height;
    /* the budget covers this call's whole-image buffers too (on a
     * device: the two images it holds) */
    int device = tsr__use_device(ctx);
    uint64_t image_bytes = device ? 2 * (uint64_t)l->stride * (uint64_t)H
                                  : (uint64_t)W * (uint64_t)H * (2 + (gl ? 1 : 0) + (gr ? 1 : 0) + (disp_right ? 2 : 0));
    uint64_t budget = device ? tsr__cl_available(ctx) : tsr_context_budget(ctx);
    budget = budget > image_bytes ? budget - image_bytes : 0;
    tsr_tile_need need = tile_need(p.nd, p.margin, device);
    int cw = p.tile_w ? p.tile_w - 2 * p.margin : 0, ch = p.tile_h ? p.tile_h - 2 * p.margin : 0;
    st = tsr_plan_tiles(&need, W, H, budget, device ? ctx->dev->max_alloc : 0, cw, ch, &m.plan);
    /* guidance narrows each tile's range to what its region holds: tiles
     * of GUIDE_CORE pixels where the planner would take larger ones (a
     * whole image is one tile and would keep the full range) */
    tsr_tile_plan gp;
    if (!st && p.guide && !cw && !ch && (m.plan.core_w > GUIDE_CORE || m.plan.core_h > GUIDE_CORE) &&
        !tsr_plan_tiles(&need, W, H, budget, device ? ctx->dev->max_alloc : 0,
                        m.plan.core_w < GUIDE_CORE ? m.plan.core_w : GUIDE_CORE,
                        m.plan.core_h < GUIDE_CORE ? m.plan.core_h : GUIDE_CORE, &gp))
      m.plan = gp;
    if (st) {
      st = tsr__fail(ctx, TSR_E_BUDGET,
                     "a %dx%d pair with %d disparities does not fit %.0f MiB %s (each tile needs about %.0f bytes "
                     "per pixel); raise --mem-budget",
                     W, H, p.nd, (double)budget / 1048576.0,
                     cw ? "in the tiles asked for" : "in tiles of at least 16x16 pixels", (double)need.pixel_bytes);
      goto done;
    }
    m.device = device;
    stats->tiles_x = m.plan.nx;
    stats->tiles_y = m.plan.ny;
    stats->core_w = m.plan.core_w;
    stats->core_h = m.plan.core_h;
    stats->region_w = m.plan.region_w;
    stats->region_h = m.plan.region_h;
    stats->margin = p.margin;
    stats->tile_bytes = m.plan.bytes;
    for (size_t i = 0; i < (size_t)W * (size_t)H; i++) disp[i] = TSR_DISP_INVALID;
    if (disp_right) {
      if (!(m.rowner = malloc((size_t)W * (size_t)H * 2))) {
        st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory for the right view's disparities");
        goto done;
      }
      for (size_t i = 0; i < (size_t)W * (size_t)H; i++) {
        disp_right[i] = TSR_DISP_INVALID;
        m.rowner[i] = 0xFFFF;
      }
    }
    st = run_tiles(&m);
    free(m.rowner);
  }
done:
  tsr_image_free(gl);
  tsr_image_free(gr);
  stats->seconds = tsr__now() - t0;
  return st;
}
