/* The OpenCL side of tessera bench: the copy kernel, host<->device
 * transfers (pageable and pinned) and the warp with its data resident on
 * the device, all through the runtime's buffers and launches like every
 * other job. Kernel times come from profiling events; transfers are timed
 * by wall clock around blocking calls, the cost a program sees. */
#include <stdlib.h>
#include <string.h>

#include "jobs/bench/bench.h"
#include "runtime/cl.h"

struct tsr__bench_cl {
  tsr_context *ctx;
  cl_kernel kernel;
  tsr__buf *a, *b, *sdesc, *vdesc; /* copy: a -> b; transfer: a; warp: a = sources, b = views */
  tsr__buf *pos, *ext;             /* warp: the sampling data */
  tsr__buf *pin;                   /* transfer: pinned host buffer */
  uint8_t *host;                   /* pageable memory */
  size_t bytes, out_bytes;
  size_t global[3], local[3];
  int dims, nargs, has_local;
  cl_int row0, rows, items;
  tsr__cl_arg args[9];
  int timing_wall; /* the queue gave no profiling times */
};

void tsr__bench_cl_close(tsr__bench_cl *b) {
  if (!b) return;
  tsr__buf *m[7] = {b->a, b->b, b->sdesc, b->vdesc, b->pin, b->pos, b->ext};
  for (int i = 0; i < 7; i++) tsr__buf_free(b->ctx, m[i]);
  free(b->host);
  free(b);
}

/* Opens the device, gets the kernel (timing its build) and the handle. */
static tsr_status open_handle(tsr_context *ctx, const char *file, const char *name, tsr__bench_workload *w,
                              tsr__bench_cl **out) {
  *out = NULL;
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__bench_cl *b = calloc(1, sizeof *b);
  if (!b) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  b->ctx = ctx;
  if (file) {
    double build_s = 0;
    int cached = 0;
    if ((st = tsr__cl_kernel(ctx, file, name, &b->kernel, &build_s, &cached))) {
      free(b);
      return st;
    }
    if (build_s > 0) { /* the first build on this device, not a registry hit */
      w->build_s = build_s;
      w->build_cached = cached;
    }
  }
  *out = b;
  return TSR_OK;
}

static tsr_status fail_close(tsr__bench_cl *b, tsr_status st) {
  tsr__bench_cl_close(b);
  return st;
}

/* Enqueues the kernel iters times and returns the summed kernel time from
 * profiling events (wall clock when the queue gives none). */
static double run_kernel(tsr__bench_cl *b, int iters) {
  cl_event *ev = calloc((size_t)iters, sizeof *ev);
  if (!ev) return -1;
  double t0 = tsr__now(), sum = 0;
  int ok = 1;
  for (int i = 0; i < iters && ok; i++)
    ok = tsr__cl_launch(b->ctx, 0, b->kernel, b->nargs, b->args, b->dims, b->global, b->has_local ? b->local : NULL,
                        NULL, &ev[i]) == TSR_OK;
  ok = tsr__cl_finish(b->ctx, 0) == TSR_OK && ok;
  double wall = tsr__now() - t0;
  for (int i = 0; i < iters; i++) {
    if (!ev[i]) continue;
    double t = tsr__cl_event_seconds(b->ctx->cl->api, ev[i]);
    if (t > 0) sum += t;
    else b->timing_wall = 1;
    tsr__cl_event_release(b->ctx, &ev[i]);
  }
  free(ev);
  if (!ok) return -1;
  return b->timing_wall ? wall : sum;
}

const char *tsr__bench_cl_timing(const tsr__bench_cl *b) { return b->timing_wall ? "wall" : "events"; }

