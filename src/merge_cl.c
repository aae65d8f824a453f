/* The merge on an OpenCL device: the packed views, their descriptors and
 * the panorama in device buffers, one launch. The job is one item for the
 * planner; it fails (and the caller finishes on the CPU) when it does not
 * fit the budget or the device runs out of memory. */
#include "cl.h"
#include "merge_impl.h"

tsr_status tsr__merge_cl(tsr_context *ctx, const uint8_t *views, size_t views_bytes, const tsr_view_desc *vd,
                         const tsr_src_desc *pano, uint8_t *dst, size_t dst_bytes) {
  tsr_status st = tsr__cl_open(ctx);
  if (st) return st;
  tsr__cl_device *d = ctx->cl;
  if ((st = tsr__cl_kernel(ctx, "merge.cl", "tsr_merge", &d->merge_program, &d->merge_kernel, NULL))) return st;
  tsr_mem_need need = {0};
  need.nbuffers = 2;
  need.item_bytes[0] = views_bytes;
  need.item_bytes[1] = dst_bytes;
  need.fixed_bytes = sizeof *pano + sizeof *vd * (size_t)pano->nviews;
  tsr_plan plan;
  if (tsr_plan_batch(&need, ctx->budget, ctx->dev->max_alloc, 1, &plan))
    return tsr__fail(ctx, TSR_E_BUDGET, "merge: views and panorama need more than the device budget");
  const tsr__cl_api *cl = d->api;
  cl_mem b[4] = {NULL, NULL, NULL, NULL};
  const size_t bytes[4] = {views_bytes, sizeof *vd * (size_t)pano->nviews, sizeof *pano, dst_bytes};
  const cl_mem_flags flags[4] = {CL_MEM_READ_ONLY, CL_MEM_READ_ONLY, CL_MEM_READ_ONLY, CL_MEM_WRITE_ONLY};
  const void *host[3] = {views, vd, pano};
  cl_int err = CL_SUCCESS;
  const char *what = "allocating merge buffers";
  for (int i = 0; i < 4 && !err; i++) err = tsr__cl_alloc(ctx, bytes[i], flags[i], &b[i]);
  for (int i = 0; i < 3 && !err; i++) {
    what = "clEnqueueWriteBuffer";
    err = cl->clEnqueueWriteBuffer(d->queue, b[i], CL_FALSE, 0, bytes[i], host[i], 0, NULL, NULL);
  }
  for (cl_uint i = 0; i < 4 && !err; i++) {
    what = "clSetKernelArg";
    err = cl->clSetKernelArg(d->merge_kernel, i, sizeof(cl_mem), &b[i]);
  }
  if (!err) {
    what = "clEnqueueNDRangeKernel(tsr_merge)";
    size_t global[2] = {(size_t)pano->width, (size_t)pano->height};
    err = cl->clEnqueueNDRangeKernel(d->queue, d->merge_kernel, 2, NULL, global, NULL, 0, NULL, NULL);
  }
  if (!err) {
    what = "clEnqueueReadBuffer";
    err = cl->clEnqueueReadBuffer(d->queue, b[3], CL_TRUE, 0, dst_bytes, dst, 0, NULL, NULL);
  }
  if (err) {
    cl->clFinish(d->queue);
    st = tsr__cl_fail(ctx, what, err);
  }
  for (int i = 0; i < 4; i++)
    if (b[i]) cl->clReleaseMemObject(b[i]);
  return st;
}
