/* The warp's two backends, called by src/warp.c. Both run the per-pixel code
 * of cl/warp.h; neither allocates the caller's images. */
#ifndef TSR_WARP_IMPL_H
#define TSR_WARP_IMPL_H

#include "internal.h"
#include "tsr_types.h"

/* Packs a source's format and its views into the kernels' layout (vd holds
 * nviews entries); checks the views. */
tsr_status tsr__warp_pack(tsr_context *ctx, const tsr_image *s0, const tsr_warp_view *views, int nviews,
                          tsr_interp interp, tsr_border border, tsr_src_desc *sd, tsr_view_desc *vd);

/* The memory one batch item declares (tsr_warp_mem_need and the OpenCL
 * path both use it). */
tsr_mem_need tsr__warp_need(uint64_t src_item_bytes, uint64_t dst_item_bytes, int nviews);

/* One (source image, view) pair on the OpenMP backend. dst is the view's
 * output, view->stride bytes per row. */
void tsr__warp_cpu(int threads, const tsr_src_desc *s, const uint8_t *src, const tsr_view_desc *view,
                   uint8_t *dst);

/* The whole job on ctx's OpenCL device. Plans the batch, halves it on
 * allocation failure (stats->retries), and returns an error when the device
 * cannot finish, in which case dst contents are unspecified. */
tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr_src_desc *s,
                        const tsr_view_desc *views, tsr_image *const *dst, tsr_warp_stats *stats);

#endif