/* ---- copy --------------------------------------------------------------- */
tsr_status tsr__bench_cl_copy_open(tsr_context *ctx, const uint8_t *data, size_t bytes, tsr__bench_workload *w,
                                   tsr__bench_cl **out) {
  tsr__bench_cl *b;
  tsr_status st = open_handle(ctx, "copy.cl", "tsr_copy", w, &b);
  if (st) return st;
  st = tsr__buf_alloc(ctx, "bench", TSR_BUF_READ, bytes, &b->a);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_WRITE, bytes, &b->b);
  if (!st) st = tsr__cl_write(ctx, 0, b->a, 0, bytes, data, 1, NULL, NULL);
  if (st) return fail_close(b, st);
  b->args[0] = TSR_ARG_BUF(b->a);
  b->args[1] = TSR_ARG_BUF(b->b);
  b->nargs = 2;
  b->bytes = bytes;
  b->dims = 1;
  b->global[0] = bytes / 16;
  w->device_bytes = 2 * (uint64_t)bytes;
  *out = b;
  return TSR_OK;
}

double tsr__bench_cl_copy(tsr__bench_cl *b, int iters) { return run_kernel(b, iters); }

/* ---- transfer ------------------------------------------------------------ */
tsr_status tsr__bench_cl_transfer_open(tsr_context *ctx, size_t bytes, tsr__bench_workload *w, tsr__bench_cl **out) {
  tsr__bench_cl *b;
  tsr_status st = open_handle(ctx, NULL, NULL, w, &b);
  if (st) return st;
  b->bytes = bytes;
  b->host = malloc(bytes);
  if (!b->host) return fail_close(b, tsr__fail(ctx, TSR_E_NOMEM, "out of memory for %zu bytes", bytes));
  memset(b->host, 1, bytes); /* fault the pages in before timing */
  st = tsr__buf_alloc(ctx, "bench", TSR_BUF_RW, bytes, &b->a);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_PINNED_RW, bytes, &b->pin);
  if (st) return fail_close(b, st);
  memset(b->pin->host, 1, bytes);
  w->device_bytes = (uint64_t)bytes;
  *out = b;
  return TSR_OK;
}

double tsr__bench_cl_transfer(tsr__bench_cl *b, int to_host, int pinned, int iters) {
  uint8_t *h = pinned ? b->pin->host : b->host;
  double t0 = tsr__now();
  for (int i = 0; i < iters; i++) {
    tsr_status st = to_host ? tsr__cl_read(b->ctx, 0, b->a, 0, b->bytes, h, 1, NULL, NULL)
                            : tsr__cl_write(b->ctx, 0, b->a, 0, b->bytes, h, 1, NULL, NULL);
    if (st) return -1;
  }
  return tsr__now() - t0;
}

/* Round trips of a pattern: pageable up, pinned down; pinned up, pageable
 * down. Returns the largest byte difference, or -1 on a failed call. */
double tsr__bench_cl_transfer_check(tsr__bench_cl *b, const uint8_t *pattern) {
  double worst = 0;
  for (int k = 0; k < 2; k++) {
    uint8_t *up = k ? b->pin->host : b->host, *down = k ? b->host : b->pin->host;
    memcpy(up, pattern, b->bytes);
    memset(down, 0, b->bytes);
    if (tsr__cl_write(b->ctx, 0, b->a, 0, b->bytes, up, 1, NULL, NULL) ||
        tsr__cl_read(b->ctx, 0, b->a, 0, b->bytes, down, 1, NULL, NULL))
      return -1;
    double d = tsr__bench_max_diff(down, pattern, b->bytes, 1);
    if (d > worst) worst = d;
  }
  return worst;
}

/* ---- warp, data resident -------------------------------------------------- */
/* batch copies of one source (with its levels, made here by the CPU
 * backend) and the plan's sampling data stay on the device; each run is one
 * launch, as the split's stream makes it. */
