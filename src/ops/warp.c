/* The generic warp: validation, the memory it declares, and the choice of
 * backend with fallback to the CPU when the device fails. The per-pixel math
 * is in cl/warp.h. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_types.h"
#include "warp.h"
#include "ops/warp_impl.h"

/* The kernels read these structs; their layout must not depend on the
 * compiler. */
_Static_assert(sizeof(tsr_view_desc) == 96, "tsr_view_desc layout");
_Static_assert(offsetof(tsr_view_desc, kind) == 72, "tsr_view_desc layout");
_Static_assert(sizeof(tsr_src_desc) == 48, "tsr_src_desc layout");
_Static_assert(TSR_COORD_AFFINE == TSR_KIND_AFFINE && TSR_COORD_EQUIRECT == TSR_KIND_EQUIRECT, "kind values");


void tsr_view_affine(tsr_warp_view *view, int out_w, int out_h, const double a[6]) {
  memset(view, 0, sizeof *view);
  view->width = out_w;
  view->height = out_h;
  view->kind = TSR_COORD_AFFINE;
  memcpy(view->p, a, 6 * sizeof *a);
}

void tsr_rotation_ypr(double yaw, double pitch, double roll, double r[9]) {
  const double d = 3.14159265358979323846 / 180.0;
  double cy = cos(yaw * d), sy = sin(yaw * d), cp = cos(pitch * d), sp = sin(pitch * d);
  double cr = cos(roll * d), sr = sin(roll * d);
  /* R = Ry(yaw) * Rx(pitch) * Rz(roll); Ry turns +z toward +x, Rx turns +z
   * toward +y, Rz turns +y toward +x (clockwise seen from behind). */
  double ry[9] = {cy, 0, sy, 0, 1, 0, -sy, 0, cy};
  double rx[9] = {1, 0, 0, 0, cp, sp, 0, -sp, cp};
  double rz[9] = {cr, sr, 0, -sr, cr, 0, 0, 0, 1};
  double t[9];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      t[i * 3 + j] = 0;
      for (int k = 0; k < 3; k++) t[i * 3 + j] += ry[i * 3 + k] * rx[k * 3 + j];
    }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      r[i * 3 + j] = 0;
      for (int k = 0; k < 3; k++) r[i * 3 + j] += t[i * 3 + k] * rz[k * 3 + j];
    }
}

double tsr__focal(int width, double hfov) {
  return 0.5 * width / tan(0.5 * hfov * 3.14159265358979323846 / 180.0);
}

void tsr_view_equirect(tsr_warp_view *view, int out_w, int out_h, double yaw, double pitch, double roll,
                       double hfov) {
  memset(view, 0, sizeof *view);
  view->width = out_w;
  view->height = out_h;
  view->kind = TSR_COORD_EQUIRECT;
  tsr_rotation_ypr(yaw, pitch, roll, view->p);
  double f = tsr__focal(out_w, hfov);
  view->p[9] = f;
  view->p[10] = f;
  view->p[11] = 0.5 * out_w;
  view->p[12] = 0.5 * out_h;
}

/* Packs a public view into the kernels' layout (host-side users of the
 * shared coordinate function). */
static void pack_view(const tsr_warp_view *w, tsr_view_desc *d) {
  memset(d, 0, sizeof *d);
  d->kind = w->kind;
  d->width = w->width;
  d->height = w->height;
  d->ss = w->supersample > 1 ? w->supersample : 1;
  for (int k = 0; k < 16; k++) d->p[k] = (float)w->p[k];
}

double tsr_view_density(const tsr_warp_view *view, int src_w, int src_h) {
  tsr_view_desc d;
  pack_view(view, &d);
  tsr_src_desc s = {0};
  s.width = src_w;
  s.height = src_h;
  const int grid = 32;
  double worst = 0;
  for (int gy = 0; gy <= grid; gy++)
    for (int gx = 0; gx <= grid; gx++) {
      float x = (float)((view->width - 1) * gx) / grid + 0.5f, y = (float)((view->height - 1) * gy) / grid + 0.5f;
      float u0, v0, ux, vx, uy, vy;
      tsr_view_coord(&d, &s, x, y, &u0, &v0);
      tsr_view_coord(&d, &s, x + 1, y, &ux, &vx);
      tsr_view_coord(&d, &s, x, y + 1, &uy, &vy);
      double dux = ux - u0, duy = uy - u0, dvx = vx - v0, dvy = vy - v0;
      if (view->kind == TSR_COORD_EQUIRECT) {
        /* Across the seam, the short way round; a source row holds
         * cos(latitude) of the equator's length, so columns count less. */
        dux -= src_w * floor(dux / src_w + 0.5);
        duy -= src_w * floor(duy / src_w + 0.5);
        double c = cos((0.5 - (v0 / src_h)) * 3.14159265358979323846);
        dux *= c;
        duy *= c;
      }
      double fx = sqrt(dux * dux + dvx * dvx), fy = sqrt(duy * duy + dvy * dvy);
      if (fx > worst) worst = fx;
      if (fy > worst) worst = fy;
    }
  return worst;
}

int tsr_view_antialias(tsr_warp_view *view, int src_w, int src_h) {
  double d = tsr_view_density(view, src_w, src_h);
  int n = d <= 1.5 ? 1 : (int)ceil(d - 1e-6);
  if (n > 8) n = 8;
  view->supersample = n;
  return n;
}

