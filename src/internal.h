/* Library-private declarations shared between src/ and cpu/ files.
 * Everything here is tsr__-prefixed and not installed. */
#ifndef TSR_INTERNAL_H
#define TSR_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "tessera/tessera.h"

#define TSR_ERRMSG_MAX 1024

typedef struct tsr__cl_device tsr__cl_device;

struct tsr_context {
  const tsr_device_info *dev;
  tsr__cl_device *cl; /* NULL on the CPU backend or before first use */
  uint64_t budget;
  int threads;
  int quiet;
  pthread_mutex_t lock;
  char err[TSR_ERRMSG_MAX];
  /* Test hook (TESSERA_FAULT_ALLOC_ABOVE): device allocations larger than
   * this fail as if the device were out of memory. 0 = off. */
  uint64_t fault_alloc_above;
  int device_failures; /* jobs the device failed; at 3 it is no longer tried */
};

/* Whether jobs should try the context's OpenCL device: it is one, and it
 * has failed fewer than 3 jobs (after that it is no longer tried). */
int tsr__use_device(const tsr_context *ctx);

/* Monotonic clock, seconds. */
double tsr__now(void);

/* Sets the context's error message (printf-style) and returns status. */
tsr_status tsr__fail(tsr_context *ctx, tsr_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One warning line on stderr unless the context is quiet. */
void tsr__warn(tsr_context *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Device registry (src/device.c). */
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

/* Atomic output (src/atomic_file.c): a temporary file in the target's
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
/* Pinhole focal length in pixels of a view `width` wide with horizontal
 * field of view hfov degrees. */
double tsr__focal(int width, double hfov);

/* Codecs (src/io_*.c). Decoders check dimensions before allocating. */
tsr_status tsr__jpeg_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                            int flags, tsr_image **img);
/* Size and channels (1 or 3) from the header alone. */
tsr_status tsr__jpeg_info(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int *w, int *h,
                          int *channels);
/* Rows [row0, row0 + rows) of the image decoded at scale 1/denom (1, 2, 4
 * or 8; the scaled image is ceil(w / denom) x ceil(h / denom)). On entry
 * *img is NULL or an image to reuse: taken when its shape matches (it is
 * then the result, or freed on failure), left alone otherwise. */
tsr_status tsr__jpeg_decode_band(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int denom,
                                 int row0, int rows, tsr_image **img);
tsr_status tsr__jpeg_encode(tsr_context *ctx, const tsr_image *img, const char *name,
                            const tsr_write_options *opts, FILE *fp);
tsr_status tsr__png_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                           tsr_image **img);
tsr_status tsr__png_encode(tsr_context *ctx, const tsr_image *img, const char *name, FILE *fp);
tsr_status tsr__pnm_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                           tsr_image **img, size_t *consumed);
tsr_status tsr__pnm_encode(tsr_context *ctx, const tsr_image *img, const char *name, FILE *fp);
/* Checks width/height/bytes against the limits; names the file on failure. */
tsr_status tsr__check_dims(tsr_context *ctx, const char *name, uint64_t w, uint64_t h, int channels,
                           int depth);

#endif
