/* Per device: built programs and kernels by name, and every buffer with
 * its owner, charged to the budget ledger. Cached buffers (kept by a job
 * for the next one of the same shape) are evicted, least recently used
 * first, when an allocation would exceed the budget; held buffers never
 * are. All under the device lock. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cl.h"

struct tsr__cl_program {
  char file[64], options[128];
  cl_program program;
  int from_cache;
  tsr__cl_program *next;
};

struct tsr__cl_kernel_entry {
  char file[64], name[64];
  cl_kernel kernel;
  tsr__cl_kernel_entry *next;
};

/* ---- programs and kernels ------------------------------------------------ */
tsr_status tsr__cl_kernel(tsr_context *ctx, const char *file, const char *name, cl_kernel *kernel, double *build_s,
                          int *from_cache) {
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__cl_device *d = ctx->cl;
  if (build_s) *build_s = 0;
  pthread_mutex_lock(&d->lock);
  for (tsr__cl_kernel_entry *k = d->kernels; k; k = k->next)
    if (!strcmp(k->file, file) && !strcmp(k->name, name)) {
      *kernel = k->kernel;
      for (tsr__cl_program *p = d->programs; p && from_cache; p = p->next)
        if (!strcmp(p->file, file)) *from_cache = p->from_cache;
      pthread_mutex_unlock(&d->lock);
      return TSR_OK;
    }
  tsr__cl_program *prog = NULL;
  for (tsr__cl_program *p = d->programs; p; p = p->next)
    if (!strcmp(p->file, file) && !p->options[0]) prog = p;
  if (!prog) {
    prog = calloc(1, sizeof *prog);
    if (!prog) {
      pthread_mutex_unlock(&d->lock);
      return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    }
    snprintf(prog->file, sizeof prog->file, "%s", file);
    double t = tsr__now();
    st = tsr__cl_build(ctx, file, "", &prog->program, &prog->from_cache);
    if (st) {
      free(prog);
      pthread_mutex_unlock(&d->lock);
      return st;
    }
    if (build_s) *build_s = tsr__now() - t;
    prog->next = d->programs;
    d->programs = prog;
  }
  if (from_cache) *from_cache = prog->from_cache;
  cl_int err;
  cl_kernel k = d->api->clCreateKernel(prog->program, name, &err);
  tsr__cl_kernel_entry *entry = k ? calloc(1, sizeof *entry) : NULL;
  if (!entry) {
    if (k) d->api->clReleaseKernel(k);
    pthread_mutex_unlock(&d->lock);
    return k ? tsr__fail(ctx, TSR_E_NOMEM, "out of memory") : tsr__cl_fail(ctx, "clCreateKernel", err);
  }
  snprintf(entry->file, sizeof entry->file, "%s", file);
  snprintf(entry->name, sizeof entry->name, "%s", name);
  entry->kernel = k;
  entry->next = d->kernels;
  d->kernels = entry;
  *kernel = k;
  pthread_mutex_unlock(&d->lock);
  return TSR_OK;
}

/* ---- buffers and the ledger ------------------------------------------------ */
static void destroy_buf(tsr__cl_device *d, tsr__buf *b) {
  const tsr__cl_api *cl = d->api;
  if (b->host) {
    cl->clEnqueueUnmapMemObject(d->queue[0], b->mem, b->host, 0, NULL, NULL);
    cl->clFinish(d->queue[0]);
  }
  if (b->mem) cl->clReleaseMemObject(b->mem);
  free(b);
}

/* Unlinks b from the list and uncharges it; under the lock. */
static void unlink_buf(tsr__cl_device *d, tsr__buf *b) {
  for (tsr__buf **p = &d->buffers; *p; p = &(*p)->next)
    if (*p == b) {
      *p = b->next;
      d->charged -= b->bytes;
      return;
    }
}

/* Evicts cached buffers, least recently used first, until `bytes` more fit
 * the budget; under the lock. Returns whether they fit. */
static int make_room(tsr__cl_device *d, uint64_t bytes, uint64_t budget) {
  while (d->charged + bytes > budget) {
    tsr__buf *victim = NULL;
    for (tsr__buf *b = d->buffers; b; b = b->next)
      if (!b->held && (!victim || b->last_use < victim->last_use)) victim = b;
    if (!victim) return 0;
    unlink_buf(d, victim);
    destroy_buf(d, victim);
  }
  return 1;
}

static cl_int create_mem(tsr__cl_device *d, tsr__buf *b) {
  const tsr__cl_api *cl = d->api;
  cl_int err;
  int pinned = b->kind >= TSR_BUF_PINNED_UP;
  cl_mem_flags flags = pinned ? CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_WRITE
                       : b->kind == TSR_BUF_READ ? CL_MEM_READ_ONLY
                       : b->kind == TSR_BUF_WRITE ? CL_MEM_WRITE_ONLY
                                                  : CL_MEM_READ_WRITE;
  b->mem = cl->clCreateBuffer(d->context, flags, b->bytes, NULL, &err);
  if (!b->mem) return err;
  if (pinned) {
    cl_map_flags map = b->kind == TSR_BUF_PINNED_UP ? CL_MAP_WRITE
                       : b->kind == TSR_BUF_PINNED_DOWN ? CL_MAP_READ
                                                        : CL_MAP_READ | CL_MAP_WRITE;
    b->host = cl->clEnqueueMapBuffer(d->queue[0], b->mem, CL_TRUE, map, 0, b->bytes, 0, NULL, NULL, &err);
    return b->host ? CL_SUCCESS : err;
  }
  /* OpenCL allocates lazily: without this an out-of-memory error would
   * surface at the first launch instead of where the batch is sized. */
  err = cl->clEnqueueMigrateMemObjects(d->queue[0], 1, &b->mem, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED, 0, NULL,
                                       NULL);
  if (err == CL_SUCCESS) err = cl->clFinish(d->queue[0]);
  return err;
}