static uint64_t view_bytes(const tsr_warp_view *v, int channels, int depth) {
  return (uint64_t)v->width * (uint64_t)v->height * (uint64_t)channels * (uint64_t)(depth / 8);
}

/* Per item: source and outputs, in each of the two buffer sets of a device
 * stream, each with its pinned staging twin (all charged to the ledger). */
tsr_mem_need tsr__warp_need(uint64_t src_item_bytes, uint64_t dst_item_bytes, int nviews) {
  tsr_mem_need n = {0};
  n.nbuffers = 8;
  for (int i = 0; i < 8; i += 2) {
    n.item_bytes[i] = src_item_bytes;
    n.item_bytes[i + 1] = dst_item_bytes;
  }
  n.fixed_bytes = (uint64_t)nviews * sizeof(tsr_view_desc) + sizeof(tsr_src_desc);
  return n;
}

tsr_mem_need tsr_warp_mem_need(int src_w, int src_h, int channels, int depth, const tsr_warp_view *views,
                               int nviews) {
  uint64_t out = 0;
  for (int v = 0; v < nviews; v++) out += view_bytes(&views[v], channels, depth);
  return tsr__warp_need((uint64_t)src_w * (uint64_t)src_h * (uint64_t)channels * (uint64_t)(depth / 8), out, nviews);
}

static int same_format(const tsr_image *a, const tsr_image *b) {
  return a->width == b->width && a->height == b->height && a->channels == b->channels && a->depth == b->depth;
}

tsr_status tsr__warp_pack(tsr_context *ctx, const tsr_image *s0, const tsr_warp_view *views, int nviews,
                          tsr_interp interp, tsr_border border, tsr_src_desc *sd, tsr_view_desc *vd) {
  size_t bpp = tsr_image_bytes_per_pixel(s0);
  memset(sd, 0, sizeof *sd);
  sd->width = s0->width;
  sd->height = s0->height;
  sd->stride = (tsr_i32)s0->stride;
  sd->channels = s0->channels;
  sd->depth = s0->depth;
  sd->interp = (tsr_i32)interp;
  sd->border = (tsr_i32)border;
  sd->nviews = nviews;
  sd->item_bytes = (uint64_t)s0->stride * (uint64_t)s0->height;
  for (int v = 0; v < nviews; v++) {
    const tsr_warp_view *w = &views[v];
    if ((w->kind != TSR_COORD_AFFINE && w->kind != TSR_COORD_EQUIRECT) || w->width < 1 || w->height < 1)
      return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: view %d has an unknown coordinate function or no size", v);
    pack_view(w, &vd[v]);
    vd[v].stride = (tsr_i32)((size_t)w->width * bpp);
    vd[v].dst_offset = sd->dst_item_bytes;
    sd->dst_item_bytes += view_bytes(w, s0->channels, s0->depth);
  }
  return TSR_OK;
}

tsr_status tsr_warp(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr_warp_view *views,
                    int nviews, tsr_interp interp, tsr_border border, tsr_image *const *dst,
                    tsr_warp_stats *stats) {
  if (!ctx || !src || !views || !dst || nsrc < 1 || nviews < 1)
    return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: missing images or views");
  if ((unsigned)interp > TSR_INTERP_LANCZOS3 || (unsigned)border > TSR_BORDER_SPHERE)
    return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: unknown interpolation or border");
  tsr_warp_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  const tsr_image *s0 = src[0];
  size_t bpp = tsr_image_bytes_per_pixel(s0);
  for (int i = 0; i < nsrc; i++)
    if (!src[i] || !same_format(src[i], s0) || src[i]->stride != (size_t)s0->width * bpp)
      return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: source %d differs in size/format from the first, or has padded rows", i);

  tsr_view_desc *vd = calloc((size_t)nviews, sizeof *vd);
  if (!vd) return tsr__fail(ctx, TSR_E_NOMEM, "tsr_warp: out of memory");
  tsr_src_desc sd;
  tsr_status pst = tsr__warp_pack(ctx, s0, views, nviews, interp, border, &sd, vd);
  if (pst) {
    free(vd);
    return pst;
  }
  for (int v = 0; v < nviews; v++)
    for (int i = 0; i < nsrc; i++) {
      const tsr_image *d = dst[i * nviews + v];
      if (!d || d->width != views[v].width || d->height != views[v].height || d->channels != s0->channels ||
          d->depth != s0->depth || d->stride != (size_t)d->width * bpp) {
        free(vd);
        return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: output %d does not match view %d", i * nviews + v, v);
      }
    }

  tsr_status st = TSR_OK;
  if (tsr__use_device(ctx)) {
    stats->backend = TSR_BACKEND_OPENCL;
    st = tsr__warp_cl(ctx, src, nsrc, &sd, vd, dst, stats);
    if (st == TSR_OK) {
      free(vd);
      return TSR_OK;
    }
    tsr__device_failed(ctx);
    tsr__warn(ctx, "%s (%s) failed, finishing on the CPU backend: %s", ctx->dev->id, ctx->dev->name, ctx->err);
    stats->fell_back = 1;
  }
  stats->backend = TSR_BACKEND_CPU;
  if (!stats->batch) stats->batch = nsrc;
  for (int i = 0; i < nsrc; i++)
    for (int v = 0; v < nviews; v++) tsr__warp_cpu(ctx->threads, &sd, src[i]->data, &vd[v], dst[i * nviews + v]->data);
  free(vd);
  return TSR_OK;
}
