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

int tsr_view_antialias(tsr_warp_view *view, int src_w, int src_h) {
  double d = tsr_view_density(view, src_w, src_h);
  int n = d <= 1.5 ? 1 : (int)ceil(d - 1e-6);
  if (n > 8) n = 8;
  view->supersample = n;
  return n;
}

/* Per item: source (with its levels) and outputs, in each of the two
 * buffer sets of a device stream, each with its pinned staging twin (all
 * charged to the ledger); the sampling data and descriptors are fixed. */
tsr_mem_need tsr__warp_need(uint64_t src_item_bytes, uint64_t dst_item_bytes, uint64_t fixed_bytes) {
  tsr_mem_need n = {0};
  n.nbuffers = 8;
  for (int i = 0; i < 8; i += 2) {
    n.item_bytes[i] = src_item_bytes;
    n.item_bytes[i + 1] = dst_item_bytes;
  }
  n.fixed_bytes = fixed_bytes;
  return n;
}

tsr_mem_need tsr_warp_mem_need(int src_w, int src_h, int channels, int depth, const tsr_warp_view *views,
                               int nviews) {
  uint64_t out = 0, data = sizeof(tsr_warp_src) + (uint64_t)nviews * sizeof(tsr_warp_vdesc), src = 0;
  int deepest = 0;
  for (int v = 0; v < nviews; v++) {
    uint64_t px = (uint64_t)views[v].width * (uint64_t)views[v].height;
    out += px * (uint64_t)channels * (uint64_t)(depth / 8);
    data += px * 8;
    if (views[v].supersample > 1) {
      data += px * 4;
      int L = tsr__warp_area_level(&views[v], src_w, src_h);
      if (L > deepest) deepest = L;
    }
  }
  for (int k = 0, w = src_w, h = src_h; k <= deepest; k++, w = (w + 1) / 2, h = (h + 1) / 2)
    src += (uint64_t)w * (uint64_t)h * (uint64_t)channels * (uint64_t)(depth / 8);
  return tsr__warp_need(src, out, data);
}

static int same_format(const tsr_image *a, const tsr_image *b) {
  return a->width == b->width && a->height == b->height && a->channels == b->channels && a->depth == b->depth;
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
  for (int v = 0; v < nviews; v++)
    for (int i = 0; i < nsrc; i++) {
      const tsr_image *d = dst[i * nviews + v];
      if (!d || d->width != views[v].width || d->height != views[v].height || d->channels != s0->channels ||
          d->depth != s0->depth || d->stride != (size_t)d->width * bpp)
        return tsr__fail(ctx, TSR_E_INVALID, "tsr_warp: output %d does not match view %d", i * nviews + v, v);
    }
  tsr__warp_plan plan;
  tsr_status st = tsr__warp_plan_make(ctx, s0->width, s0->height, s0->channels, s0->depth, views, nviews, interp,
                                      border, ctx->threads, &plan);
  if (st) return st;
  if (tsr__use_device(ctx)) {
    stats->backend = TSR_BACKEND_OPENCL;
    st = tsr__warp_cl(ctx, src, nsrc, &plan, dst, stats);
    if (st == TSR_OK) {
      tsr__warp_plan_free(&plan);
      return TSR_OK;
    }
    tsr__device_failed(ctx);
    tsr__warn(ctx, "%s (%s) failed, finishing on the CPU backend: %s", ctx->dev->id, ctx->dev->name, ctx->err);
    stats->fell_back = 1;
  }
  stats->backend = TSR_BACKEND_CPU;
  if (!stats->batch) stats->batch = nsrc;
  uint8_t *levels = NULL;
  if (plan.level_bytes && !(levels = malloc(plan.level_bytes))) {
    tsr__warp_plan_free(&plan);
    return tsr__fail(ctx, TSR_E_NOMEM, "tsr_warp: out of memory for the source's levels");
  }
  for (int i = 0; i < nsrc; i++) {
    if (levels) tsr__warp_levels_cpu(&plan, src[i]->data, levels, ctx->threads);
    for (int v = 0; v < nviews; v++)
      tsr__warp_view_cpu(&plan, v, src[i]->data, levels, dst[i * nviews + v]->data, ctx->threads);
  }
  free(levels);
  tsr__warp_plan_free(&plan);
  return TSR_OK;
}