tsr_status tsr__buf_alloc(tsr_context *ctx, const char *owner, tsr__buf_kind kind, size_t bytes, tsr__buf **out) {
  *out = NULL;
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__cl_device *d = ctx->cl;
  if (bytes == 0) bytes = 1;
  tsr__buf *b = calloc(1, sizeof *b);
  if (!b) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  b->bytes = bytes;
  b->kind = kind;
  b->held = 1;
  snprintf(b->owner, sizeof b->owner, "%s", owner);
  pthread_mutex_lock(&d->lock);
  if (!make_room(d, bytes, ctx->budget)) {
    uint64_t charged = d->charged, budget = ctx->budget;
    pthread_mutex_unlock(&d->lock);
    free(b);
    return tsr__fail(ctx, TSR_E_DEVICE_MEMORY, "%s: %zu more bytes do not fit the budget (%llu of %llu in use)", owner,
                     bytes, (unsigned long long)charged, (unsigned long long)budget);
  }
  /* Charged before the (unlocked) allocation so other threads plan with it. */
  d->charged += bytes;
  b->last_use = ++d->use_clock;
  b->next = d->buffers;
  d->buffers = b;
  if (d->charged > d->peak) d->peak = d->charged;
  pthread_mutex_unlock(&d->lock);
  cl_int err = ctx->fault_alloc_above && bytes > ctx->fault_alloc_above ? CL_MEM_OBJECT_ALLOCATION_FAILURE
                                                                        : create_mem(d, b);
  if (err != CL_SUCCESS) {
    pthread_mutex_lock(&d->lock);
    unlink_buf(d, b);
    pthread_mutex_unlock(&d->lock);
    destroy_buf(d, b);
    if (tsr__cl_is_oom(err))
      return tsr__fail(ctx, TSR_E_DEVICE_MEMORY, "%s: allocating %zu bytes: %s", owner, bytes, tsr__cl_errname(err));
    return tsr__cl_fail(ctx, "clCreateBuffer", err);
  }
  *out = b;
  return TSR_OK;
}

void tsr__buf_free(tsr_context *ctx, tsr__buf *b) {
  if (!b) return;
  tsr__cl_device *d = ctx->cl;
  pthread_mutex_lock(&d->lock);
  unlink_buf(d, b);
  pthread_mutex_unlock(&d->lock);
  destroy_buf(d, b);
}

void tsr__buf_keep(tsr_context *ctx, tsr__buf *b, uint64_t key) {
  if (!b) return;
  tsr__cl_device *d = ctx->cl;
  pthread_mutex_lock(&d->lock);
  b->key = key;
  b->held = 0;
  b->last_use = ++d->use_clock;
  pthread_mutex_unlock(&d->lock);
}

tsr__buf *tsr__buf_reuse(tsr_context *ctx, const char *owner, uint64_t key, size_t bytes) {
  tsr__cl_device *d = ctx->cl;
  if (!d || !key) return NULL;
  tsr__buf *found = NULL;
  pthread_mutex_lock(&d->lock);
  for (tsr__buf *b = d->buffers; b && !found; b = b->next)
    if (!b->held && b->key == key && b->bytes == (bytes ? bytes : 1)) found = b;
  if (found) {
    found->held = 1;
    found->last_use = ++d->use_clock;
    snprintf(found->owner, sizeof found->owner, "%s", owner);
  }
  pthread_mutex_unlock(&d->lock);
  return found;
}

uint64_t tsr__cl_available(tsr_context *ctx) {
  tsr__cl_device *d = ctx->cl;
  if (!d) return ctx->budget;
  uint64_t held = 0;
  pthread_mutex_lock(&d->lock);
  for (tsr__buf *b = d->buffers; b; b = b->next)
    if (b->held) held += b->bytes;
  uint64_t avail = held < ctx->budget ? ctx->budget - held : 0;
  pthread_mutex_unlock(&d->lock);
  return avail;
}

void tsr__cl_ledger(tsr_context *ctx, uint64_t *charged, uint64_t *held, uint64_t *peak, int *nbuffers) {
  tsr__cl_device *d = ctx->cl;
  uint64_t c = 0, h = 0, p = 0;
  int n = 0;
  if (d) {
    pthread_mutex_lock(&d->lock);
    for (tsr__buf *b = d->buffers; b; b = b->next) {
      n++;
      if (b->held) h += b->bytes;
    }
    c = d->charged;
    p = d->peak;
    pthread_mutex_unlock(&d->lock);
  }
  if (charged) *charged = c;
  if (held) *held = h;
  if (peak) *peak = p;
  if (nbuffers) *nbuffers = n;
}

void tsr__cl_registry_release(tsr__cl_device *d) {
  while (d->buffers) {
    tsr__buf *b = d->buffers;
    d->buffers = b->next;
    destroy_buf(d, b);
  }
  d->charged = 0;
  while (d->kernels) {
    tsr__cl_kernel_entry *k = d->kernels;
    d->kernels = k->next;
    d->api->clReleaseKernel(k->kernel);
    free(k);
  }
  while (d->programs) {
    tsr__cl_program *p = d->programs;
    d->programs = p->next;
    d->api->clReleaseProgram(p->program);
    free(p);
  }
}
