/* The warp on an OpenCL device: planned batches, forced allocation so that
 * out-of-memory shows up where the batch is sized, halving on failure, and
 * transfers that overlap the kernels.
 *
 * The planned batch of B items is split over two buffer sets of about B/2,
 * each driven by its own in-order queue: while one set's kernel runs, the
 * other set uploads its next chunk or downloads its last one. Host data goes
 * through pinned staging buffers (CL_MEM_ALLOC_HOST_PTR, mapped once), the
 * fast path for DMA on discrete GPUs; if the driver cannot give them, the
 * copies go straight from and to the caller's images. The buffers stay
 * with the device for the next job of the same shape. Transfer and kernel
 * times come from the queues' profiling events. */
#include <stdlib.h>
#include <string.h>

#include "cl.h"
#include "warp_impl.h"

typedef struct {
  int cap;                  /* items this set holds */
  cl_mem src, dst;          /* device buffers */
  cl_mem up, down;          /* pinned staging (NULL: not available) */
  uint8_t *hup, *hdown;     /* their mapped host pointers */
  cl_command_queue queue;
  cl_event ev_up, ev_kernel, ev_down;
  int first, n;             /* the chunk in flight (n == 0: idle) */
} buffer_set;

struct tsr__warp_buffers {
  buffer_set set[2];
  int nsets;
  cl_mem sdesc, vdesc;
  /* What they were sized for; a later job with the same shape reuses them. */
  uint64_t item_bytes, dst_item_bytes;
  int nviews, batch;
};
typedef struct tsr__warp_buffers warp_buffers;

static void release_events(const tsr__cl_api *cl, buffer_set *b) {
  cl_event *ev[3] = {&b->ev_up, &b->ev_kernel, &b->ev_down};
  for (int i = 0; i < 3; i++)
    if (*ev[i]) {
      cl->clReleaseEvent(*ev[i]);
      *ev[i] = NULL;
    }
}

static void release(const tsr__cl_api *cl, warp_buffers *w) {
  for (int k = 0; k < 2; k++) {
    buffer_set *b = &w->set[k];
    release_events(cl, b);
    if (b->hup) cl->clEnqueueUnmapMemObject(b->queue, b->up, b->hup, 0, NULL, NULL);
    if (b->hdown) cl->clEnqueueUnmapMemObject(b->queue, b->down, b->hdown, 0, NULL, NULL);
    if (b->queue && (b->hup || b->hdown)) cl->clFinish(b->queue);
    cl_mem *all[4] = {&b->src, &b->dst, &b->up, &b->down};
    for (int i = 0; i < 4; i++)
      if (*all[i]) cl->clReleaseMemObject(*all[i]);
    memset(b, 0, sizeof *b);
  }
  if (w->sdesc) cl->clReleaseMemObject(w->sdesc);
  if (w->vdesc) cl->clReleaseMemObject(w->vdesc);
  memset(w, 0, sizeof *w);
}

/* A host-visible buffer mapped once; leaves *buf NULL when the driver
 * refuses (the transfer then uses the caller's memory). */
static void pinned(tsr__cl_device *d, cl_command_queue q, size_t bytes, cl_map_flags map, cl_mem *buf,
                   uint8_t **ptr) {
  cl_int err;
  *buf = d->api->clCreateBuffer(d->context, CL_MEM_ALLOC_HOST_PTR | CL_MEM_READ_WRITE, bytes, NULL, &err);
  if (!*buf) return;
  *ptr = d->api->clEnqueueMapBuffer(q, *buf, CL_TRUE, map, 0, bytes, 0, NULL, NULL, &err);
  if (!*ptr) {
    d->api->clReleaseMemObject(*buf);
    *buf = NULL;
  }
}

static cl_int alloc_batch(tsr_context *ctx, const tsr_src_desc *s, int batch, warp_buffers *w) {
  tsr__cl_device *d = ctx->cl;
  w->nsets = batch >= 2 ? 2 : 1;
  cl_int err = CL_SUCCESS;
  for (int k = 0; k < w->nsets && !err; k++) {
    buffer_set *b = &w->set[k];
    b->cap = k == 0 ? (batch + 1) / 2 : batch / 2;
    if (w->nsets == 1) b->cap = batch;
    b->queue = k == 0 || !d->queue2 ? d->queue : d->queue2;
    err = tsr__cl_alloc(ctx, (size_t)s->item_bytes * (size_t)b->cap, CL_MEM_READ_ONLY, &b->src);
    if (!err) err = tsr__cl_alloc(ctx, (size_t)s->dst_item_bytes * (size_t)b->cap, CL_MEM_WRITE_ONLY, &b->dst);
    if (!err) {
      pinned(d, b->queue, (size_t)s->item_bytes * (size_t)b->cap, CL_MAP_WRITE, &b->up, &b->hup);
      pinned(d, b->queue, (size_t)s->dst_item_bytes * (size_t)b->cap, CL_MAP_READ, &b->down, &b->hdown);
    }
  }
  if (!err) err = tsr__cl_alloc(ctx, sizeof *s, CL_MEM_READ_ONLY, &w->sdesc);
  if (!err) err = tsr__cl_alloc(ctx, sizeof(tsr_view_desc) * (size_t)s->nviews, CL_MEM_READ_ONLY, &w->vdesc);
  return err;
}

