/* Private parts of the split (src/split*.c, src/colmap.c). */
#ifndef TSR_SPLIT_IMPL_H
#define TSR_SPLIT_IMPL_H

#include <pthread.h>

#include "internal.h"
#include "remap.h"
#include "tsr_types.h"

/* What is computed once per (rig, input size): the decode plan, the views
 * in source-band coordinates, their packed descriptors and, on the CPU
 * backend, their fixed-point maps (built on first use). */
typedef struct {
  int src_w, src_h, channels, depth; /* the sequence's frames as stored */
  int jpeg;                          /* 1: frames are JPEG, decoded through the band decoder */
  int denom;                         /* DCT scale 1/denom (1: full resolution) */
  int scaled_w, scaled_h;            /* the frame at that scale */
  int row0, rows;                    /* rows of the scaled frame the views sample */
  int nviews;
  tsr_warp_view *views;              /* crop and supersampling set */
  tsr_src_desc sd;                   /* describes the decoded band */
  tsr_view_desc *vd;
  tsr__remap *maps;                  /* nviews entries; off == NULL until built */
} tsr__split_plan;

/* Computes the plan for frames of w x h (channels, depth) stored as JPEG or
 * not. allow_scale: DCT scaling and row bands are allowed. */
tsr_status tsr__split_plan_make(tsr_context *ctx, const tsr_rig *rig, tsr_interp interp, int antialias,
                                int allow_band, int w, int h, int channels, int depth, int jpeg,
                                tsr__split_plan *plan);
void tsr__split_plan_free(tsr__split_plan *plan);

/* A mask of one view: 255 where the view looks farther than deg from the
 * nadir, 0 within it. 8-bit gray, the view's size. */
tsr_status tsr__nadir_mask(const tsr_rig_view *v, double deg, tsr_image **mask);

/* rig_config.json and cameras.txt in outdir (src/colmap.c). */
tsr_status tsr__write_colmap(tsr_context *ctx, const tsr_rig *rig, const char *outdir);

/* manifest.jsonl: appended line by line from several threads; on open, a
 * torn last line (no newline) from an interrupted run is cut and the
 * (frame, view) pairs already present are remembered so a resumed run does
 * not write them twice. */
typedef struct {
  int fd;
  pthread_mutex_t lock;
  uint64_t *seen; /* sorted hashes of "frame/view" from earlier runs */
  size_t nseen;
} tsr__manifest;

tsr_status tsr__manifest_open(tsr_context *ctx, const char *path, tsr__manifest *m);
/* Appends the line (one write) unless (frame, view) was present at open. */
tsr_status tsr__manifest_add(tsr_context *ctx, tsr__manifest *m, const char *frame, const char *view,
                             const char *line);
void tsr__manifest_close(tsr__manifest *m);

#endif
