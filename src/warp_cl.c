/* The warp on an OpenCL device: planned batches, forced allocation so that
 * out-of-memory shows up where the batch is sized, and halving on failure. */
#include <stdlib.h>
#include <string.h>

#include "cl.h"
#include "warp_impl.h"

typedef struct {
  cl_mem src, dst, sdesc, vdesc;
} warp_buffers;

static void release(const tsr__cl_api *cl, warp_buffers *b) {
  cl_mem *all[] = {&b->src, &b->dst, &b->sdesc, &b->vdesc};
  for (size_t i = 0; i < 4; i++)
    if (*all[i]) {
      cl->clReleaseMemObject(*all[i]);
      *all[i] = NULL;
    }
}

static cl_int alloc_batch(tsr_context *ctx, const tsr_src_desc *s, int batch, warp_buffers *b) {
  cl_int err = tsr__cl_alloc(ctx, (size_t)s->item_bytes * (size_t)batch, CL_MEM_READ_ONLY, &b->src);
  if (!err) err = tsr__cl_alloc(ctx, (size_t)s->dst_item_bytes * (size_t)batch, CL_MEM_WRITE_ONLY, &b->dst);
  if (!err) err = tsr__cl_alloc(ctx, sizeof *s, CL_MEM_READ_ONLY, &b->sdesc);
  if (!err) err = tsr__cl_alloc(ctx, sizeof(tsr_view_desc) * (size_t)s->nviews, CL_MEM_READ_ONLY, &b->vdesc);
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

tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr_src_desc *s,
                        const tsr_view_desc *views, tsr_image *const *dst, tsr_warp_stats *stats) {
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__cl_device *d = ctx->cl;
  if ((st = tsr__cl_kernel(ctx, "warp.cl", "tsr_warp", &d->warp_program, &d->warp_kernel, &d->warp_from_cache)))
    return st;
  const tsr__cl_api *cl = d->api;
  tsr_mem_need need = {0};
  need.nbuffers = 2;
  need.item_bytes[0] = s->item_bytes;
  need.item_bytes[1] = s->dst_item_bytes;
  need.fixed_bytes = sizeof *s + sizeof *views * (size_t)s->nviews;
  tsr_plan plan;
  if ((st = tsr_plan_batch(&need, ctx->budget, ctx->dev->max_alloc, nsrc, &plan)))
    return tsr__fail(ctx, st, "one source image and its %d views need %llu bytes, more than the budget of %llu",
                     s->nviews, (unsigned long long)(need.fixed_bytes + need.item_bytes[0] + need.item_bytes[1]),
                     (unsigned long long)ctx->budget);
  warp_buffers b = {0};
  int batch = plan.batch;
  for (;;) {
    cl_int err = alloc_batch(ctx, s, batch, &b);
    if (err == CL_SUCCESS) break;
    release(cl, &b);
    if (!tsr__cl_is_oom(err)) return tsr__cl_fail(ctx, "allocating warp buffers", err);
    if (batch == 1)
      return tsr__fail(ctx, TSR_E_DEVICE_MEMORY, "out of device memory at batch 1 (%s)", tsr__cl_errname(err));
    batch /= 2;
    stats->retries++;
  }
  stats->batch = batch;
  stats->device_bytes = need.fixed_bytes + (uint64_t)batch * (need.item_bytes[0] + need.item_bytes[1]);

  size_t maxw = 1, maxh = 1;
  for (int v = 0; v < s->nviews; v++) {
    if ((size_t)views[v].width > maxw) maxw = (size_t)views[v].width;
    if ((size_t)views[v].height > maxh) maxh = (size_t)views[v].height;
  }
  CL_TRY(cl->clEnqueueWriteBuffer(d->queue, b.sdesc, CL_FALSE, 0, sizeof *s, s, 0, NULL, NULL), "clEnqueueWriteBuffer");
  CL_TRY(cl->clEnqueueWriteBuffer(d->queue, b.vdesc, CL_FALSE, 0, sizeof *views * (size_t)s->nviews, views, 0, NULL,
                                  NULL), "clEnqueueWriteBuffer");
  CL_TRY(cl->clSetKernelArg(d->warp_kernel, 0, sizeof(cl_mem), &b.src), "clSetKernelArg");
  CL_TRY(cl->clSetKernelArg(d->warp_kernel, 1, sizeof(cl_mem), &b.sdesc), "clSetKernelArg");
  CL_TRY(cl->clSetKernelArg(d->warp_kernel, 2, sizeof(cl_mem), &b.vdesc), "clSetKernelArg");
  CL_TRY(cl->clSetKernelArg(d->warp_kernel, 3, sizeof(cl_mem), &b.dst), "clSetKernelArg");
  for (int first = 0; first < nsrc; first += batch) {
    int n = nsrc - first < batch ? nsrc - first : batch;
    for (int i = 0; i < n; i++)
      CL_TRY(cl->clEnqueueWriteBuffer(d->queue, b.src, CL_FALSE, (size_t)i * s->item_bytes, s->item_bytes,
                                      src[first + i]->data, 0, NULL, NULL), "clEnqueueWriteBuffer");
    size_t global[3] = {maxw, maxh, (size_t)n * (size_t)s->nviews};
    CL_TRY(cl->clEnqueueNDRangeKernel(d->queue, d->warp_kernel, 3, NULL, global, NULL, 0, NULL, NULL),
           "clEnqueueNDRangeKernel(tsr_warp)");
    for (int i = 0; i < n; i++)
      for (int v = 0; v < s->nviews; v++) {
        const tsr_view_desc *vw = &views[v];
        size_t bytes = (size_t)vw->stride * (size_t)vw->height;
        CL_TRY(cl->clEnqueueReadBuffer(d->queue, b.dst, CL_FALSE, (size_t)i * s->dst_item_bytes + vw->dst_offset,
                                       bytes, dst[(first + i) * s->nviews + v]->data, 0, NULL, NULL),
               "clEnqueueReadBuffer");
      }
    CL_TRY(cl->clFinish(d->queue), "clFinish");
  }
done:
  if (st) cl->clFinish(d->queue);
  release(cl, &b);
  return st;
}
