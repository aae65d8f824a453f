/* The stereo matcher's backends, called by src/ops/stereo.c: the CPU loops
 * (cpu/stereo_cpu.c) and the OpenCL launches (src/ops/stereo_cl.c). Both
 * compute one tile at a time with the per-pixel code of cl/stereo.h and
 * leave the tile's disparities, after the left-right check and the median,
 * in the tile's region; the caller keeps the core. */
#ifndef TSR_STEREO_IMPL_H
#define TSR_STEREO_IMPL_H

#include "core/internal.h"
#include "stereo.h"

/* Scratch for tiles of at most max_w x max_h pixels (their regions) and
 * the disparity range of d (CPU backend). Every buffer is sized once per
 * run and reused tile after tile. */
typedef struct {
  int max_w, max_h, max_rw, cap_nd; /* what it was allocated for */
  int nd, ndp;                       /* the range it is readied for */
  uint64_t *censl, *censr; /* census of the region's left pixels, of the right columns it reads */
  uint16_t *sum;           /* h x w x ndp: the forward sweep's sums */
  uint16_t *crow;          /* 2 rows of costs, w x ndp each */
  uint16_t *trow;          /* 3 rows of the backward sweep's sums */
  uint16_t *rows;          /* the paths from above or below: 2 rows x 3 paths x w slots */
  int32_t *rowmin;         /* their minimums over d */
  uint16_t *hrows;         /* the horizontal path's values: 2 slots (and a pad) */
  void *rscratch;          /* a row's winners and the right image's map */
  uint16_t *padmask;       /* ndp: 0 below nd, the sentinel above */
  /* The 8-bit route (AVX-512; cpu/stereo_cpu.c): path values in a byte,
   * rows laid out by disparity, then column (wv columns: max_w rounded up
   * to 64), so that 64 pixels take one instruction. sum and trow then
   * hold nd x wv sums per row. */
  int wv;
  uint8_t *cv8;      /* h x nd x wv: the costs, kept from the forward sweep for the backward one */
  uint8_t *cr8;      /* R8_RING rows x nd x wv: the forward sweep's rows of costs in cache (cpu/stereo_cpu.c) */
  uint8_t *cx8;      /* R8_SLOTS rows x wv x ndq: costs by pixel (ndq: nd rounded up to 64), for the horizontal paths */
  uint8_t *e8;       /* R8_SLOTS rows x wv: the horizontal paths' P2' between each pixel and the one on its left */
  uint8_t *lv8;      /* 5 x (nd + 2) x (wv + 128): the paths from above/below (r8_lrow), a sentinel row each side */
  uint8_t *mv8;      /* 5 x (wv + 128): their minimums over d */
  uint8_t *h8;       /* R8_SLOTS rows x 2 directions x wv x (ndq + 64): the horizontal paths by pixel, a sentinel pad each */
  uint16_t *hsum8;   /* 2 rows x nd x wv: the two horizontal paths' sum, by disparity */
  uint8_t *padmask8; /* ndq: 0 below nd, 255 above */
  int16_t *raw;            /* h x w: winner-take-all disparities after the left-right check */
  int16_t *disp;           /* h x w: after the median */
  int16_t *dispr;          /* h x max_rw: the right image's map for the check (1/16 px) */
  int16_t *wbest;          /* h x w: every pixel's winner index */
  uint16_t *wsmin;         /* h x w: and its summed cost */
  int16_t *wsub;           /* h x w: its subpixel offset (8-bit route: per row, so that no thread writes */
  uint8_t *wuq;            /* h x w: and uniqueness       lines the one finishing an earlier row read) */
  uint8_t *conf;           /* h x w */
} tsr__stereo_work;

/* Bytes the CPU backend's scratch takes for a region of w x h, rw right
 * columns and ndp disparities (what the planner is told). */
uint64_t tsr__stereo_work_bytes(int w, int h, int rw, int ndp);
/* outputs_only: just the region's results (raw, disp, dispr, conf), for
 * a device that computes them. */
tsr_status tsr__stereo_work_alloc(tsr__stereo_work *wk, int max_w, int max_h, int max_rw, int nd, int outputs_only);
void tsr__stereo_work_free(tsr__stereo_work *wk);
/* Readies scratch for nd (<= cap_nd) disparities, whatever it was used
 * for before. */
void tsr__stereo_work_range(tsr__stereo_work *wk, int nd);

/* One tile on the CPU: left and right are the whole 8-bit gray images
 * (d->width x d->height, `stride` bytes per row). Leaves wk->disp (and
 * wk->conf, wk->dispr) for the region d->x0, y0, w, h. simd: -1 as the CPU
 * allows, 0 the scalar loops (the reference the vector ones equal), 1 at
 * most AVX2 (16-bit path values). */
void tsr__stereo_tile_cpu(tsr__stereo_work *wk, const tsr_stereo_desc *d, const uint8_t *left, const uint8_t *right,
                          int stride, int threads, int simd);

/* n pixels of 8-bit RGB to 8-bit luma (tsr_luma8). */
void tsr__gray8_rgb_row(const uint8_t *rgb, uint8_t *out, int n);

/* Which loops tsr__stereo_tile_cpu runs for d and simd on this CPU:
 * "8-bit AVX-512" (with ", costs packed into the forward sums" where
 * they fit), "AVX2" or "scalar". */
const char *tsr__stereo_cpu_route(const tsr_stereo_desc *d, int simd);

/* The options with every default filled in (what a run record keeps):
 * P1, P2, uniqueness (0 off), lr_max (-1 off), paths, median (1/0) and
 * the overlap in pixels. */
void tsr__stereo_effective(const tsr_stereo_options *o, tsr_stereo_options *out);

/* OpenCL (src/ops/stereo_cl.c): the pair's gray images uploaded, buffers
 * for the largest region. */
typedef struct tsr__stereo_cl tsr__stereo_cl;
/* Device bytes of one region's buffers (the images aside). */
uint64_t tsr__stereo_cl_bytes(int w, int h, int rw, int ndp);
tsr_status tsr__stereo_cl_open(tsr_context *ctx, const tsr_image *l, const tsr_image *r, int max_w, int max_h,
                               int max_rw, int nd, tsr__stereo_cl **s);
/* One tile: leaves wk->disp (median) or wk->raw, wk->conf, wk->dispr,
 * wk->wbest and wk->wsmin as the CPU loops would. */
tsr_status tsr__stereo_cl_tile(tsr__stereo_cl *s, const tsr_stereo_desc *d, tsr__stereo_work *wk, int median);
void tsr__stereo_cl_close(tsr__stereo_cl *s);

#endif
