/* The OpenCL side of tessera bench: the copy kernel, host<->device
 * transfers (pageable and pinned) and the warp with its data resident on
 * the device. Kernel times come from profiling events; transfers are timed
 * by wall clock around blocking calls, the cost a program sees. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cl.h"

struct tsr__bench_cl {
  tsr_context *ctx;
  const tsr__cl_api *cl;
  cl_command_queue q;
  cl_kernel kernel;
  cl_mem a, b, sdesc, vdesc; /* copy: a -> b; transfer: a; warp: a = sources, b = views */
  cl_mem pin;                /* transfer: pinned host buffer, mapped at hpin */
  uint8_t *hpin, *host;      /* host: pageable memory */
  size_t bytes, out_bytes;
  size_t global[3];
  cl_uint dims;
  int timing_wall;           /* the queue gave no profiling times */
};

void tsr__bench_cl_close(tsr__bench_cl *b) {
  if (!b) return;
  const tsr__cl_api *cl = b->cl;
  if (b->hpin) {
    cl->clEnqueueUnmapMemObject(b->q, b->pin, b->hpin, 0, NULL, NULL);
    cl->clFinish(b->q);
  }
  cl_mem *m[5] = {&b->a, &b->b, &b->sdesc, &b->vdesc, &b->pin};
  for (int i = 0; i < 5; i++)
    if (*m[i]) cl->clReleaseMemObject(*m[i]);
  free(b->host);
  free(b);
}

typedef enum { NO_KERNEL, COPY_KERNEL, WARP_KERNEL } which_kernel;

/* Opens the device, builds the kernel (timing the build) and allocates the
 * handle. */
static tsr_status open_handle(tsr_context *ctx, which_kernel which, tsr__bench_workload *w, tsr__bench_cl **out) {
  *out = NULL;
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__cl_device *d = ctx->cl;
  cl_program *prog = which == COPY_KERNEL ? &d->copy_program : &d->warp_program;
  cl_kernel *kern = which == COPY_KERNEL ? &d->copy_kernel : which == WARP_KERNEL ? &d->warp_kernel : NULL;
  const char *file = which == COPY_KERNEL ? "copy.cl" : "warp.cl", *name = which == COPY_KERNEL ? "tsr_copy" : "tsr_warp";
  if (kern) {
    double t = tsr__now();
    int cached = 0;
    int had = *kern != NULL;
    if ((st = tsr__cl_kernel(ctx, file, name, prog, kern, &cached))) return st;
    if (!had) {
      w->build_s = tsr__now() - t;
      w->build_cached = cached;
    }
  }
  tsr__bench_cl *b = calloc(1, sizeof *b);
  if (!b) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  b->ctx = ctx;
  b->cl = ctx->cl->api;
  b->q = ctx->cl->queue;
  b->kernel = kern ? *kern : NULL;
  *out = b;
  return TSR_OK;
}

static tsr_status fail_close(tsr__bench_cl *b, const char *call, cl_int err) {
  tsr_status st = tsr__cl_fail(b->ctx, call, err);
  tsr__bench_cl_close(b);
  return st;
}

/* Enqueues the kernel iters times and returns the summed kernel time from
 * profiling events (wall clock when the queue gives none). */
