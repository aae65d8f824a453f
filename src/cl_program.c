/* Opening an OpenCL device and building its programs, through the binary
 * cache. */
#include <stdlib.h>
#include <string.h>

#include "cl.h"
#include "embedded.h"

/* ---- kernel sources ------------------------------------------------------ */
typedef struct {
  char *p;
  size_t len, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
  return 1;
}

static tsr_status load_one(tsr_context *ctx, const char *file, char **text) {
  const char *dir = getenv("TESSERA_KERNEL_DIR");
  if (dir && *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    uint8_t *buf;
    size_t size;
    tsr_status st = tsr__read_file(ctx, path, &buf, &size);
    if (st) return st;
    char *t = realloc(buf, size + 1);
    if (!t) {
      free(buf);
      return TSR_E_NOMEM;
    }
    t[size] = 0;
    *text = t;
    return TSR_OK;
  }
  for (const tsr__embedded_source *e = tsr__embedded_sources; e->name; e++)
    if (!strcmp(e->name, file)) {
      *text = strdup(e->text);
      return *text ? TSR_OK : TSR_E_NOMEM;
    }
  return tsr__fail(ctx, TSR_E_BUILD, "kernel file '%s' is not embedded in this build", file);
}

#define TSR_MAX_INCLUDES 32
static tsr_status resolve(tsr_context *ctx, const char *file, strbuf *out, char seen[][64], int *nseen,
                          int depth) {
  for (int i = 0; i < *nseen; i++)
    if (!strcmp(seen[i], file)) return TSR_OK;
  if (*nseen >= TSR_MAX_INCLUDES || depth > 8)
    return tsr__fail(ctx, TSR_E_BUILD, "kernel includes nest too deeply at '%s'", file);
  snprintf(seen[(*nseen)++], 64, "%s", file);
  char *text;
  tsr_status st = load_one(ctx, file, &text);
  if (st) return st;
  for (char *line = text; *line && st == TSR_OK;) {
    char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
    char inc[64];
    if (sscanf(line, " #include \"%63[^\"]\"", inc) == 1)
      st = resolve(ctx, inc, out, seen, nseen, depth + 1);
    else if (!sb_add(out, line, n))
      st = TSR_E_NOMEM;
    line += n;
  }
  free(text);
  return st;
}

tsr_status tsr__kernel_source(tsr_context *ctx, const char *file, char **text) {
  strbuf b = {0};
  char seen[TSR_MAX_INCLUDES][64];
  int nseen = 0;
  tsr_status st = resolve(ctx, file, &b, seen, &nseen, 0);
  if (st) {
    free(b.p);
    return st;
  }
  *text = b.p;
  return TSR_OK;
}

/* ---- devices ------------------------------------------------------------- */
tsr_status tsr__cl_lookup(tsr_context *ctx, const tsr_device_info *info, cl_platform_id *platform,
                          cl_device_id *device) {
  const char *why;
  const tsr__cl_api *cl = tsr__cl_load(&why);
  int pi, di;
  if (!cl) return tsr__fail(ctx, TSR_E_NO_DEVICE, "OpenCL unavailable: %s", why);
  if (sscanf(info->id, "cl:%d.%d", &pi, &di) != 2) return tsr__fail(ctx, TSR_E_INVALID, "not an OpenCL device");
  cl_platform_id plats[16];
  cl_device_id devs[16];
  cl_uint np = 0, nd = 0;
  cl_int err = cl->clGetPlatformIDs(16, plats, &np);
  if (err || pi >= (int)np) return tsr__cl_fail(ctx, "clGetPlatformIDs", err ? err : CL_INVALID_PLATFORM);
  err = cl->clGetDeviceIDs(plats[pi], CL_DEVICE_TYPE_ALL, 16, devs, &nd);
  if (err || di >= (int)nd) return tsr__cl_fail(ctx, "clGetDeviceIDs", err ? err : CL_DEVICE_NOT_FOUND);
  *platform = plats[pi];
  *device = devs[di];
  return TSR_OK;
}

void tsr__cl_close(tsr__cl_device *d) {
  if (!d) return;
  const tsr__cl_api *cl = d->api;
  tsr__warp_cl_release(d);
  if (d->warp_kernel) cl->clReleaseKernel(d->warp_kernel);
  if (d->warp_program) cl->clReleaseProgram(d->warp_program);
  if (d->merge_kernel) cl->clReleaseKernel(d->merge_kernel);
  if (d->merge_program) cl->clReleaseProgram(d->merge_program);
  if (d->copy_kernel) cl->clReleaseKernel(d->copy_kernel);
  if (d->copy_program) cl->clReleaseProgram(d->copy_program);
  if (d->queue2) cl->clReleaseCommandQueue(d->queue2);
  if (d->queue) cl->clReleaseCommandQueue(d->queue);
  if (d->context) cl->clReleaseContext(d->context);
  free(d);
}

