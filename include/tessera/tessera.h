/* tessera: a portable compute engine for image pipelines.
 *
 * One context holds the chosen device (an OpenCL device or the OpenMP CPU
 * backend), its memory budget, the kernel binary cache and the thread count.
 * Every call returns a tsr_status (0 = ok, negative = error); the message of
 * the last error is kept in the context. Separate contexts may be used from
 * separate threads; the only process-wide state is the device registry,
 * probed once on first use.
 *
 * Ownership: whoever creates frees. Functions that return a new object
 * (tsr_image_create, tsr_image_read, tsr_context_create) hand it to the
 * caller, who frees it with the matching *_free / *_destroy.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_VERSION_STRING "0.1.0"

/* ---- status codes ------------------------------------------------------ */
typedef enum {
  TSR_OK = 0,
  TSR_E_INVALID = -1,      /* bad argument or option value */
  TSR_E_NOMEM = -2,        /* host allocation failed */
  TSR_E_IO = -3,           /* file could not be opened, read or written */
  TSR_E_FORMAT = -4,       /* not a supported format, or content/name mismatch */
  TSR_E_CORRUPT = -5,      /* truncated or corrupt data */
  TSR_E_EMPTY = -6,        /* zero-byte file or empty stream */
  TSR_E_TOO_LARGE = -7,    /* dimensions above TSR_MAX_DIM / TSR_MAX_IMAGE_BYTES */
  TSR_E_UNSUPPORTED = -8,  /* valid file, unsupported bit depth/colour type */
  TSR_E_DEVICE = -9,       /* an OpenCL call failed */
  TSR_E_DEVICE_MEMORY = -10, /* the device could not allocate, even at batch 1 */
  TSR_E_BUILD = -11,       /* kernel build failed */
  TSR_E_NO_DEVICE = -12,   /* the requested device does not exist */
  TSR_E_BUDGET = -13,      /* one item needs more memory than the budget */
} tsr_status;

/* A static string describing a status code. */
const char *tsr_strerror(tsr_status status);

/* Image size limits, checked on every read before any pixel memory is
 * allocated. */
#define TSR_MAX_DIM 65535
#define TSR_MAX_IMAGE_BYTES ((uint64_t)1 << 32)

/* ---- devices ------------------------------------------------------------ */
typedef enum { TSR_BACKEND_CPU = 0, TSR_BACKEND_OPENCL = 1 } tsr_backend;

typedef enum {
  TSR_DEVTYPE_CPU_BACKEND = 0, /* tessera's own OpenMP backend */
  TSR_DEVTYPE_GPU_DISCRETE,
  TSR_DEVTYPE_GPU_INTEGRATED,
  TSR_DEVTYPE_ACCELERATOR,
  TSR_DEVTYPE_CL_CPU, /* an OpenCL CPU device, e.g. PoCL */
  TSR_DEVTYPE_OTHER
} tsr_device_type;

typedef struct {
  tsr_backend backend;
  tsr_device_type type;
  char id[32];          /* "cpu" or "cl:P.D" */
  char platform[128];
  char vendor[128];
  char name[256];
  char driver_version[128];
  char opencl_c_version[64]; /* probed OpenCL C version string, "" for cpu */
  int cl_c_major, cl_c_minor;
  unsigned compute_units;    /* cpu backend: threads */
  unsigned clock_mhz;
  uint64_t global_mem;       /* cpu backend: available RAM */
  uint64_t max_alloc;
  uint64_t local_mem;
  uint64_t free_mem;         /* 0 when the driver cannot tell */
  int image_support, fp16, fp64;
  int usable;                /* 0 when the device cannot run tessera kernels */
  char unusable_reason[128];
} tsr_device_info;

/* Lists every device: the OpenCL devices first, then the CPU backend (always
 * present, always last). The array is owned by the library and lives until
 * the process ends. opencl_note, if not NULL, receives NULL when OpenCL was
 * found, else a static sentence saying why it is unavailable. */
tsr_status tsr_devices(const tsr_device_info **list, int *count, const char **opencl_note);

