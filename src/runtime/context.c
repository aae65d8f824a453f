/* Creating a context: probe the devices (once per process), pick one, and
 * size its budget; the OpenCL device itself opens on first use
 * (tsr__cl_open). Destroying one closes its device. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cl.h"

tsr_status tsr_context_create(const tsr_context_options *opts, tsr_context **out) {
  if (!out) return TSR_E_INVALID;
  *out = NULL;
  tsr_context_options o;
  tsr_context_options_init(&o);
  int bad_size = opts && opts->struct_size == 0;
  if (opts && !bad_size) memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
  tsr_context *ctx = malloc(sizeof *ctx);
  if (!ctx) return TSR_E_NOMEM;
  tsr__context_init(ctx, tsr__cpu_device(), o.threads, o.quiet);
  ctx->log = o.log;
  ctx->log_user = o.log_user;
  ctx->log_level = o.log_level;
  *out = ctx; /* so the caller can read the error message on failure */
  if (bad_size)
    return tsr__fail(ctx, TSR_E_INVALID, "tsr_context_options.struct_size is 0 (use tsr_context_options_init)");

  const char *spec = o.device ? o.device : getenv("TESSERA_DEVICE");
  tsr_status st;
  char why[512] = "";
  /* The CPU backend never loads OpenCL. */
  if (!spec || strcmp(spec, "cpu")) tsr__probe();
  ctx->dev = tsr__device_find(spec, &st, why, sizeof why);
  if (!ctx->dev) {
    ctx->dev = tsr__cpu_device();
    return tsr__fail(ctx, st, "%s", why);
  }

  uint64_t override = o.mem_budget;
  const char *env = getenv("TESSERA_MEM_BUDGET");
  if (!override && env && *env && tsr_parse_bytes(env, &override) != TSR_OK)
    return tsr__fail(ctx, TSR_E_INVALID, "TESSERA_MEM_BUDGET='%s' is not a size (e.g. 2G, 512M)", env);
  ctx->budget = tsr_device_budget(ctx->dev, override);
  env = getenv("TESSERA_FAULT_ALLOC_ABOVE");
  if (env && *env && tsr_parse_bytes(env, &ctx->fault_alloc_above) != TSR_OK)
    return tsr__fail(ctx, TSR_E_INVALID, "TESSERA_FAULT_ALLOC_ABOVE='%s' is not a size", env);
  return TSR_OK;
}

void tsr_context_destroy(tsr_context *ctx) {
  if (!ctx) return;
  tsr__cl_release(ctx);
  tsr__context_fini(ctx);
  free(ctx);
}
