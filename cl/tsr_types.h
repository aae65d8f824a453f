/* Structs read by the kernels and written by the host. Laid out by hand with
 * fixed-width fields, 64-bit members first, so that C on the host and OpenCL
 * C on every device agree on offsets and size (checked by a static assert in
 * src/warp.c). */
#ifndef TSR_TYPES_H
#define TSR_TYPES_H
#include "tsr_compat.h"

/* Values of tsr_view_desc.kind; they equal tsr_coord_kind in tessera.h. */
#define TSR_KIND_AFFINE 0
#define TSR_KIND_EQUIRECT 1

/* One output view of a warp, as the kernels see it. */
typedef struct {
  tsr_u64 dst_offset; /* byte offset of this view inside one batch item's output */
  float p[16];        /* coordinate-function parameters (see warp.h) */
  tsr_i32 kind;       /* TSR_KIND_* */
  tsr_i32 width, height;
  tsr_i32 stride;     /* output row bytes */
  tsr_i32 ss;         /* samples per axis per output pixel (antialiasing); <= 1: one */
  tsr_i32 pad_;
} tsr_view_desc;

/* The source image of a warp and how to sample it. */
typedef struct {
  tsr_u64 item_bytes;     /* bytes from one source image to the next */
  tsr_u64 dst_item_bytes; /* bytes from one item's outputs to the next */
  tsr_i32 width, height, stride, channels;
  tsr_i32 depth;          /* 8 or 16 */
  tsr_i32 interp;         /* 0 nearest, 1 bilinear, 2 bicubic, 3 Lanczos-3 */
  tsr_i32 border;         /* 0 clamp, 1 wrap, 2 constant, 3 sphere */
  tsr_i32 nviews;
} tsr_src_desc;

/* ---- the warp (cl/warp.h) ---- */

/* Source levels a warp can sample: level 0 is the image, level k + 1 halves
 * level k (cl/warp.h, tsr_pyr_pixel). */
#define TSR_LEVELS 6

/* Sampling modes of a view (tsr_warp_vdesc.mode): the interpolations, and
 * the area average over each output pixel's footprint (antialiasing). */
#define TSR_MODE_NEAREST 0
#define TSR_MODE_BILINEAR 1
#define TSR_MODE_BICUBIC 2
#define TSR_MODE_LANCZOS3 3
#define TSR_MODE_AREA 4

/* A warp's source as the kernels see it: one batch item is level 0 (the
 * image, rows packed) followed by the pyramid levels it needs. */
typedef struct {
  tsr_u64 item_bytes;                /* bytes from one item's level 0 to the next item's */
  tsr_u64 dst_item_bytes;            /* bytes from one item's outputs to the next */
  tsr_u64 level_offset[TSR_LEVELS];  /* byte offset of each level inside an item */
  tsr_i32 level_w[TSR_LEVELS], level_h[TSR_LEVELS], level_stride[TSR_LEVELS];
  tsr_i32 channels, depth;
  tsr_i32 border;                    /* 0 clamp, 1 wrap, 2 constant, 3 sphere */
  tsr_i32 nviews, nlevels;           /* nlevels: levels present (1 + the deepest a view uses) */
  tsr_i32 pad_;
} tsr_warp_src;

/* One view of a warp: where its sampling data and its output are. */
typedef struct {
  tsr_u64 dst_offset; /* byte offset of the view's output inside one item's outputs */
  tsr_u64 pos_offset; /* index of its first pixel's position pair in the position data */
  tsr_u64 ext_offset; /* index of its first pixel's footprint pair (TSR_MODE_AREA) */
  tsr_i32 width, height;
  tsr_i32 stride;     /* output row bytes */
  tsr_i32 mode;       /* TSR_MODE_* */
  tsr_i32 level;      /* source level it samples */
  tsr_i32 pad_;
} tsr_warp_vdesc;

#endif