/* ---- memory budget and planning ----------------------------------------- */
#define TSR_BUDGET_FRACTION 0.8
#define TSR_BUDGET_HEADROOM ((uint64_t)512 << 20)

/* Usable bytes on a device: min(global * 0.8, global - 512 MiB), capped by
 * the driver's free-memory figure where it has one. override_bytes > 0
 * replaces the computation. */
uint64_t tsr_device_budget(const tsr_device_info *dev, uint64_t override_bytes);

/* The memory an operation needs, declared once by the operation. Each
 * per-item buffer becomes one device allocation of batch * bytes, so it must
 * also fit under the device's max single allocation. */
#define TSR_PLAN_MAX_BUFFERS 6
typedef struct {
  uint64_t fixed_bytes;                          /* independent of batch */
  uint64_t item_bytes[TSR_PLAN_MAX_BUFFERS];     /* per batch item, per buffer */
  int nbuffers;
} tsr_mem_need;

typedef struct {
  int batch;               /* items per launch */
  uint64_t bytes;          /* device bytes at that batch */
  uint64_t largest_buffer; /* largest single allocation at that batch */
} tsr_plan;

/* Largest batch in [1, max_items] that fits budget and max_alloc. Returns
 * TSR_E_BUDGET when even one item does not fit. */
tsr_status tsr_plan_batch(const tsr_mem_need *need, uint64_t budget, uint64_t max_alloc,
                          int max_items, tsr_plan *plan);

/* Parses "1073741824", "512M", "2G", "1.5GiB" into bytes. */
tsr_status tsr_parse_bytes(const char *text, uint64_t *bytes);

/* ---- context ------------------------------------------------------------ */
typedef struct tsr_context tsr_context;

typedef struct {
  const char *device;      /* auto|cpu|cl|cl:P.D|name substring; NULL: $TESSERA_DEVICE or auto */
  uint64_t mem_budget;     /* bytes; 0: $TESSERA_MEM_BUDGET or the device default */
  int threads;             /* CPU threads; 0: all */
  int quiet;               /* 1: no warning lines on stderr */
} tsr_context_options;

tsr_status tsr_context_create(const tsr_context_options *opts, tsr_context **ctx);
void tsr_context_destroy(tsr_context *ctx);
/* The last error message set by a call on this context ("" if none). Valid
 * until the next call on the context. */
const char *tsr_context_error(const tsr_context *ctx);
const tsr_device_info *tsr_context_device(const tsr_context *ctx);
uint64_t tsr_context_budget(const tsr_context *ctx);
int tsr_context_threads(const tsr_context *ctx);

/* ---- images --------------------------------------------------------------- */
typedef struct {
  int width, height;
  int channels; /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  int depth;    /* bits per sample: 8 or 16 (16-bit samples in host order) */
  size_t stride;  /* bytes per row */
  uint8_t *data;
  /* JPEG APPn segments (EXIF, ICC), each with its marker and length, kept
   * when read with TSR_READ_KEEP_METADATA and written back by the JPEG
   * encoder. */
  uint8_t *meta;
  size_t meta_size;
} tsr_image;

tsr_status tsr_image_create(int width, int height, int channels, int depth, tsr_image **img);
void tsr_image_free(tsr_image *img);
static inline size_t tsr_image_bytes_per_pixel(const tsr_image *img) {
  return (size_t)img->channels * (size_t)(img->depth / 8);
}

typedef enum { TSR_FMT_AUTO = 0, TSR_FMT_JPEG, TSR_FMT_PNG, TSR_FMT_PNM } tsr_format;

#define TSR_READ_KEEP_METADATA 1

typedef struct {
  int quality;     /* JPEG 1..100, 0: 95 */
  int subsampling; /* JPEG chroma: 444, 422 or 420; 0: 420 */
  int keep_metadata; /* write img->meta segments into JPEG output */
} tsr_write_options;

/* Reads a JPEG, PNG or PPM/PGM/PAM file; the format comes from the content,
 * and a name whose extension says another format is an error. */
tsr_status tsr_image_read(tsr_context *ctx, const char *path, int flags, tsr_image **img);
/* Decodes an in-memory file; name is used in messages only. */
tsr_status tsr_image_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                            int flags, tsr_image **img);
/* Writes by extension (.jpg/.jpeg, .png, .ppm/.pgm/.pam/.pnm), to a temporary
 * file in the same folder renamed into place: never a partial file. */