tsr_status tsr__bench_cl_warp_open(tsr_context *ctx, const tsr_image *src, int batch, const tsr__warp_plan *plan,
                                   tsr__bench_workload *w, tsr__bench_cl **out) {
  tsr__bench_cl *b;
  tsr_status st = open_handle(ctx, "warp.cl", "tsr_warp", w, &b);
  if (st) return st;
  const tsr_warp_src *sd = &plan->s;
  size_t in = (size_t)sd->item_bytes * (size_t)batch, outb = (size_t)sd->dst_item_bytes * (size_t)batch;
  size_t lv0 = (size_t)src->stride * (size_t)src->height;
  uint8_t *item = malloc(sd->item_bytes);
  if (!item) return fail_close(b, tsr__fail(ctx, TSR_E_NOMEM, "out of memory"));
  memcpy(item, src->data, lv0);
  if (plan->level_bytes) tsr__warp_levels_cpu(plan, src->data, item + lv0, ctx->threads);
  st = tsr__buf_alloc(ctx, "bench", TSR_BUF_READ, in, &b->a);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_WRITE, outb, &b->b);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_READ, sizeof *sd, &b->sdesc);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_READ, sizeof *plan->vd * (size_t)sd->nviews, &b->vdesc);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_READ, (size_t)plan->npos * 8, &b->pos);
  if (!st) st = tsr__buf_alloc(ctx, "bench", TSR_BUF_READ, plan->next ? (size_t)plan->next * 4 : 4, &b->ext);
  for (int i = 0; i < batch && !st; i++)
    st = tsr__cl_write(ctx, 0, b->a, (size_t)i * sd->item_bytes, sd->item_bytes, item, 1, NULL, NULL);
  free(item);
  if (!st) st = tsr__cl_write(ctx, 0, b->sdesc, 0, sizeof *sd, sd, 1, NULL, NULL);
  if (!st) st = tsr__cl_write(ctx, 0, b->vdesc, 0, sizeof *plan->vd * (size_t)sd->nviews, plan->vd, 1, NULL, NULL);
  if (!st) st = tsr__cl_write(ctx, 0, b->pos, 0, (size_t)plan->npos * 8, plan->pos, 1, NULL, NULL);
  if (!st && plan->next) st = tsr__cl_write(ctx, 0, b->ext, 0, (size_t)plan->next * 4, plan->ext, 1, NULL, NULL);
  if (st) return fail_close(b, st);
  b->row0 = 0;
  b->args[0] = TSR_ARG_BUF(b->a);
  b->args[1] = TSR_ARG_BUF(b->sdesc);
  b->args[2] = TSR_ARG_BUF(b->vdesc);
  b->args[3] = TSR_ARG_BUF(b->pos);
  b->args[4] = TSR_ARG_BUF(b->ext);
  b->args[5] = TSR_ARG_BUF(b->b);
  b->args[6] = TSR_ARG_VAL(b->row0);
  b->args[7] = TSR_ARG_VAL(b->rows);
  b->items = batch;
  b->args[8] = TSR_ARG_VAL(b->items);
  b->nargs = 9;
  size_t maxw = 1, maxh = 1;
  for (int v = 0; v < sd->nviews; v++) {
    if ((size_t)plan->vd[v].width > maxw) maxw = (size_t)plan->vd[v].width;
    if ((size_t)plan->vd[v].height > maxh) maxh = (size_t)plan->vd[v].height;
  }
  b->dims = 3;
  b->global[0] = maxw;
  b->global[1] = maxh;
  b->rows = (cl_int)maxh;
  b->global[2] = (size_t)sd->nviews;
  b->has_local = 1;
  tsr__cl_local_rows(ctx, b->kernel, b->local);
  b->out_bytes = sd->dst_item_bytes;
  uint64_t dev = in + outb + sizeof *sd + sizeof *plan->vd * (size_t)sd->nviews + tsr__warp_plan_data_bytes(plan);
  if (dev > w->device_bytes) w->device_bytes = dev;
  *out = b;
  return TSR_OK;
}

double tsr__bench_cl_warp(tsr__bench_cl *b, int iters) { return run_kernel(b, iters); }

/* Reads the first item's views (or the copy's output) back into out. */
tsr_status tsr__bench_cl_read(tsr__bench_cl *b, uint8_t *out) {
  size_t n = b->out_bytes ? b->out_bytes : b->bytes;
  return tsr__cl_read(b->ctx, 0, b->b, 0, n, out, 1, NULL, NULL);
}
