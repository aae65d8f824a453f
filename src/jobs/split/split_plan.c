/* The split's plan for one (rig, frame size): which DCT scale to decode
 * at, which rows of the frame the views sample, the views' antialiasing,
 * and the warp's plan every frame reuses.
 *
 * Rows: latitude has no critical point on the sphere except the poles, so
 * over a pinhole view's rectangle its extremes lie on the rectangle's edge
 * unless a pole is inside the view. The plan walks the edge pixels' corners
 * and centres through the shared coordinate function and widens the band
 * by the samples' reach. The band then holds every row any output sample
 * reads, so the output equals that of a full decode at the same scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/split/split_impl.h"
#include "warp.h"
#include "ops/warp_impl.h"

/* Rows [*lo, *hi] (fractional source rows) one view's samples reach:
 * positions of its edge pixels' corners and centres. */
static void view_rows(const tsr_warp_view *wv, int W, int H, double *lo, double *hi) {
  double u, v;
  *lo = 1e300;
  *hi = -1e300;
  for (int e = 0; e < 2; e++) {
    for (int i = 0; i <= 2 * wv->width; i++) {
      tsr_view_coord(wv->p, wv->kind, W, H, 0.5 * i, e ? wv->height : 0, &u, &v);
      *lo = fmin(*lo, v);
      *hi = fmax(*hi, v);
    }
    for (int j = 0; j <= 2 * wv->height; j++) {
      tsr_view_coord(wv->p, wv->kind, W, H, e ? wv->width : 0, 0.5 * j, &u, &v);
      *lo = fmin(*lo, v);
      *hi = fmax(*hi, v);
    }
  }
  /* A pole inside the view: its direction in camera coordinates is row 1
   * of the camera-to-world rotation (times +-1) and it projects inside. */
  const double *r = wv->p;
  for (int sgn = -1; sgn <= 1; sgn += 2) {
    double x = sgn * r[3], y = sgn * r[4], z = sgn * r[5];
    if (z <= 0) continue;
    double px = wv->p[11] + wv->p[9] * x / z, py = wv->p[12] - wv->p[10] * y / z;
    if (px >= 0 && px <= wv->width && py >= 0 && py <= wv->height) {
      if (sgn > 0) *lo = -1e300;
      else *hi = 1e300;
    }
  }
}

tsr_status tsr__split_plan_make(tsr_context *ctx, const tsr_rig *rig, tsr_interp interp, int antialias,
                                int allow_band, int w, int h, int channels, int depth, int jpeg,
                                tsr__split_plan *p) {
  memset(p, 0, sizeof *p);
  p->src_w = w;
  p->src_h = h;
  p->channels = channels;
  p->depth = depth;
  p->jpeg = jpeg;
  p->nviews = rig->nviews;
  p->views = calloc((size_t)rig->nviews, sizeof *p->views);
  if (!p->views) {
    tsr__split_plan_free(p);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory planning the split");
  }
  double min_density = 1e30;
  for (int i = 0; i < rig->nviews; i++) {
    const tsr_rig_view *v = &rig->views[i];
    tsr_view_equirect(&p->views[i], v->width, v->height, v->yaw, v->pitch, v->roll, v->hfov);
    double d = tsr_view_density(&p->views[i], w, h);
    if (d < min_density) min_density = d;
  }
  /* Every view samples at half density or less: decode at a DCT scale. */
  p->denom = 1;
  if (jpeg && allow_band && antialias)
    while (p->denom < 8 && min_density >= 2.0 * p->denom) p->denom *= 2;
  p->scaled_w = (w + p->denom - 1) / p->denom;
  p->scaled_h = (h + p->denom - 1) / p->denom;
  for (int i = 0; i < rig->nviews; i++) {
    if (antialias) tsr_view_antialias(&p->views[i], p->scaled_w, p->scaled_h);
    else p->views[i].supersample = 1;
  }
  /* Rows: those the views reach, widened by the reach of the deepest
   * level's samples (an area footprint of TSR_AREA_MAX_PX level pixels, or
   * the interpolation's taps) plus two rows, and starting on a row that
   * begins a pixel of that level, so the band's pyramid equals the full
   * frame's over the rows used. */
  int deepest = 0;
  for (int i = 0; i < rig->nviews; i++)
    if (p->views[i].supersample > 1) {
      int L = tsr__warp_area_level(&p->views[i], p->scaled_w, p->scaled_h);
      if (L > deepest) deepest = L;
    }
  p->row0 = 0;
  p->rows = p->scaled_h;
  if (jpeg && allow_band) {
    double lo = 1e300, hi = -1e300;
    for (int i = 0; i < rig->nviews; i++) {
      double a, b;
      view_rows(&p->views[i], p->scaled_w, p->scaled_h, &a, &b);
      lo = fmin(lo, a);
      hi = fmax(hi, b);
    }
    int reach = interp == TSR_INTERP_LANCZOS3 ? 3 : TSR_AREA_MAX_PX;
    double margin = (double)(reach + 2) * (double)(1 << deepest);
    double r0 = floor(lo - margin), r1 = ceil(hi + margin);
    int align = 1 << deepest;
    p->row0 = r0 < 0 ? 0 : (int)r0 / align * align;
    int end = r1 > p->scaled_h ? p->scaled_h : (int)r1;
    p->rows = end - p->row0;
    if (p->rows < 1) p->rows = 1;
  }
  for (int i = 0; i < rig->nviews; i++) {
    p->views[i].p[13] = p->scaled_h;
    p->views[i].p[14] = p->row0;
  }
  p->interp = interp;
  return TSR_OK;
}

tsr_status tsr__split_plan_warp(tsr_context *ctx, tsr__split_plan *p, int threads) {
  if (p->wp.vd) return TSR_OK;
  return tsr__warp_plan_make(ctx, p->scaled_w, p->rows, p->channels, p->depth, p->views, p->nviews, p->interp,
                             TSR_BORDER_SPHERE, threads, &p->wp);
}

void tsr__split_plan_free(tsr__split_plan *p) {
  tsr__warp_plan_free(&p->wp);
  free(p->views);
  memset(p, 0, sizeof *p);
}

tsr_status tsr__nadir_mask(const tsr_rig_view *v, double deg, tsr_image **out) {
  tsr_image *m;
  tsr_status st = tsr_image_create(v->width, v->height, 1, 8, &m);
  if (st) return st;
  /* A virtual 0.1-degree panorama: the shared coordinate function gives the
   * row, the row gives the latitude. */
  const int H = 1800;
  tsr_warp_view wv;
  tsr_view_equirect(&wv, v->width, v->height, v->yaw, v->pitch, v->roll, v->hfov);
  for (int y = 0; y < v->height; y++)
    for (int x = 0; x < v->width; x++) {
      double u, r;
      tsr_view_coord(wv.p, wv.kind, 2 * H, H, x + 0.5, y + 0.5, &u, &r);
      double lat = 90.0 - r / H * 180.0;
      m->data[(size_t)y * m->stride + (size_t)x] = lat < -90.0 + deg ? 0 : 255;
    }
  *out = m;
  return TSR_OK;
}
