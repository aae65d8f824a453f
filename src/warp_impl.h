/* The warp's two backends, called by src/warp.c. Both run the per-pixel code
 * of cl/warp.h; neither allocates the caller's images. */
#ifndef TSR_WARP_IMPL_H
#define TSR_WARP_IMPL_H

#include "internal.h"
#include "tsr_types.h"

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
