/* The core layer's private declarations: the context, error messages,
 * the device registry and file helpers every layer above uses. Everything
 * here is tsr__-prefixed and not installed. */
#ifndef TSR_INTERNAL_H
#define TSR_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "tessera/tessera.h"

#define TSR_ERRMSG_MAX 8192 /* long output paths must not cut the reason off */

/* The runtime's open device (src/runtime/), opaque to this layer. */
typedef struct tsr__cl_device tsr__cl_device;

/* A context may be shared by threads: `lock` guards the error message,
 * `open_lock` the one-time opening of the device (by the runtime, which
 * also owns `cl` and locks the device itself where OpenCL needs it), and
 * the counters are atomic. */
struct tsr_context {
  const tsr_device_info *dev;
  tsr__cl_device *cl; /* NULL on the CPU backend or before first use */
  uint64_t budget;
  int threads;
  int quiet;
  pthread_mutex_t lock;
  pthread_mutex_t open_lock;
  char err[TSR_ERRMSG_MAX];
  /* Test hook (TESSERA_FAULT_ALLOC_ABOVE): device allocations larger than
   * this fail as if the device were out of memory. 0 = off. */
  uint64_t fault_alloc_above;
  int device_failures; /* jobs the device failed (atomic); at 3 it is no longer tried */
  void (*log)(void *user, tsr_log_level level, const char *line);
  void *log_user;
  tsr_log_level log_level;
  int cancelled;       /* atomic; set by tsr_context_cancel, read by long jobs */
  /* One op's scratch kept between its calls on this context (its large
   * buffers are faulted in once, not per call), with the function that
   * frees it, which also says whose it is. Guarded by `lock`. */
  void *scratch;
  void (*scratch_free)(void *);
};

/* Sets up a context's fields and locks for a device (no OpenCL is
 * touched: the runtime opens the device on first use). */
void tsr__context_init(tsr_context *ctx, const tsr_device_info *dev, int threads, int quiet);
/* A worker thread's context: the parent's device choice aside (CPU), its
 * own error message, the parent's logging. */
void tsr__context_child(tsr_context *child, const tsr_context *parent);
/* Releases what tsr__context_init made (not ctx itself, not the device). */
void tsr__context_fini(tsr_context *ctx);

/* Whether jobs should try the context's OpenCL device: it is one, and it
 * has failed fewer than 3 jobs (after that it is no longer tried). */
int tsr__use_device(const tsr_context *ctx);
/* Counts one job the device failed. */
void tsr__device_failed(tsr_context *ctx);
/* The scratch kept on ctx if free_fn's owner kept it (the slot is then
 * empty: the caller holds it), else NULL. */
void *tsr__scratch_take(tsr_context *ctx, void (*free_fn)(void *));
/* Keeps p (freed by free_fn) for the next call; whatever the slot held
 * is freed. */
void tsr__scratch_keep(tsr_context *ctx, void *p, void (*free_fn)(void *));
/* Whether tsr_context_cancel was called on ctx. */
int tsr__cancelled(const tsr_context *ctx);

/* Monotonic clock, seconds. */
double tsr__now(void);

/* Sets the context's error message (printf-style) and returns status. */
tsr_status tsr__fail(tsr_context *ctx, tsr_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One message line: to the context's log callback, else to stderr
 * ("tessera: warning: ..." / "tessera: ...") unless the context is quiet. */
void tsr__log(tsr_context *ctx, tsr_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define tsr__warn(ctx, ...) tsr__log((ctx), TSR_LOG_WARN, __VA_ARGS__)

/* The device registry (src/core/device.c): the OpenCL devices the runtime
 * probed (published once, before any lookup) and the CPU backend, always
 * last, and the rules that pick one. */
void tsr__registry_publish(const tsr_device_info *cl_devs, int n, const char *opencl_note);
void tsr__registry_get(const tsr_device_info **list, int *count, const char **opencl_note);
const tsr_device_info *tsr__device_find(const char *spec, tsr_status *status, char *why, size_t whylen);
const tsr_device_info *tsr__cpu_device(void);
/* "gpu-discrete", "opencl-cpu", "cpu-backend", ... */
const char *tsr__device_type_name(tsr_device_type t);
/* Adds a device's identity to a JSON object: id, backend, type, platform,
 * vendor, name, driver_version, opencl_c_version, compute_units,
 * clock_mhz, global_mem_bytes, max_alloc_bytes (tessera devices --json and
 * the bench files share these keys). */
struct cJSON;
void tsr__device_identity_json(const tsr_device_info *d, struct cJSON *j);

/* Reads a whole file; *buf is malloc'ed. */
tsr_status tsr__read_file(tsr_context *ctx, const char *path, uint8_t **buf, size_t *size);

/* Atomic output (src/core/files.c): a temporary file in the target's
 * folder, renamed into place by commit, removed by abort. */
typedef struct {
  FILE *fp;
  char *tmp_path;
  char *path;
} tsr__atomic_file;
tsr_status tsr__atomic_open(tsr_context *ctx, const char *path, tsr__atomic_file *af);
tsr_status tsr__atomic_commit(tsr_context *ctx, tsr__atomic_file *af);
void tsr__atomic_abort(tsr__atomic_file *af);
/* A whole buffer written atomically. */
tsr_status tsr__write_atomic(tsr_context *ctx, const char *path, const void *data, size_t n);
/* A cJSON document, indented, with a final newline, written atomically. */
struct cJSON;
tsr_status tsr__write_json(tsr_context *ctx, const char *path, const struct cJSON *json);
/* mkdir -p; 0 or -1 with errno set. */
int tsr__mkdirs(const char *path);
/* mkdir -p of outdir/sub (sub: a relative folder path), refusing every
 * folder below outdir that is a symbolic link, before anything is created
 * inside it: tessera writes only inside its output folder. */
tsr_status tsr__mkdirs_inside(tsr_context *ctx, const char *outdir, const char *sub);

#endif
