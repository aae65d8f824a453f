/* tessera: a portable compute engine for image pipelines.
 *
 * One context holds the chosen device (an OpenCL device or the OpenMP CPU
 * backend), its memory budget, the kernel binary cache and the thread count.
 * Every call returns a tsr_status (0 = ok, negative = error); the message of
 * the last error is kept in the context. A context may be shared by threads
 * (the device is locked where OpenCL needs it; the error message is the
 * last one any of them set), or each thread may have its own; the only
 * process-wide state is the device registry, probed once on first use.
 *
 * Ownership: whoever creates frees. Functions that return a new object
 * (tsr_image_create, tsr_image_read, tsr_context_create) hand it to the
 * caller, who frees it with the matching *_free / *_destroy. */
#ifndef TESSERA_CORE_H
#define TESSERA_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Public functions are exported from the shared library; everything else
 * is hidden (built with -fvisibility=hidden). */
#if defined(TSR_BUILDING_LIBRARY) && defined(__GNUC__)
#define TSR_API __attribute__((visibility("default")))
#else
#define TSR_API
#endif

#define TSR_VERSION_STRING "0.2.0"

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
  TSR_E_CANCELLED = -14,   /* tsr_context_cancel was called (e.g. on SIGINT) */
  TSR_E_MISMATCH = -15,    /* an output folder holds a run made with other options */
  TSR_E_BUSY = -16,        /* another run is writing the same output folder */
} tsr_status;

/* A static string describing a status code. */
TSR_API const char *tsr_strerror(tsr_status status);

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
TSR_API tsr_status tsr_devices(const tsr_device_info **list, int *count, const char **opencl_note);

/* ---- memory budget and planning ----------------------------------------- */
#define TSR_BUDGET_FRACTION 0.8
#define TSR_BUDGET_HEADROOM ((uint64_t)512 << 20)

/* Usable bytes on a device: min(global * 0.8, global - 512 MiB), capped by
 * the driver's free-memory figure where it has one. override_bytes > 0
 * replaces the computation. */
TSR_API uint64_t tsr_device_budget(const tsr_device_info *dev, uint64_t override_bytes);

/* The memory an operation needs, declared once by the operation. Each
 * per-item buffer becomes one device allocation of batch * bytes, so it must
 * also fit under the device's max single allocation. */
#define TSR_PLAN_MAX_BUFFERS 8
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
TSR_API tsr_status tsr_plan_batch(const tsr_mem_need *need, uint64_t budget, uint64_t max_alloc,
                          int max_items, tsr_plan *plan);

/* Tiling: an operation too large for the budget in one piece declares its
 * memory per pixel, row and column of a tile's region (the tile's core
 * plus a margin on every side, clipped at the image) and the margin; the
 * planner picks the grid. The grid depends only on the image size, the
 * need and the budget (never on threads or order), so runs repeat. */
typedef struct {
  uint64_t fixed_bytes;
  uint64_t pixel_bytes;         /* per pixel of a region */
  uint64_t row_bytes;           /* per row of a region */
  uint64_t column_bytes;        /* per column of a region */
  uint64_t largest_pixel_bytes; /* per pixel, of the largest single buffer (checked against max_alloc) */
  int margin;                   /* pixels a region extends past its core on every side */
  int min_core;                 /* smallest core side worth a tile (0: 16) */
} tsr_tile_need;
typedef struct {
  int nx, ny;             /* tiles across and down */
  int core_w, core_h;     /* every tile's core but the last of a row or column, which may be smaller */
  int region_w, region_h; /* the largest region */
  uint64_t bytes;         /* the need of the largest region */
} tsr_tile_plan;
/* The grid of fewest computed pixels (regions summed; ties: fewer tiles)
 * whose largest region fits budget and max_alloc (0: no limit). With
 * core_w/core_h > 0 the cores are that size instead (e.g. --tile), and
 * only the fit is checked. TSR_E_BUDGET when no grid fits. */
TSR_API tsr_status tsr_plan_tiles(const tsr_tile_need *need, int width, int height, uint64_t budget, uint64_t max_alloc,
                                  int core_w, int core_h, tsr_tile_plan *plan);
/* Parses "1073741824", "512M", "2G", "1.5GiB" into bytes. */
TSR_API tsr_status tsr_parse_bytes(const char *text, uint64_t *bytes);

/* ---- context ------------------------------------------------------------ */
typedef struct tsr_context tsr_context;

typedef enum { TSR_LOG_ERROR = 1, TSR_LOG_WARN = 2, TSR_LOG_INFO = 3 } tsr_log_level;

/* Option structs start with their own size, so a library built with more
 * fields can tell an older caller's struct; set it with the *_init call or
 * the *_INIT macro. A struct_size of 0 is refused. */
typedef struct {
  size_t struct_size;      /* sizeof(tsr_context_options) */
  const char *device;      /* auto|cpu|cl|cl:P.D|name substring; NULL: $TESSERA_DEVICE or auto */
  uint64_t mem_budget;     /* bytes; 0: $TESSERA_MEM_BUDGET or the device default */
  int threads;             /* CPU threads; 0: all */
  int quiet;               /* 1: no warning lines on stderr (when log is NULL) */
  /* Where the library's messages go: warnings (a device that failed and
   * the CPU finishing) and per-item errors (a frame skipped, and why). NULL:
   * one line each on stderr unless quiet. Called from any thread. */
  void (*log)(void *user, tsr_log_level level, const char *line);
  void *log_user;
  tsr_log_level log_level; /* the least severe level passed on (0: TSR_LOG_WARN) */
} tsr_context_options;
#define TSR_CONTEXT_OPTIONS_INIT {.struct_size = sizeof(tsr_context_options)}
TSR_API void tsr_context_options_init(tsr_context_options *opts);

TSR_API tsr_status tsr_context_create(const tsr_context_options *opts, tsr_context **ctx);
TSR_API void tsr_context_destroy(tsr_context *ctx);
/* The last error message set by a call on this context ("" if none). Valid
 * until the next call on the context. */
TSR_API const char *tsr_context_error(const tsr_context *ctx);
TSR_API const tsr_device_info *tsr_context_device(const tsr_context *ctx);
TSR_API uint64_t tsr_context_budget(const tsr_context *ctx);
TSR_API int tsr_context_threads(const tsr_context *ctx);
/* Asks the jobs running on ctx to stop: they finish the items in flight,
 * write their manifests and return TSR_E_CANCELLED. Async-signal-safe: a
 * SIGINT handler may call it. */
TSR_API void tsr_context_cancel(tsr_context *ctx);

#ifdef __cplusplus
}
#endif
#endif
