/* Contexts: the chosen device, its budget, the thread count, the last
 * error message and the cancellation flag. Creating a context binds a
 * device, which needs the prober, so tsr_context_create lives in the
 * runtime (src/runtime/context.c); this file holds what every layer uses. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"

tsr_status tsr__fail(tsr_context *ctx, tsr_status status, const char *fmt, ...) {
  if (!ctx) return status;
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&ctx->lock);
  vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
  pthread_mutex_unlock(&ctx->lock);
  va_end(ap);
  return status;
}

void tsr__log(tsr_context *ctx, tsr_log_level level, const char *fmt, ...) {
  if (!ctx) return;
  tsr_log_level most = ctx->log_level ? ctx->log_level : TSR_LOG_WARN;
  if (level > most || (!ctx->log && ctx->quiet)) return;
  va_list ap;
  va_start(ap, fmt);
  char line[TSR_ERRMSG_MAX];
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (ctx->log) ctx->log(ctx->log_user, level, line);
  else fprintf(stderr, "tessera: %s%s\n", level == TSR_LOG_WARN ? "warning: " : "", line);
}

void tsr__context_child(tsr_context *child, const tsr_context *parent) {
  tsr__context_init(child, tsr__cpu_device(), 1, parent->quiet);
  child->log = parent->log;
  child->log_user = parent->log_user;
  child->log_level = parent->log_level;
}

void tsr__context_init(tsr_context *ctx, const tsr_device_info *dev, int threads, int quiet) {
  memset(ctx, 0, sizeof *ctx);
  pthread_mutex_init(&ctx->lock, NULL);
  pthread_mutex_init(&ctx->open_lock, NULL);
  ctx->dev = dev;
  ctx->threads = threads > 0 ? threads : omp_get_num_procs();
  ctx->quiet = quiet;
}

void tsr__context_fini(tsr_context *ctx) {
  if (ctx->scratch && ctx->scratch_free) ctx->scratch_free(ctx->scratch);
  ctx->scratch = NULL;
  pthread_mutex_destroy(&ctx->lock);
  pthread_mutex_destroy(&ctx->open_lock);
}

void *tsr__scratch_take(tsr_context *ctx, void (*free_fn)(void *)) {
  pthread_mutex_lock(&ctx->lock);
  void *p = NULL;
  if (ctx->scratch && ctx->scratch_free == free_fn) {
    p = ctx->scratch;
    ctx->scratch = NULL;
    ctx->scratch_free = NULL;
  }
  pthread_mutex_unlock(&ctx->lock);
  return p;
}

void tsr__scratch_keep(tsr_context *ctx, void *p, void (*free_fn)(void *)) {
  pthread_mutex_lock(&ctx->lock);
  void *old = ctx->scratch;
  void (*old_free)(void *) = ctx->scratch_free;
  ctx->scratch = p;
  ctx->scratch_free = free_fn;
  pthread_mutex_unlock(&ctx->lock);
  if (old && old_free) old_free(old);
}

void tsr_context_options_init(tsr_context_options *opts) {
  if (!opts) return;
  memset(opts, 0, sizeof *opts);
  opts->struct_size = sizeof *opts;
}

const char *tsr_context_error(const tsr_context *ctx) { return ctx ? ctx->err : ""; }
const tsr_device_info *tsr_context_device(const tsr_context *ctx) { return ctx->dev; }
uint64_t tsr_context_budget(const tsr_context *ctx) { return ctx->budget; }
int tsr_context_threads(const tsr_context *ctx) { return ctx->threads; }

void tsr_context_cancel(tsr_context *ctx) {
  if (ctx) __atomic_store_n(&ctx->cancelled, 1, __ATOMIC_RELAXED);
}

int tsr__cancelled(const tsr_context *ctx) { return __atomic_load_n(&ctx->cancelled, __ATOMIC_RELAXED); }

double tsr__now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int tsr__use_device(const tsr_context *ctx) {
  return ctx->dev->backend == TSR_BACKEND_OPENCL && __atomic_load_n(&ctx->device_failures, __ATOMIC_RELAXED) < 3;
}

void tsr__device_failed(tsr_context *ctx) { __atomic_add_fetch(&ctx->device_failures, 1, __ATOMIC_RELAXED); }
