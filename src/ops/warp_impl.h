/* The warp's two backends, called by src/ops/warp.c. Both run the per-pixel code
 * of cl/warp.h; neither allocates the caller's images. */
#ifndef TSR_WARP_IMPL_H
#define TSR_WARP_IMPL_H

#include "core/internal.h"
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

/* The whole job on ctx's OpenCL device, through a stream. Returns an error
 * when the device cannot finish, in which case dst contents are
 * unspecified. */
tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr_src_desc *s,
                        const tsr_view_desc *views, tsr_image *const *dst, tsr_warp_stats *stats);

/* A device warp stream (src/ops/warp_cl.c): batches of sources of one
 * shape, each batch uploaded, warped and downloaded without waiting, the
 * next batch's upload overlapping this one's kernel. */
typedef struct tsr__warp_stream tsr__warp_stream;
/* Plans the batch (at most max_batch) against what the device's ledger has
 * left and allocates two buffer sets, halving on allocation failure. */
tsr_status tsr__warp_stream_open(tsr_context *ctx, const tsr_src_desc *s, const tsr_view_desc *views, int max_batch,
                                 tsr__warp_stream **out, int *retries);
/* The planned batch: what every submit may carry. */
int tsr__warp_stream_batch(const tsr__warp_stream *w);
/* Enqueues n (1..batch) sources and their n * nviews outputs under `tag`.
 * Sources and outputs stay the caller's and must stay valid until the tag
 * comes back. When the set it needs is busy, the oldest chunk is collected
 * first and its tag returned in *done (else *done = NULL). */
tsr_status tsr__warp_stream_submit(tsr__warp_stream *w, const tsr_image *const *src, int n, tsr_image *const *dst,
                                   void *tag, void **done);
/* Waits for the oldest chunk in flight: its outputs are written and its tag
 * returned; *tag = NULL when nothing is in flight. */
tsr_status tsr__warp_stream_collect(tsr__warp_stream *w, void **tag);
/* After an error: the tags of the chunks not collected, oldest first (at
 * most 2). Their outputs are not written. */
int tsr__warp_stream_pending(const tsr__warp_stream *w, void **tags);
void tsr__warp_stream_stats(const tsr__warp_stream *w, tsr_warp_stats *st);
/* Frees the stream; keep = 1 leaves its buffers in the device's cache.
 * With keep = 0 (after an error) it first waits for the device's queues,
 * so the caller's sources and outputs are free to reuse afterwards. */
void tsr__warp_stream_close(tsr__warp_stream *w, int keep);

/* Pinhole focal length in pixels of a view `width` wide with horizontal
 * field of view hfov degrees. */
double tsr__focal(int width, double hfov);

#endif
