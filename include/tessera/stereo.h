/* tessera stereo: disparity of rectified pairs, tiled from the memory
 * budget.
 *
 * Census transform (9 x 7) with Hamming costs, semi-global aggregation
 * over 8 (or 4) paths with P2 lowered across intensity edges,
 * winner-take-all with a uniqueness ratio, parabolic subpixel refinement,
 * a left-right check and a 3 x 3 median of the valid neighbours. Integer
 * arithmetic throughout: the CPU backend and every OpenCL device give the
 * same disparities for the same tile grid.
 *
 * Disparities are 16-bit, in 1/16 pixel (TSR_STEREO_SCALE), with
 * TSR_STEREO_INVALID where a pixel is rejected; left pixel x matches
 * right pixel x - d. */
#ifndef TESSERA_STEREO_H
#define TESSERA_STEREO_H

#include "tessera/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_STEREO_SCALE 16
#define TSR_STEREO_INVALID (-32768)
/* |disparity| stays below this many pixels (16-bit values in 1/16 px). */
#define TSR_STEREO_DISP_LIMIT 2040

typedef struct {
  size_t struct_size;    /* sizeof(tsr_stereo_options): TSR_STEREO_OPTIONS_INIT */
  int min_disp;          /* smallest disparity (may be negative) */
  int num_disp;          /* disparities searched: min_disp .. min_disp + num_disp - 1 (>= 1) */
  int p1, p2;            /* smoothness penalties; 0: 10 and 120 (8 paths), P2 <= 4000 */
  int uniqueness;        /* percent the best cost must beat every other by; -1: off, 0: 5 */
  int lr_max;            /* largest left-right disagreement kept, pixels; -1: no check (default 1) */
  int paths;             /* 4 or 8; 0: 8 */
  int median;            /* 3 x 3 median: 1 (default) or -1: off */
  int tile_w, tile_h;    /* tile windows (region: core plus margins); 0: planned from the budget */
  int overlap;           /* pixels neighbouring windows share (rounded up to even); 0: 64; -1: none */
  int guide;             /* 1: per-tile disparity ranges from a quarter-resolution pass */
} tsr_stereo_options;
#define TSR_STEREO_OPTIONS_INIT {.struct_size = sizeof(tsr_stereo_options), .lr_max = 1}
TSR_API void tsr_stereo_options_init(tsr_stereo_options *opts);

/* What a match did. */
typedef struct {
  int tiles_x, tiles_y;     /* the grid */
  int core_w, core_h;       /* a tile's core */
  int region_w, region_h;   /* the largest tile region (core plus margins) */
  int margin;
  uint64_t tile_bytes;      /* the planned memory of the largest tile */
  uint64_t cells;           /* pixel x disparity cells aggregated, margins and guidance included */
  int guided_tiles;         /* tiles that searched a narrower range than the full one */
  int min_tile_ndisp, max_tile_ndisp;
  double seconds;
  char device[64];          /* the device the tiles ran on ("cpu" when the CPU backend finished) */
} tsr_stereo_stats;

/* Disparities of the left image of a rectified pair (same size; 8- or
 * 16-bit, gray or colour: matched on 8-bit luma) into disp (width x
 * height values, TSR_STEREO_SCALE per pixel). disp_right (the right
 * image's integer disparities, from the same aggregated costs) and
 * confidence (0..255: how far the best cost is below the next
 * non-adjacent one) may be NULL. Runs on the context's device, tile by
 * tile within its budget; a failing device hands the tiles to the CPU
 * backend (same values). stats may be NULL. On the CPU backend the
 * matcher keeps its scratch (the size of its largest tile so far) on the
 * context for the next match, so that a series of matches touches its
 * memory once; tsr_context_destroy frees it. */
TSR_API tsr_status tsr_stereo_match(tsr_context *ctx, const tsr_image *left, const tsr_image *right,
                                    const tsr_stereo_options *opts, int16_t *disp, int16_t *disp_right,
                                    uint8_t *confidence, tsr_stereo_stats *stats);

/* An image as 8-bit luma ((77 R + 150 G + 29 B + 128) >> 8; alpha ignored;
 * 16-bit samples use their high byte). The caller frees *gray. */
TSR_API tsr_status tsr_image_gray8(tsr_context *ctx, const tsr_image *img, tsr_image **gray);

