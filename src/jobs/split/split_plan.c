/* The split's plan for one (rig, frame size): which DCT scale to decode
 * at, which rows of the frame the views sample, the views' supersampling,
 * and the packed descriptors every frame reuses.
 *
 * Rows: latitude has no critical point on the sphere except the poles, so
 * over a pinhole view's rectangle its extremes lie on the rectangle's edge
 * unless a pole is inside the view. The plan walks every edge sample
 * position (all supersample offsets) through the shared coordinate function
 * and widens the band by the interpolation's reach plus two rows, which
 * covers the float differences between host and device. The band then
 * holds every row any output sample reads, so the output equals that of a
 * full decode at the same scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/split/split_impl.h"
#include "warp.h"
#include "ops/warp_impl.h"

static tsr_image fake_image(int w, int h, int channels, int depth) {
  tsr_image im;
  memset(&im, 0, sizeof im);
  im.width = w;
  im.height = h;
  im.channels = channels;
  im.depth = depth;
  im.stride = (size_t)w * (size_t)channels * (size_t)(depth / 8);
  return im;
}

/* Rows [*lo, *hi] (fractional source rows) one view's samples reach. */
static void view_rows(tsr_context *ctx, const tsr_warp_view *wv, int W, int H, float *lo, float *hi) {
  tsr_image im = fake_image(W, H, 1, 8);
  tsr_src_desc sd;
  tsr_view_desc vd;
  tsr__warp_pack(ctx, &im, wv, 1, TSR_INTERP_NEAREST, TSR_BORDER_SPHERE, &sd, &vd);
  int ss = vd.ss > 1 ? vd.ss : 1;
  float step = 1.0f / (float)ss, u, v;
  *lo = 1e30f;
  *hi = -1e30f;
  int nx = wv->width * ss, ny = wv->height * ss;
  for (int e = 0; e < 2; e++) {
    float yy = e ? (float)wv->height - 0.5f * step : 0.5f * step;
    float xx = e ? (float)wv->width - 0.5f * step : 0.5f * step;
    for (int i = 0; i < nx; i++) {
      tsr_view_coord(&vd, &sd, ((float)i + 0.5f) * step, yy, &u, &v);
      *lo = fminf(*lo, v);
      *hi = fmaxf(*hi, v);
    }
    for (int j = 0; j < ny; j++) {
      tsr_view_coord(&vd, &sd, xx, ((float)j + 0.5f) * step, &u, &v);
      *lo = fminf(*lo, v);
      *hi = fmaxf(*hi, v);
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
      if (sgn > 0) *lo = -1e30f;
      else *hi = 1e30f;
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
  p->vd = calloc((size_t)rig->nviews, sizeof *p->vd);
  p->maps = calloc((size_t)rig->nviews, sizeof *p->maps);
  if (!p->views || !p->vd || !p->maps) {
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
  p->row0 = 0;
  p->rows = p->scaled_h;
  if (jpeg && allow_band) {
    float lo = 1e30f, hi = -1e30f;
    for (int i = 0; i < rig->nviews; i++) {
      float a, b;
      view_rows(ctx, &p->views[i], p->scaled_w, p->scaled_h, &a, &b);
      lo = fminf(lo, a);
      hi = fmaxf(hi, b);
    }
    int margin = (interp == TSR_INTERP_LANCZOS3 ? 3 : interp == TSR_INTERP_BICUBIC ? 2 : 1) + 2;
    double r0 = floor((double)lo) - margin, r1 = ceil((double)hi) + margin;
    p->row0 = r0 < 0 ? 0 : (int)r0;
    int end = r1 > p->scaled_h ? p->scaled_h : (int)r1;
    p->rows = end - p->row0;
    if (p->rows < 1) p->rows = 1;
  }
  for (int i = 0; i < rig->nviews; i++) {
    p->views[i].p[13] = p->scaled_h;
    p->views[i].p[14] = p->row0;
  }
  tsr_image band = fake_image(p->scaled_w, p->rows, channels, depth);
  tsr_status st = tsr__warp_pack(ctx, &band, p->views, p->nviews, interp, TSR_BORDER_SPHERE, &p->sd, p->vd);
  if (st) tsr__split_plan_free(p);
  return st;
}

void tsr__split_plan_free(tsr__split_plan *p) {
  if (p->maps)
    for (int i = 0; i < p->nviews; i++) tsr__remap_free(&p->maps[i]);
  free(p->maps);
  free(p->views);
  free(p->vd);
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
  tsr_image im = fake_image(2 * H, H, 1, 8);
  tsr_src_desc sd;
  tsr_view_desc vd;
  tsr__warp_pack(NULL, &im, &wv, 1, TSR_INTERP_NEAREST, TSR_BORDER_SPHERE, &sd, &vd);
  for (int y = 0; y < v->height; y++)
    for (int x = 0; x < v->width; x++) {
      float u, r;
      tsr_view_coord(&vd, &sd, (float)x + 0.5f, (float)y + 0.5f, &u, &r);
      double lat = 90.0 - (double)r / H * 180.0;
      m->data[(size_t)y * m->stride + (size_t)x] = lat < -90.0 + deg ? 0 : 255;
    }
  *out = m;
  return TSR_OK;
}
