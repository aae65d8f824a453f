/* Rigs' camera files (src/ops/colmap.c), private to the library: the split
 * writes them, the merge reads the geometry back. */
#ifndef TSR_OPS_RIG_IMPL_H
#define TSR_OPS_RIG_IMPL_H

#include "core/internal.h"

/* rig_config.json and cameras.txt in outdir. */
tsr_status tsr__write_colmap(tsr_context *ctx, const tsr_rig *rig, const char *outdir);

#endif
