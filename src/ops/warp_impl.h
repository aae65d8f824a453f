/* The warp's two backends, called by src/ops/warp.c. Both run the per-pixel code
 * of cl/warp.h; neither allocates the caller's images. */
#ifndef TSR_WARP_IMPL_H
#define TSR_WARP_IMPL_H

#include "core/internal.h"
#include "tsr_types.h"

/* A warp's plan (src/ops/warp_plan.c): the source's levels, the views'
 * descriptors and the sampling data of every view (cl/warp.h), built once
 * per (views, source shape) and read by every backend. */
typedef struct {
  tsr_warp_src s;
  tsr_warp_vdesc *vd;   /* s.nviews */
  int32_t *pos;         /* 2 per output pixel of every view, view after view */
  uint16_t *ext;        /* 2 per output pixel of the area-mode views */
  uint64_t npos, next;  /* pixels with a position, with a footprint */
  uint64_t level_bytes; /* bytes of one item's levels 1.. (0: only level 0) */
} tsr__warp_plan;

/* Builds the plan of nviews views of a w x h source (channels, depth).
 * Views with supersample > 1 are antialiased (area mode). */
tsr_status tsr__warp_plan_make(tsr_context *ctx, int w, int h, int channels, int depth, const tsr_warp_view *views,
                               int nviews, tsr_interp interp, tsr_border border, int threads, tsr__warp_plan *p);
void tsr__warp_plan_free(tsr__warp_plan *p);
/* Bytes of the sampling data (positions and footprints). */
uint64_t tsr__warp_plan_data_bytes(const tsr__warp_plan *p);
/* The pyramid level an antialiased view samples (its density there is at
 * most 2 pixels per output pixel). */
int tsr__warp_area_level(const tsr_warp_view *view, int w, int h);
/* Whether plans take the vector path for area footprints (x86 with AVX):
 * -1 (the default) as the CPU allows and TESSERA_NO_AVX2 is unset, 0 never,
 * 1 always. For tests, which check both paths give the same plan. */
extern int tsr__warp_plan_vector;

/* The memory one batch item declares on a device (tsr_warp_mem_need and
 * the OpenCL path both use it): its source with levels and its outputs,
 * in each of the two buffer sets of a stream with pinned staging; the
 * sampling data is fixed. */
tsr_mem_need tsr__warp_need(uint64_t src_item_bytes, uint64_t dst_item_bytes, uint64_t fixed_bytes);

/* CPU backend (cpu/warp_cpu.c). Levels 1.. of a source into levels
 * (plan->level_bytes), from level 0 at src. */
void tsr__warp_levels_cpu(const tsr__warp_plan *p, const uint8_t *src, uint8_t *levels, int threads);
/* View v of a source (level 0 at src, the others in levels; NULL when the
 * plan has none) into dst, vd[v].stride bytes per row. */
/* tsr_area_recip (cl/warp.h) of a footprint of area EW * EH by one double
 * division instead of a 64-bit integer one, for the CPU loops. From an area
 * of 2^16 (footprints of at least one pixel a side) the quotient, at most
 * 2^24, is correctly rounded to within 2^-29, while the exact one is a
 * multiple of 1 / area that is never a half (that would need area = 2^41 /
 * odd), so at least 1 / (2 area) >= 2^-23 from one: both round to the same
 * integer. Smaller areas take the integer division. test_warp checks every
 * area a plan can make. */
static inline uint64_t tsr__area_recip_fast(int32_t EW, int32_t EH) {
  double area = (double)EW * (double)EH;
  if (area < 65536.0) {
    uint64_t a = (uint64_t)EW * (uint64_t)EH;
    return a ? ((UINT64_C(1) << 40) + a / 2) / a : 0;
  }
  return (uint64_t)(1099511627776.0 / area + 0.5);
}

void tsr__warp_view_cpu(const tsr__warp_plan *p, int v, const uint8_t *src, const uint8_t *levels, uint8_t *dst,
                        int threads);

/* The whole job on ctx's OpenCL device, through a stream. Returns an error
 * when the device cannot finish, in which case dst contents are
 * unspecified. */
tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr__warp_plan *plan,
                        tsr_image *const *dst, tsr_warp_stats *stats);

/* A device warp stream (src/ops/warp_cl.c): batches of sources of one
 * shape, each batch uploaded, warped and downloaded without waiting, the
 * next batch's upload overlapping this one's kernel. */
typedef struct tsr__warp_stream tsr__warp_stream;
/* Plans the batch (at most max_batch) against what the device's ledger has
 * left, uploads the plan's sampling data and allocates two buffer sets,
 * halving on allocation failure. The plan must outlive the stream. */
tsr_status tsr__warp_stream_open(tsr_context *ctx, const tsr__warp_plan *plan, int max_batch, tsr__warp_stream **out,
                                 int *retries);
/* The planned batch: what every submit may carry. */
int tsr__warp_stream_batch(const tsr__warp_stream *w);
/* Tiles of sampling data per batch: 1 when all of it stays on the device. */
int tsr__warp_stream_tiles(const tsr__warp_stream *w);
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