static double run_kernel(tsr__bench_cl *b, int iters) {
  const tsr__cl_api *cl = b->cl;
  cl_event *ev = calloc((size_t)iters, sizeof *ev);
  if (!ev) return -1;
  double t0 = tsr__now(), sum = 0;
  int ok = 1;
  for (int i = 0; i < iters && ok; i++)
    ok = cl->clEnqueueNDRangeKernel(b->q, b->kernel, b->dims, NULL, b->global, NULL, 0, NULL, &ev[i]) == CL_SUCCESS;
  ok = cl->clFinish(b->q) == CL_SUCCESS && ok;
  double wall = tsr__now() - t0;
  for (int i = 0; i < iters; i++) {
    if (!ev[i]) continue;
    double t = tsr__cl_event_seconds(cl, ev[i]);
    if (t > 0) sum += t;
    else b->timing_wall = 1;
    cl->clReleaseEvent(ev[i]);
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
  tsr_status st = open_handle(ctx, COPY_KERNEL, w, &b);
  if (st) return st;
  cl_int err = tsr__cl_alloc(ctx, bytes, CL_MEM_READ_ONLY, &b->a);
  if (!err) err = tsr__cl_alloc(ctx, bytes, CL_MEM_WRITE_ONLY, &b->b);
  if (err) return fail_close(b, "allocating the copy buffers", err);
  if ((err = b->cl->clEnqueueWriteBuffer(b->q, b->a, CL_TRUE, 0, bytes, data, 0, NULL, NULL)))
    return fail_close(b, "clEnqueueWriteBuffer", err);
  b->cl->clSetKernelArg(b->kernel, 0, sizeof(cl_mem), &b->a);
  b->cl->clSetKernelArg(b->kernel, 1, sizeof(cl_mem), &b->b);
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
  tsr_status st = open_handle(ctx, NO_KERNEL, w, &b);
  if (st) return st;
  b->bytes = bytes;
  b->host = malloc(bytes);
  if (!b->host) {
    tsr__bench_cl_close(b);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory for %zu bytes", bytes);
  }
  memset(b->host, 1, bytes); /* fault the pages in before timing */
  cl_int err = tsr__cl_alloc(ctx, bytes, CL_MEM_READ_WRITE, &b->a);
  if (err) return fail_close(b, "allocating the transfer buffer", err);
  b->pin = b->cl->clCreateBuffer(ctx->cl->context, CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_WRITE, bytes, NULL, &err);
  if (!b->pin) return fail_close(b, "clCreateBuffer(CL_MEM_ALLOC_HOST_PTR)", err);
  b->hpin = b->cl->clEnqueueMapBuffer(b->q, b->pin, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, NULL, NULL,
                                      &err);
  if (!b->hpin) return fail_close(b, "clEnqueueMapBuffer", err);
  memset(b->hpin, 1, bytes);
  w->device_bytes = (uint64_t)bytes;
  *out = b;
  return TSR_OK;
}

double tsr__bench_cl_transfer(tsr__bench_cl *b, int to_host, int pinned, int iters) {
  uint8_t *h = pinned ? b->hpin : b->host;
  double t0 = tsr__now();
  for (int i = 0; i < iters; i++) {
    cl_int err = to_host ? b->cl->clEnqueueReadBuffer(b->q, b->a, CL_TRUE, 0, b->bytes, h, 0, NULL, NULL)
                         : b->cl->clEnqueueWriteBuffer(b->q, b->a, CL_TRUE, 0, b->bytes, h, 0, NULL, NULL);
    if (err) {
      tsr__cl_fail(b->ctx, to_host ? "clEnqueueReadBuffer" : "clEnqueueWriteBuffer", err);
      return -1;
    }
  }
  return tsr__now() - t0;
}

/* Round trips of a pattern: pageable up, pinned down; pinned up, pageable
 * down. Returns the largest byte difference, or -1 on a failed call. */
double tsr__bench_cl_transfer_check(tsr__bench_cl *b, const uint8_t *pattern) {
  const tsr__cl_api *cl = b->cl;
  double worst = 0;
  for (int k = 0; k < 2; k++) {
    uint8_t *up = k ? b->hpin : b->host, *down = k ? b->host : b->hpin;
    memcpy(up, pattern, b->bytes);
    memset(down, 0, b->bytes);
    if (cl->clEnqueueWriteBuffer(b->q, b->a, CL_TRUE, 0, b->bytes, up, 0, NULL, NULL) ||
        cl->clEnqueueReadBuffer(b->q, b->a, CL_TRUE, 0, b->bytes, down, 0, NULL, NULL))
      return -1;
    double d = tsr__bench_max_diff(down, pattern, b->bytes, 1);
    if (d > worst) worst = d;
  }
  return worst;
}

/* ---- warp, data resident -------------------------------------------------- */
tsr_status tsr__bench_cl_warp_open(tsr_context *ctx, const tsr_image *src, int batch, const tsr_src_desc *sd,
                                   const tsr_view_desc *vd, tsr__bench_workload *w, tsr__bench_cl **out) {
  tsr__bench_cl *b;
  tsr_status st = open_handle(ctx, WARP_KERNEL, w, &b);
  if (st) return st;
  size_t in = (size_t)sd->item_bytes * (size_t)batch, outb = (size_t)sd->dst_item_bytes * (size_t)batch;
  cl_int err = tsr__cl_alloc(ctx, in, CL_MEM_READ_ONLY, &b->a);
  if (!err) err = tsr__cl_alloc(ctx, outb, CL_MEM_WRITE_ONLY, &b->b);
  if (!err) err = tsr__cl_alloc(ctx, sizeof *sd, CL_MEM_READ_ONLY, &b->sdesc);
  if (!err) err = tsr__cl_alloc(ctx, sizeof *vd * (size_t)sd->nviews, CL_MEM_READ_ONLY, &b->vdesc);
  if (err) return fail_close(b, "allocating the warp buffers", err);
  const tsr__cl_api *cl = b->cl;
  for (int i = 0; i < batch && !err; i++)
    err = cl->clEnqueueWriteBuffer(b->q, b->a, CL_TRUE, (size_t)i * sd->item_bytes, sd->item_bytes, src->data, 0,
                                   NULL, NULL);
  if (!err) err = cl->clEnqueueWriteBuffer(b->q, b->sdesc, CL_TRUE, 0, sizeof *sd, sd, 0, NULL, NULL);
  if (!err) err = cl->clEnqueueWriteBuffer(b->q, b->vdesc, CL_TRUE, 0, sizeof *vd * (size_t)sd->nviews, vd, 0, NULL, NULL);
  if (err) return fail_close(b, "clEnqueueWriteBuffer", err);
  cl_mem args[4] = {b->a, b->sdesc, b->vdesc, b->b};
  for (cl_uint i = 0; i < 4; i++) cl->clSetKernelArg(b->kernel, i, sizeof(cl_mem), &args[i]);
  size_t maxw = 1, maxh = 1;
  for (int v = 0; v < sd->nviews; v++) {
    if ((size_t)vd[v].width > maxw) maxw = (size_t)vd[v].width;
    if ((size_t)vd[v].height > maxh) maxh = (size_t)vd[v].height;
  }
  b->dims = 3;
  b->global[0] = maxw;
  b->global[1] = maxh;
  b->global[2] = (size_t)batch * (size_t)sd->nviews;
  b->out_bytes = sd->dst_item_bytes;
  uint64_t dev = in + outb + sizeof *sd + sizeof *vd * (size_t)sd->nviews;
  if (dev > w->device_bytes) w->device_bytes = dev;
  *out = b;
  return TSR_OK;
}

double tsr__bench_cl_warp(tsr__bench_cl *b, int iters) { return run_kernel(b, iters); }

/* Reads the first item's views (or the copy's output) back into out. */
tsr_status tsr__bench_cl_read(tsr__bench_cl *b, uint8_t *out) {
  size_t n = b->out_bytes ? b->out_bytes : b->bytes;
  cl_int err = b->cl->clEnqueueReadBuffer(b->q, b->b, CL_TRUE, 0, n, out, 0, NULL, NULL);
  return err ? tsr__cl_fail(b->ctx, "clEnqueueReadBuffer", err) : TSR_OK;
}
