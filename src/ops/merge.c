/* tsr_merge: views of a rig back into an equirectangular panorama. Packs
 * the views into one buffer with their geometry and runs the per-pixel
 * blend of cl/merge.h on the context's device, or on the CPU backend, which
 * also finishes when the device fails. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "ops/merge_impl.h"


/* The kernels read these structs; their layout must not depend on the
 * compiler. */
_Static_assert(sizeof(tsr_view_desc) == 96, "tsr_view_desc layout");
_Static_assert(offsetof(tsr_view_desc, kind) == 72, "tsr_view_desc layout");
_Static_assert(sizeof(tsr_src_desc) == 48, "tsr_src_desc layout");

tsr_status tsr_merge(tsr_context *ctx, const tsr_rig *rig, const tsr_image *const *views, int width, int height,
                     tsr_image **out) {
  *out = NULL;
  if (!rig || !views || rig->nviews < 1 || width < 2 || height < 1 || width > TSR_MAX_DIM || height > TSR_MAX_DIM)
    return tsr__fail(ctx, TSR_E_INVALID, "merge: bad rig, views or panorama size");
  const tsr_image *v0 = views[0];
  size_t total = 0;
  for (int i = 0; i < rig->nviews; i++) {
    const tsr_image *v = views[i];
    if (!v || v->channels != v0->channels || v->depth != v0->depth)
      return tsr__fail(ctx, TSR_E_INVALID, "merge: view %s differs in channels or depth from the first view",
                       rig->views[i].name);
    if (v->width != rig->views[i].width || v->height != rig->views[i].height)
      return tsr__fail(ctx, TSR_E_INVALID, "merge: view %s is %dx%d, the rig says %dx%d", rig->views[i].name,
                       v->width, v->height, rig->views[i].width, rig->views[i].height);
    total += v->stride * (size_t)v->height;
  }
  uint8_t *packed = malloc(total);
  tsr_view_desc *vd = calloc((size_t)rig->nviews, sizeof *vd);
  tsr_image *pano = NULL;
  int out_ch = v0->channels == 2 || v0->channels == 4 ? v0->channels : v0->channels + 1;
  if (!packed || !vd || tsr_image_create(width, height, out_ch, v0->depth, &pano)) {
    free(packed);
    free(vd);
    return tsr__fail(ctx, TSR_E_NOMEM, "merge: out of memory");
  }
  size_t off = 0;
  for (int i = 0; i < rig->nviews; i++) {
    const tsr_rig_view *rv = &rig->views[i];
    tsr_warp_view wv;
    tsr_view_equirect(&wv, rv->width, rv->height, rv->yaw, rv->pitch, rv->roll, rv->hfov);
    for (int k = 0; k < 16; k++) vd[i].p[k] = (float)wv.p[k];
    vd[i].kind = TSR_KIND_EQUIRECT;
    vd[i].width = rv->width;
    vd[i].height = rv->height;
    vd[i].stride = (tsr_i32)views[i]->stride;
    vd[i].dst_offset = off;
    memcpy(packed + off, views[i]->data, views[i]->stride * (size_t)views[i]->height);
    off += views[i]->stride * (size_t)views[i]->height;
  }
  tsr_src_desc sd = {0};
  sd.width = width;
  sd.height = height;
  sd.channels = v0->channels;
  sd.depth = v0->depth;
  sd.nviews = rig->nviews;
  size_t dst_bytes = pano->stride * (size_t)pano->height;
  int done = 0;
  if (tsr__use_device(ctx)) {
    done = tsr__merge_cl(ctx, packed, total, vd, &sd, pano->data, dst_bytes) == TSR_OK;
    if (!done) {
      tsr__device_failed(ctx);
      tsr__warn(ctx, "%s (%s) failed the merge, finishing on the CPU backend: %s", ctx->dev->id, ctx->dev->name,
                ctx->err);
    }
  }
  if (!done) tsr__merge_cpu(ctx->threads, packed, vd, &sd, pano->data);
  free(packed);
  free(vd);
  *out = pano;
  return TSR_OK;
}
