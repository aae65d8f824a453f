/* Contexts: the chosen device, its budget, the thread count and the last
 * error message. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl.h"

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

void tsr__warn(tsr_context *ctx, const char *fmt, ...) {
  if (ctx && ctx->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  char line[TSR_ERRMSG_MAX];
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "tessera: warning: %s\n", line);
}

tsr_status tsr_context_create(const tsr_context_options *opts, tsr_context **out) {
  if (!out) return TSR_E_INVALID;
  *out = NULL;
  tsr_context_options o = {0};
  if (opts) o = *opts;
  tsr_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return TSR_E_NOMEM;
  pthread_mutex_init(&ctx->lock, NULL);
  ctx->quiet = o.quiet;
  *out = ctx; /* so the caller can read the error message on failure */

  const char *spec = o.device ? o.device : getenv("TESSERA_DEVICE");
  tsr_status st;
  char why[512] = "";
  ctx->dev = tsr__device_find(spec, &st, why, sizeof why);
  if (!ctx->dev) return tsr__fail(ctx, st, "%s", why);

  uint64_t override = o.mem_budget;
  const char *env = getenv("TESSERA_MEM_BUDGET");
  if (!override && env && *env && tsr_parse_bytes(env, &override) != TSR_OK)
    return tsr__fail(ctx, TSR_E_INVALID, "TESSERA_MEM_BUDGET='%s' is not a size (e.g. 2G, 512M)", env);
  ctx->budget = tsr_device_budget(ctx->dev, override);
  ctx->threads = o.threads > 0 ? o.threads : omp_get_num_procs();
  env = getenv("TESSERA_FAULT_ALLOC_ABOVE");
  if (env && *env && tsr_parse_bytes(env, &ctx->fault_alloc_above) != TSR_OK)
    return tsr__fail(ctx, TSR_E_INVALID, "TESSERA_FAULT_ALLOC_ABOVE='%s' is not a size", env);
  return TSR_OK;
}

void tsr_context_destroy(tsr_context *ctx) {
  if (!ctx) return;
  if (ctx->cl) tsr__cl_close(ctx->cl);
  pthread_mutex_destroy(&ctx->lock);
  free(ctx);
}

const char *tsr_context_error(const tsr_context *ctx) { return ctx ? ctx->err : ""; }
const tsr_device_info *tsr_context_device(const tsr_context *ctx) { return ctx->dev; }
uint64_t tsr_context_budget(const tsr_context *ctx) { return ctx->budget; }
int tsr_context_threads(const tsr_context *ctx) { return ctx->threads; }

double tsr__now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int tsr__use_device(const tsr_context *ctx) {
  return ctx->dev->backend == TSR_BACKEND_OPENCL && ctx->device_failures < 3;
}