tsr_status tsr_image_write(tsr_context *ctx, const tsr_image *img, const char *path,
                           const tsr_write_options *opts);
tsr_format tsr_format_from_name(const char *path);

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
  int supersample; /* antialiasing: n x n samples averaged per output pixel; 0 or 1: one */
} tsr_warp_view;

typedef struct {
  tsr_backend backend; /* where the work ran (CPU after a fallback) */
  int batch;           /* items on the device at once (split over two buffer sets on OpenCL, so one
                          set's transfers overlap the other's kernel) */
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
tsr_status tsr_warp(tsr_context *ctx, const tsr_image *const *src, int nsrc,
                    const tsr_warp_view *views, int nviews, tsr_interp interp,
                    tsr_border border, tsr_image *const *dst, tsr_warp_stats *stats);

/* Sets *view to an affine map: source (u, v) = A * (x + .5, y + .5, 1)
 * for output pixel (x, y), with A = {a, b, c, d, e, f} row-major 2x3. */
void tsr_view_affine(tsr_warp_view *view, int out_w, int out_h, const double a[6]);

/* Sets *view to a pinhole view of an equirectangular source (use
 * TSR_BORDER_SPHERE). Angles in degrees: yaw turns right (toward +longitude),
 * pitch looks up, roll turns the camera clockwise as seen from behind it;
 * applied yaw, then pitch, then roll. Square pixels, principal point at the
 * centre, focal length from the horizontal field of view. */
void tsr_view_equirect(tsr_warp_view *view, int out_w, int out_h, double yaw, double pitch, double roll,
                       double hfov);
/* The camera-to-world rotation (row-major 3x3) of those angles, in the
 * frame of tsr_view_equirect: x right, y up, z forward. */
void tsr_rotation_ypr(double yaw, double pitch, double roll, double r[9]);

/* How sparsely a view samples its source: the largest distance, in source
 * pixels, between the source positions of neighbouring output pixels (for
 * equirectangular sources, measured on the sphere: a column step counts
 * cos(latitude) of a pixel). Above 1 the view minifies. */
double tsr_view_density(const tsr_warp_view *view, int src_w, int src_h);
/* Sets view->supersample from the density: 1 up to 1.5 source pixels per
 * output pixel, else ceil(density), at most 8. Returns the value set. */
int tsr_view_antialias(tsr_warp_view *view, int src_w, int src_h);

/* Memory one warp batch item (one source image and all its views) needs. */
tsr_mem_need tsr_warp_mem_need(int src_w, int src_h, int channels, int depth,
                               const tsr_warp_view *views, int nviews);

/* ---- rigs: sets of views of a 360° frame --------------------------------- */
typedef struct {
  char name[64]; /* output folder name: letters, digits, '-', '_', '.', '+' */
  double yaw, pitch, roll, hfov; /* degrees, conventions of tsr_view_equirect */
  int width, height;
} tsr_rig_view;

typedef struct {
  char name[64];
  int nviews;
  tsr_rig_view *views;
} tsr_rig;

/* Names of the built-in rigs (ring8, ring12, cube, dome16, colmap12). */
const char *const *tsr_rig_builtin_names(int *count);
/* A built-in rig by name, or a JSON rig file when `name_or_path` is not a
 * built-in name: {"views": [{"name", "yaw", "pitch", "roll", "hfov",
 * "width", "height" | "vfov"}, ...]}. Unknown keys and bad values are errors
 * naming the key. The caller frees the rig with tsr_rig_free. */
tsr_status tsr_rig_get(tsr_context *ctx, const char *name_or_path, tsr_rig **rig);
/* Parses rig JSON text; `origin` names it in messages. */
tsr_status tsr_rig_parse(tsr_context *ctx, const char *json, const char *origin, tsr_rig **rig);
void tsr_rig_free(tsr_rig *rig);
/* The panorama (8-bit gray or RGB), dimmed, with each view's footprint
 * outlined in its own colour and numbered at its centre (1 = first view).
 * The caller frees *out (8-bit RGB, the panorama's size). */
tsr_status tsr_rig_coverage(tsr_context *ctx, const tsr_rig *rig, const tsr_image *pano, tsr_image **out);


/* ---- split: 360° frames to perspective views -------------------------- */
typedef struct {
  const char *outdir;  /* required: OUTDIR/<view>/<frame stem>.<ext>, manifest.jsonl, rig_config.json, cameras.txt */
  const char *rig;     /* built-in name or JSON rig file; NULL: ring8 */
  int width, height;   /* override every view's size (0: the rig's) */
  double hfov;         /* override every view's horizontal field of view (0: the rig's) */
  tsr_interp interp;   /* default (0 after memset): nearest; the CLI defaults to bilinear */
  int no_antialias;    /* 1: never supersample, never decode at a DCT scale */
  const char *format;  /* "jpg" or "png"; NULL: jpg for 8-bit gray/RGB sources, png otherwise */
  int quality;         /* JPEG quality 1..100 (0: 95) */
  double mask_nadir;   /* > 0: write masks hiding everything within this many degrees of the nadir */
  int encoders;        /* encoder threads (0: the context's thread count) */
  int batch;           /* frames per device launch (0: planned from the budget) */
  int progress;        /* 1: a progress line on stderr */
  int copy_only;       /* benchmark: copy an equally sized region instead of warping (the codec floor) */
  int full_decode;     /* 1: decode whole frames (no row band, no DCT scale) */
  const char *stats_path; /* write per-stage statistics as JSON here */
} tsr_split_options;

typedef struct {
  int frames_total;   /* inputs seen (-1 while a stream is open) */
  int frames_done, frames_skipped, frames_failed;
  long views_written;
  double wall_s, plan_s, read_s, decode_s, warp_s, encode_s, write_s; /* stage times summed over threads */
  double upload_s, kernel_s, download_s; /* OpenCL device times within warp_s (profiling events) */
  int pinned;                            /* OpenCL transfers went through pinned staging buffers */
  uint64_t peak_rss;     /* bytes */
  uint64_t device_bytes; /* device memory of one launch (0 on the CPU backend) */
  int batch, retries, fell_back;
  int src_width, src_height;     /* the sequence's frame size */
  int dct_denom, band_row0, band_rows; /* decode plan: scale 1/denom, rows [row0, row0 + rows) of the scaled frame */
  char device[320];
} tsr_split_stats;

/* Splits every input (files; "-" reads a stream of concatenated PPM/PAM
 * frames from stdin, named frame_000001, ...) into the rig's views. Frames
 * whose outputs all exist are skipped (resume). A frame that cannot be read
 * or differs in size from the first is reported and skipped; the others
 * complete and the call returns TSR_E_CORRUPT (or the first error's status)
 * with a summary in the context's message. */
tsr_status tsr_split(tsr_context *ctx, const tsr_split_options *opts, const char *const *inputs, int ninputs,
                     tsr_split_stats *stats);

/* The reverse of the split: the rig's views (views[i] is rig->views[i]'s
 * image, all with the same channels and depth) blended back into a
 * width x height equirectangular panorama with feathered weights. The
 * result carries an alpha channel: zero where no view sees the direction
 * (views that have alpha keep it, scaled by coverage). Runs on the
 * context's device; the CPU backend finishes if the device fails. The
 * caller frees *pano. */
tsr_status tsr_merge(tsr_context *ctx, const tsr_rig *rig, const tsr_image *const *views, int width, int height,
                     tsr_image **pano);

/* The geometry the split writes, for one view of a rig: focal lengths and
 * principal point in pixels (pixel centres at i + 0.5), and the rotation
 * from the rig frame (the first view's camera) to this view's camera as a
 * quaternion w, x, y, z, both camera frames COLMAP's (x right, y down, z
 * forward). */
void tsr_rig_view_intrinsics(const tsr_rig_view *v, double *fx, double *fy, double *cx, double *cy);
void tsr_rig_cam_from_rig(const tsr_rig *rig, int view, double q[4]);

#ifdef __cplusplus
}
#endif
#endif
