/* Kernel sources (embedded or from $TESSERA_KERNEL_DIR, with their
 * #include lines resolved) and program builds through the binary cache. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cl.h"
#include "runtime/embedded.h"

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

