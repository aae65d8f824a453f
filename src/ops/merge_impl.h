/* The merge's two backends, called by src/merge.c: the CPU loop
 * (cpu/merge_cpu.c) and the OpenCL launch (src/merge_cl.c). */
#ifndef TSR_MERGE_IMPL_H
#define TSR_MERGE_IMPL_H

#include <stdint.h>

#include "tessera/tessera.h"
#include "tsr_types.h"

/* pano->nviews views packed in `views`; dst is pano->width x height with
 * channels (+1 alpha when the views have none) samples per pixel. */
void tsr__merge_cpu(int threads, const uint8_t *views, const tsr_view_desc *vd, const tsr_src_desc *pano,
                    uint8_t *dst);

/* The same on ctx's OpenCL device; an error means the caller should run
 * the CPU loop instead. */
typedef struct tsr_context tsr_context;
tsr_status tsr__merge_cl(tsr_context *ctx, const uint8_t *views, size_t views_bytes, const tsr_view_desc *vd,
                         const tsr_src_desc *pano, uint8_t *dst, size_t dst_bytes);

#endif