#define CL_TRY(call, name)                       \
  do {                                           \
    cl_int e_ = (call);                          \
    if (e_ != CL_SUCCESS) {                      \
      st = tsr__cl_fail(ctx, name, e_);          \
      goto done;                                 \
    }                                            \
  } while (0)

/* Waits for a set's chunk and hands its views to the caller's images. */
static tsr_status collect(tsr_context *ctx, buffer_set *b, const tsr_src_desc *s, const tsr_view_desc *views,
                          tsr_image *const *dst, tsr_warp_stats *stats) {
  const tsr__cl_api *cl = ctx->cl->api;
  if (!b->n) return TSR_OK;
  cl_int err = cl->clWaitForEvents(1, &b->ev_down);
  if (err) return tsr__cl_fail(ctx, "clWaitForEvents", err);
  if (b->hdown)
    for (int i = 0; i < b->n; i++)
      for (int v = 0; v < s->nviews; v++)
        memcpy(dst[(b->first + i) * s->nviews + v]->data, b->hdown + (size_t)i * s->dst_item_bytes + views[v].dst_offset,
               (size_t)views[v].stride * (size_t)views[v].height);
  stats->upload_s += tsr__cl_event_seconds(cl, b->ev_up);
  stats->kernel_s += tsr__cl_event_seconds(cl, b->ev_kernel);
  stats->download_s += tsr__cl_event_seconds(cl, b->ev_down);
  release_events(cl, b);
  b->n = 0;
  return TSR_OK;
}

void tsr__warp_cl_release(tsr__cl_device *d) {
  if (!d->warp_buffers) return;
  release(d->api, d->warp_buffers);
  free(d->warp_buffers);
  d->warp_buffers = NULL;
}

tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr_src_desc *s,
                        const tsr_view_desc *views, tsr_image *const *dst, tsr_warp_stats *stats) {
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__cl_device *d = ctx->cl;
  if ((st = tsr__cl_kernel(ctx, "warp.cl", "tsr_warp", &d->warp_program, &d->warp_kernel, &d->warp_from_cache)))
    return st;
  const tsr__cl_api *cl = d->api;
  tsr_mem_need need = tsr__warp_need(s->item_bytes, s->dst_item_bytes, s->nviews);
  tsr_plan plan;
  if ((st = tsr_plan_batch(&need, ctx->budget, ctx->dev->max_alloc, nsrc, &plan)))
    return tsr__fail(ctx, st, "one source image and its %d views need %llu bytes, more than the budget of %llu",
                     s->nviews, (unsigned long long)(need.fixed_bytes + need.item_bytes[0] + need.item_bytes[1]),
                     (unsigned long long)ctx->budget);
  /* Buffers stay with the device between jobs of the same shape (a split
   * calls this once per group of frames): no allocation, forced migration
   * or pinning per call. */
  warp_buffers *cached = d->warp_buffers;
  int batch = plan.batch;
  if (cached && (cached->item_bytes != s->item_bytes || cached->dst_item_bytes != s->dst_item_bytes ||
                 cached->nviews != s->nviews || cached->batch < batch))
    tsr__warp_cl_release(d);
  if (!d->warp_buffers) {
    warp_buffers *nw = calloc(1, sizeof *nw);
    if (!nw) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    for (;;) {
      cl_int err = alloc_batch(ctx, s, batch, nw);
      if (err == CL_SUCCESS) break;
      release(cl, nw);
      if (!tsr__cl_is_oom(err) || batch == 1) {
        free(nw);
        if (!tsr__cl_is_oom(err)) return tsr__cl_fail(ctx, "allocating warp buffers", err);
        return tsr__fail(ctx, TSR_E_DEVICE_MEMORY, "out of device memory at batch 1 (%s)", tsr__cl_errname(err));
      }
      batch /= 2;
      stats->retries++;
    }
    nw->item_bytes = s->item_bytes;
    nw->dst_item_bytes = s->dst_item_bytes;
    nw->nviews = s->nviews;
    nw->batch = batch;
    d->warp_buffers = nw;
  }
  warp_buffers *w = d->warp_buffers;
  batch = w->batch;
  stats->batch = batch;
  stats->device_bytes = need.fixed_bytes + (uint64_t)batch * (need.item_bytes[0] + need.item_bytes[1]);
  stats->pinned = w->set[0].hup && w->set[0].hdown;

  size_t maxw = 1, maxh = 1;
  for (int v = 0; v < s->nviews; v++) {
    if ((size_t)views[v].width > maxw) maxw = (size_t)views[v].width;
    if ((size_t)views[v].height > maxh) maxh = (size_t)views[v].height;
  }
  CL_TRY(cl->clEnqueueWriteBuffer(d->queue, w->sdesc, CL_TRUE, 0, sizeof *s, s, 0, NULL, NULL), "clEnqueueWriteBuffer");
  CL_TRY(cl->clEnqueueWriteBuffer(d->queue, w->vdesc, CL_TRUE, 0, sizeof *views * (size_t)s->nviews, views, 0, NULL,
                                  NULL), "clEnqueueWriteBuffer");
  int chunk = 0;
  for (int first = 0; first < nsrc; chunk++) {
    buffer_set *b = &w->set[chunk % w->nsets];
    if ((st = collect(ctx, b, s, views, dst, stats))) goto done;
    int n = nsrc - first < b->cap ? nsrc - first : b->cap;
    cl_command_queue q = b->queue;
    if (b->hup) {
      for (int i = 0; i < n; i++) memcpy(b->hup + (size_t)i * s->item_bytes, src[first + i]->data, s->item_bytes);
      CL_TRY(cl->clEnqueueWriteBuffer(q, b->src, CL_FALSE, 0, (size_t)n * s->item_bytes, b->hup, 0, NULL, &b->ev_up),
             "clEnqueueWriteBuffer");
    } else {
      for (int i = 0; i < n; i++) {
        if (b->ev_up) cl->clReleaseEvent(b->ev_up);
        b->ev_up = NULL;
        CL_TRY(cl->clEnqueueWriteBuffer(q, b->src, CL_FALSE, (size_t)i * s->item_bytes, s->item_bytes,
                                        src[first + i]->data, 0, NULL, &b->ev_up), "clEnqueueWriteBuffer");
      }
    }
    /* Arguments are captured at enqueue, so one kernel object serves both sets. */
    CL_TRY(cl->clSetKernelArg(d->warp_kernel, 0, sizeof(cl_mem), &b->src), "clSetKernelArg");
    CL_TRY(cl->clSetKernelArg(d->warp_kernel, 1, sizeof(cl_mem), &w->sdesc), "clSetKernelArg");
    CL_TRY(cl->clSetKernelArg(d->warp_kernel, 2, sizeof(cl_mem), &w->vdesc), "clSetKernelArg");
    CL_TRY(cl->clSetKernelArg(d->warp_kernel, 3, sizeof(cl_mem), &b->dst), "clSetKernelArg");
    size_t global[3] = {maxw, maxh, (size_t)n * (size_t)s->nviews};
    CL_TRY(cl->clEnqueueNDRangeKernel(q, d->warp_kernel, 3, NULL, global, NULL, 0, NULL, &b->ev_kernel),
           "clEnqueueNDRangeKernel(tsr_warp)");
    if (b->hdown) {
      CL_TRY(cl->clEnqueueReadBuffer(q, b->dst, CL_FALSE, 0, (size_t)n * s->dst_item_bytes, b->hdown, 0, NULL,
                                     &b->ev_down), "clEnqueueReadBuffer");
    } else {
      for (int i = 0; i < n; i++)
        for (int v = 0; v < s->nviews; v++) {
          if (b->ev_down) cl->clReleaseEvent(b->ev_down);
          b->ev_down = NULL;
          CL_TRY(cl->clEnqueueReadBuffer(q, b->dst, CL_FALSE, (size_t)i * s->dst_item_bytes + views[v].dst_offset,
                                         (size_t)views[v].stride * (size_t)views[v].height,
                                         dst[(first + i) * s->nviews + v]->data, 0, NULL, &b->ev_down),
                 "clEnqueueReadBuffer");
        }
    }
    CL_TRY(cl->clFlush(q), "clFlush");
    b->first = first;
    b->n = n;
    first += n;
  }
  /* The last chunks, oldest first. */
  for (int k = 0; k < w->nsets && !st; k++) st = collect(ctx, &w->set[(chunk + k) % w->nsets], s, views, dst, stats);
done:
  if (st) { /* the buffers may be mid-use: start afresh next time */
    cl->clFinish(d->queue);
    if (d->queue2) cl->clFinish(d->queue2);
    tsr__warp_cl_release(d);
  }
  return st;
}