/* ---- batches ------------------------------------------------------------------ */
/* Pairs from folders, matched on the streaming pipeline (one pair decoded
 * ahead, outputs written by the workers, memory flat over any number of
 * pairs). Each folder is either a Middlebury scene (im0.png, im1.png,
 * calib.txt: the range is 0 .. ndisp - 1 unless range_given; vmin/vmax
 * colour the picture) or a KITTI layout (image_2/ and image_3/ with the
 * same file names; the options' range). Outputs, under outdir:
 *   Middlebury  <scene>/disp0.pfm, and with the extras disp0_vis.png,
 *               disp1.pfm (the right view's), conf0.png
 *   KITTI       <folder>/disp_0/<stem>.png (16-bit, x 256), and vis/,
 *               disp_1/, conf/ <stem>.png
 * outdir/run.json records the options: a re-run skips pairs whose outputs
 * exist and refuses other options unless overwrite. A pair that fails
 * (unreadable image, sizes that differ, a calib.txt without a usable
 * ndisp) is reported with its file and reason; the others complete. */
#define TSR_STEREO_EXTRA_VIS 1
#define TSR_STEREO_EXTRA_RIGHT 2
#define TSR_STEREO_EXTRA_CONFIDENCE 4
typedef struct {
  size_t struct_size; /* sizeof(tsr_stereo_batch_options) */
  const char *outdir;
  int extras;         /* TSR_STEREO_EXTRA_* */
  int range_given;    /* the options' range replaces calib.txt's ndisp */
  int overwrite;
  int progress;       /* a progress line on stderr */
} tsr_stereo_batch_options;
typedef struct {
  int pairs, done, skipped, failed;
  uint64_t cells;     /* pixel x disparity cells aggregated */
  uint64_t peak_rss;  /* of the process, bytes */
  double seconds;
} tsr_stereo_batch_result;
TSR_API tsr_status tsr_stereo_batch(tsr_context *ctx, const char *const *dirs, int ndirs,
                                    const tsr_stereo_options *opts, const tsr_stereo_batch_options *bo,
                                    tsr_stereo_batch_result *res);

/* One pair's outputs by the file names given (NULL: not written): disp as
 * PFM or, named .png, KITTI's 16-bit PNG; vis a picture coloured over
 * [vis_min, vis_max] (both 0: the options' range); right as PFM or PNG;
 * confidence a gray PNG. */
typedef struct {
  const char *disp, *vis, *right, *confidence;
  double vis_min, vis_max;
} tsr_stereo_files;
TSR_API tsr_status tsr_stereo_pair(tsr_context *ctx, const char *left, const char *right,
                                   const tsr_stereo_options *opts, const tsr_stereo_files *files,
                                   tsr_stereo_stats *stats);

/* ---- files ------------------------------------------------------------------ */
/* Writes disparities (1/16 px) as PFM: float32 little-endian, rows bottom
 * to top, +infinity where invalid (Middlebury's convention). Atomic. */
TSR_API tsr_status tsr_disp_write_pfm(tsr_context *ctx, const char *path, const int16_t *disp, int width, int height);
/* Reads a one-channel PFM (either endianness) into floats, rows top to
 * bottom. The caller frees *data. */
TSR_API tsr_status tsr_pfm_read(tsr_context *ctx, const char *path, float **data, int *width, int *height);
/* Writes disparities as a 16-bit gray PNG, KITTI's convention: disparity
 * x 256, 0 where invalid (and where the disparity is not positive, which
 * the convention cannot hold). Atomic. */
TSR_API tsr_status tsr_disp_write_png16(tsr_context *ctx, const char *path, const int16_t *disp, int width, int height);
/* A colour picture of disparities (dark blue near min_disp to dark red at
 * max_disp, black where invalid), written by extension. */
TSR_API tsr_status tsr_disp_write_vis(tsr_context *ctx, const char *path, const int16_t *disp, int width, int height,
                                      int min_disp, int max_disp);

/* ---- evaluation -------------------------------------------------------------- */
typedef struct {
  uint64_t known;        /* pixels with known ground truth (in the mask) */
  uint64_t invalid;      /* of those, without a disparity */
  double bad05, bad1, bad2, bad4; /* percent of known pixels whose error exceeds the threshold (invalid counted bad) */
  double avgerr, rms;    /* over known pixels with a disparity */
  double invalid_pct;
} tsr_stereo_eval;
/* Compares disparities (floats, +inf or NaN invalid; may be NULL-free
 * arrays of width x height) with ground truth (inf/NaN unknown, as
 * Middlebury's PFMs; 0 unknown when gt_zero_unknown, as KITTI's PNGs).
 * mask (may be NULL): 255 evaluated, other values skipped (Middlebury's
 * nonocc masks). */
TSR_API void tsr_stereo_evaluate(const float *disp, const float *gt, const uint8_t *mask, int width, int height,
                                 int gt_zero_unknown, tsr_stereo_eval *ev);

#ifdef __cplusplus
}
#endif
#endif
