/* Private parts of the split (src/split*.c, src/colmap.c). */
#ifndef TSR_SPLIT_IMPL_H
#define TSR_SPLIT_IMPL_H

#include <pthread.h>

#include "core/internal.h"
#include "io/codec.h"
#include "io/manifest.h"
#include "ops/rig_impl.h"
#include "ops/warp_impl.h"
#include "tsr_types.h"

/* What is computed once per (rig, input size): the decode plan, the views
 * in source-band coordinates and the warp's plan (its sampling data, built
 * on first use by tsr__split_plan_warp, for every backend). */
typedef struct {
  int src_w, src_h, channels, depth; /* the sequence's frames as stored */
  int jpeg;                          /* 1: frames are JPEG, decoded through the band decoder */
  int denom;                         /* DCT scale 1/denom (1: full resolution) */
  int scaled_w, scaled_h;            /* the frame at that scale */
  int row0, rows;                    /* rows of the scaled frame the views sample */
  int nviews;
  tsr_warp_view *views;              /* crop and supersampling set */
  tsr_interp interp;
  tsr__warp_plan wp;                 /* the warp of the band; wp.vd == NULL until built */
} tsr__split_plan;

/* Computes the plan for frames of w x h (channels, depth) stored as JPEG or
 * not. allow_scale: DCT scaling and row bands are allowed. */
tsr_status tsr__split_plan_make(tsr_context *ctx, const tsr_rig *rig, tsr_interp interp, int antialias,
                                int allow_band, int w, int h, int channels, int depth, int jpeg,
                                tsr__split_plan *plan);
void tsr__split_plan_free(tsr__split_plan *plan);
/* Builds the plan's warp (sampling data) with `threads` threads. */
tsr_status tsr__split_plan_warp(tsr_context *ctx, tsr__split_plan *plan, int threads);

/* A mask of one view: 255 where the view looks farther than deg from the
 * nadir, 0 within it. 8-bit gray, the view's size. */
tsr_status tsr__nadir_mask(const tsr_rig_view *v, double deg, tsr_image **mask);


#endif
