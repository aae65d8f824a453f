/* The merge's CPU loop (cpu/merge_cpu.c), called by src/merge.c. */
#ifndef TSR_MERGE_IMPL_H
#define TSR_MERGE_IMPL_H

#include <stdint.h>

#include "tsr_types.h"

/* pano->nviews views packed in `views`; dst is pano->width x height with
 * channels (+1 alpha when the views have none) samples per pixel. */
void tsr__merge_cpu(int threads, const uint8_t *views, const tsr_view_desc *vd, const tsr_src_desc *pano,
                    uint8_t *dst);

#endif