tsr_status tsr__cl_open(tsr_context *ctx) {
  if (ctx->cl) return TSR_OK;
  tsr__cl_device *d = calloc(1, sizeof *d);
  if (!d) return TSR_E_NOMEM;
  d->api = tsr__cl_load(NULL);
  tsr_status st = tsr__cl_lookup(ctx, ctx->dev, &d->platform, &d->device);
  if (st) goto fail;
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
  d->context = d->api->clCreateContext(props, 1, &d->device, NULL, NULL, &err);
  if (!d->context) {
    st = tsr__cl_fail(ctx, "clCreateContext", err);
    goto fail;
  }
  d->queue = d->api->clCreateCommandQueue(d->context, d->device, CL_QUEUE_PROFILING_ENABLE, &err);
  if (!d->queue) {
    st = tsr__cl_fail(ctx, "clCreateCommandQueue", err);
    goto fail;
  }
  d->queue2 = d->api->clCreateCommandQueue(d->context, d->device, CL_QUEUE_PROFILING_ENABLE, &err);
  ctx->cl = d;
  return TSR_OK;
fail:
  tsr__cl_close(d);
  return st;
}

/* ---- programs ------------------------------------------------------------ */
static tsr_status build_log(tsr_context *ctx, tsr__cl_device *d, cl_program prog, const char *file,
                            cl_int err) {
  char log[16384] = "";
  size_t n = 0;
  d->api->clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, &n);
  log[sizeof log - 1] = 0;
  return tsr__fail(ctx, TSR_E_BUILD, "building %s failed: %s (%d)\n%s", file, tsr__cl_errname(err), (int)err,
                   log);
}

tsr_status tsr__cl_build(tsr_context *ctx, const char *file, const char *options, cl_program *program,
                         int *from_cache) {
  tsr__cl_device *d = ctx->cl;
  const tsr__cl_api *cl = d->api;
  char *src = NULL;
  tsr_status st = tsr__kernel_source(ctx, file, &src);
  if (st) return st;
  char opts[512];
  snprintf(opts, sizeof opts, "-cl-std=CL1.2 %s", options ? options : "");

  tsr__cache cache;
  tsr__cache_init(&cache);
  char platform[512] = "", pver[256] = "";
  cl->clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
  cl->clGetPlatformInfo(d->platform, CL_PLATFORM_VERSION, sizeof pver - 1, pver, NULL);
  strncat(platform, pver, sizeof platform - strlen(platform) - 1);
  uint64_t key = tsr__cache_key(src, opts, platform, ctx->dev->name, ctx->dev->driver_version);

  cl_int err;
  cl_program prog = NULL;
  size_t bin_size = 0;
  uint8_t *bin = tsr__cache_get(&cache, key, &bin_size);
  *from_cache = 0;
  if (bin) {
    const unsigned char *bins[1] = {bin};
    cl_int bstatus;
    prog = cl->clCreateProgramWithBinary(d->context, 1, &d->device, &bin_size, bins, &bstatus, &err);
    if (prog && cl->clBuildProgram(prog, 1, &d->device, opts, NULL, NULL) == CL_SUCCESS) {
      *from_cache = 1;
    } else if (prog) {
      cl->clReleaseProgram(prog); /* a stale or foreign binary: rebuild below */
      prog = NULL;
    }
    free(bin);
  }
  if (!prog) {
    const char *srcs[1] = {src};
    prog = cl->clCreateProgramWithSource(d->context, 1, srcs, NULL, &err);
    if (!prog) {
      free(src);
      return tsr__cl_fail(ctx, "clCreateProgramWithSource", err);
    }
    err = cl->clBuildProgram(prog, 1, &d->device, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
      st = build_log(ctx, d, prog, file, err);
      cl->clReleaseProgram(prog);
      free(src);
      return st;
    }
    size_t size = 0;
    if (cl->clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) == CL_SUCCESS && size) {
      unsigned char *out = malloc(size);
      if (out && cl->clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof out, &out, NULL) == CL_SUCCESS)
        tsr__cache_put(&cache, key, out, size);
      free(out);
    }
  }
  free(src);
  *program = prog;
  return TSR_OK;
}

tsr_status tsr__cl_kernel(tsr_context *ctx, const char *file, const char *name, cl_program *program,
                          cl_kernel *kernel, int *from_cache) {
  tsr_status st;
  if (*kernel) return TSR_OK;
  int cached = 0;
  if (!*program && (st = tsr__cl_build(ctx, file, "", program, from_cache ? from_cache : &cached))) return st;
  cl_int err;
  *kernel = ctx->cl->api->clCreateKernel(*program, name, &err);
  return *kernel ? TSR_OK : tsr__cl_fail(ctx, "clCreateKernel", err);
}

cl_int tsr__cl_alloc(tsr_context *ctx, size_t bytes, cl_mem_flags flags, cl_mem *out) {
  tsr__cl_device *d = ctx->cl;
  if (ctx->fault_alloc_above && bytes > ctx->fault_alloc_above) return CL_MEM_OBJECT_ALLOCATION_FAILURE;
  cl_int err;
  *out = d->api->clCreateBuffer(d->context, flags, bytes, NULL, &err);
  if (!*out) return err;
  err = d->api->clEnqueueMigrateMemObjects(d->queue, 1, out, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED, 0, NULL,
                                            NULL);
  if (err == CL_SUCCESS) err = d->api->clFinish(d->queue);
  return err;
}

double tsr__cl_event_seconds(const tsr__cl_api *cl, cl_event ev) {
  cl_ulong t0 = 0, t1 = 0;
  if (!ev || cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ||
      cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) || t1 < t0)
    return 0;
  return (double)(t1 - t0) * 1e-9;
}

