/* The generic warp: every output pixel samples the source where a coordinate
 * function says, on the context's device. */
#ifndef TESSERA_WARP_H
#define TESSERA_WARP_H

#include "tessera/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- warp ------------------------------------------------------------------ */
typedef enum {
  TSR_INTERP_NEAREST = 0,
  TSR_INTERP_BILINEAR = 1,
  TSR_INTERP_BICUBIC = 2, /* Keys cubic convolution, a = -0.5 */
  TSR_INTERP_LANCZOS3 = 3
} tsr_interp;
typedef enum {
  TSR_BORDER_CLAMP = 0,    /* repeat the edge pixel */
  TSR_BORDER_WRAP = 1,     /* periodic in x and y */
  TSR_BORDER_CONSTANT = 2, /* zero outside */
  TSR_BORDER_SPHERE = 3    /* equirectangular: x periodic, y reflects over the pole with a half-turn in x */
} tsr_border;

typedef enum { TSR_COORD_AFFINE = 0, TSR_COORD_EQUIRECT = 1 } tsr_coord_kind;

/* One output view: its size and the coordinate function that maps an output
 * pixel to a source position (source pixel centres at i + 0.5). The engine
 * converts it to the packed layout the kernels read (cl/tsr_types.h). */
typedef struct {
  int width, height;
  tsr_coord_kind kind;
  double p[16];   /* parameters of the coordinate function */
  int supersample; /* > 1: antialiased (each output pixel the mean of the source over its
                      footprint, at a pyramid level of the source); 0 or 1: the interpolation */
} tsr_warp_view;

typedef struct {
  tsr_backend backend; /* where the work ran (CPU after a fallback) */
  int batch;           /* items per launch, as planned (two buffer sets of this many on OpenCL, so
                          one set's transfers overlap the other's kernel) */
  int launches;        /* kernel launches that ran */
  int items;           /* sources those launches carried */
  int batch_run_max;   /* the most sources one launch carried */
  int overlapped;      /* launches enqueued while the previous batch was still on the device (its
                          download not yet waited for): transfers and kernels of consecutive
                          batches can overlap */
  int retries;         /* batch halvings after allocation failures */
  int fell_back;       /* 1 if the device failed and the CPU backend finished */
  uint64_t device_bytes; /* device memory of the buffers (both sets) */
  int pinned;          /* 1 if transfers went through pinned staging buffers */
  double upload_s, kernel_s, download_s; /* device time from profiling events (0 on the CPU) */
} tsr_warp_stats;

/* Warps each of nsrc source images (same size and format) through each of
 * nviews views into dst[i * nviews + v], which the caller has created with
 * the view's size and the source's channels and depth. On an OpenCL device
 * the batch is planned from the budget, halved on allocation failure, and
 * the CPU backend finishes the job if the device keeps failing. */
TSR_API tsr_status tsr_warp(tsr_context *ctx, const tsr_image *const *src, int nsrc,
                    const tsr_warp_view *views, int nviews, tsr_interp interp,
                    tsr_border border, tsr_image *const *dst, tsr_warp_stats *stats);

/* Sets *view to an affine map: source (u, v) = A * (x + .5, y + .5, 1)
 * for output pixel (x, y), with A = {a, b, c, d, e, f} row-major 2x3. */
TSR_API void tsr_view_affine(tsr_warp_view *view, int out_w, int out_h, const double a[6]);

/* Sets *view to a pinhole view of an equirectangular source (use
 * TSR_BORDER_SPHERE). Angles in degrees: yaw turns right (toward +longitude),
 * pitch looks up, roll turns the camera clockwise as seen from behind it;
 * applied yaw, then pitch, then roll. Square pixels, principal point at the
 * centre, focal length from the horizontal field of view. */
TSR_API void tsr_view_equirect(tsr_warp_view *view, int out_w, int out_h, double yaw, double pitch, double roll,
                       double hfov);
/* The camera-to-world rotation (row-major 3x3) of those angles, in the
 * frame of tsr_view_equirect: x right, y up, z forward. */
TSR_API void tsr_rotation_ypr(double yaw, double pitch, double roll, double r[9]);

/* How sparsely a view samples its source: the largest distance, in source
 * pixels, between the source positions of neighbouring output pixels (for
 * equirectangular sources, measured on the sphere: a column step counts
 * cos(latitude) of a pixel). Above 1 the view minifies. */
TSR_API double tsr_view_density(const tsr_warp_view *view, int src_w, int src_h);
/* Sets view->supersample from the density: 1 (no antialiasing) up to 1.5
 * source pixels per output pixel, else ceil(density), at most 8 (any value
 * above 1 turns antialiasing on). Returns the value set. */
TSR_API int tsr_view_antialias(tsr_warp_view *view, int src_w, int src_h);

/* Memory one warp batch item (one source image and all its views, in both
 * buffer sets of a device stream, with pinned staging) needs. */
TSR_API tsr_mem_need tsr_warp_mem_need(int src_w, int src_h, int channels, int depth,
                               const tsr_warp_view *views, int nviews);

#ifdef __cplusplus
}
#endif
#endif
