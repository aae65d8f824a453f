/* Opening an OpenCL device: its cl_context and queues, once per process
 * and device, whichever thread or context asks first. Contexts on the same
 * device share it (and so its registry and its ledger: a job planning on
 * one context sees the memory another holds); the last one to go closes
 * it, releasing everything the registry holds. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cl.h"

/* A registry device id ("cl:P.D") to its cl_platform_id/cl_device_id. */
static tsr_status lookup(tsr_context *ctx, const tsr_device_info *info, cl_platform_id *platform,
                         cl_device_id *device) {
  const char *why;
  const tsr__cl_api *cl = tsr__cl_load(&why);
  int pi, di;
  if (!cl) return tsr__fail(ctx, TSR_E_NO_DEVICE, "OpenCL unavailable: %s", why);
  if (sscanf(info->id, "cl:%d.%d", &pi, &di) != 2 || pi < 0 || di < 0)
    return tsr__fail(ctx, TSR_E_INVALID, "not an OpenCL device");
  cl_uint np = 0, nd = 0;
  cl_int err = cl->clGetPlatformIDs(0, NULL, &np);
  if (err || pi >= (int)np) return tsr__cl_fail(ctx, "clGetPlatformIDs", err ? err : CL_INVALID_PLATFORM);
  cl_platform_id *plats = calloc(np, sizeof *plats);
  if (!plats) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  err = cl->clGetPlatformIDs(np, plats, NULL);
  cl_platform_id plat = plats[pi];
  free(plats);
  if (err) return tsr__cl_fail(ctx, "clGetPlatformIDs", err);
  err = cl->clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
  if (err || di >= (int)nd) return tsr__cl_fail(ctx, "clGetDeviceIDs", err ? err : CL_DEVICE_NOT_FOUND);
  cl_device_id *devs = calloc(nd, sizeof *devs);
  if (!devs) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  err = cl->clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, nd, devs, NULL);
  *platform = plat;
  *device = devs[di];
  free(devs);
  return err ? tsr__cl_fail(ctx, "clGetDeviceIDs", err) : TSR_OK;
}

void tsr__cl_close(tsr__cl_device *d) {
  if (!d) return;
  const tsr__cl_api *cl = d->api;
  tsr__cl_registry_release(d);
  if (d->queue[1] && d->queue[1] != d->queue[0]) cl->clReleaseCommandQueue(d->queue[1]);
  if (d->queue[0]) cl->clReleaseCommandQueue(d->queue[0]);
  if (d->context) cl->clReleaseContext(d->context);
  pthread_mutex_destroy(&d->lock);
  free(d);
}

static tsr_status open_device(tsr_context *ctx, tsr__cl_device **out) {
  tsr__cl_device *d = calloc(1, sizeof *d);
  if (!d) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  pthread_mutex_init(&d->lock, NULL);
  const char *env = getenv("TESSERA_FAULT_LAUNCH_AFTER");
  d->fault_launch_after = env && *env ? atol(env) : -1;
  d->api = tsr__cl_load(NULL);
  tsr_status st = lookup(ctx, ctx->dev, &d->platform, &d->device);
  if (st) goto fail;
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
  d->context = d->api->clCreateContext(props, 1, &d->device, NULL, NULL, &err);
  if (!d->context) {
    st = tsr__cl_fail(ctx, "clCreateContext", err);
    goto fail;
  }
  for (int q = 0; q < TSR_CL_QUEUES; q++) {
    d->queue[q] = d->api->clCreateCommandQueue(d->context, d->device, CL_QUEUE_PROFILING_ENABLE, &err);
    if (!d->queue[q] && q == 0) {
      st = tsr__cl_fail(ctx, "clCreateCommandQueue", err);
      goto fail;
    }
    if (!d->queue[q]) d->queue[q] = d->queue[0]; /* one queue serves all */
  }
  *out = d;
  return TSR_OK;
fail:
  tsr__cl_close(d);
  return st;
}

#define TSR_MAX_OPEN 64

static struct {
  const tsr_device_info *dev;
  tsr__cl_device *d;
  int refs;
} g_open[TSR_MAX_OPEN];
static pthread_mutex_t g_open_lock = PTHREAD_MUTEX_INITIALIZER;

tsr_status tsr__cl_open(tsr_context *ctx) {
  if (__atomic_load_n(&ctx->cl, __ATOMIC_ACQUIRE)) return TSR_OK;
  pthread_mutex_lock(&ctx->open_lock);
  tsr_status st = TSR_OK;
  if (!ctx->cl) {
    pthread_mutex_lock(&g_open_lock);
    tsr__cl_device *d = NULL;
    int slot = -1;
    for (int i = 0; i < TSR_MAX_OPEN && !d; i++) {
      if (g_open[i].d && !strcmp(g_open[i].dev->id, ctx->dev->id)) {
        d = g_open[i].d;
        g_open[i].refs++;
      } else if (!g_open[i].d && slot < 0) {
        slot = i;
      }
    }
    if (!d && slot < 0) st = tsr__fail(ctx, TSR_E_DEVICE, "too many open OpenCL devices");
    if (!d && !st && !(st = open_device(ctx, &d))) {
      g_open[slot].dev = ctx->dev;
      g_open[slot].d = d;
      g_open[slot].refs = 1;
    }
    pthread_mutex_unlock(&g_open_lock);
    if (!st) __atomic_store_n(&ctx->cl, d, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&ctx->open_lock);
  return st;
}

void tsr__cl_release(tsr_context *ctx) {
  tsr__cl_device *d = ctx->cl;
  if (!d) return;
  ctx->cl = NULL;
  pthread_mutex_lock(&g_open_lock);
  for (int i = 0; i < TSR_MAX_OPEN; i++)
    if (g_open[i].d == d && --g_open[i].refs == 0) {
      g_open[i].d = NULL;
      tsr__cl_close(d);
    }
  pthread_mutex_unlock(&g_open_lock);
}
