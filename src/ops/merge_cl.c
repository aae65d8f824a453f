/* The merge on an OpenCL device: the packed views, their descriptors and
 * the panorama in ledger-charged buffers, one launch. The job is one item
 * for the planner; it fails (and the caller finishes on the CPU) when it
 * does not fit what the ledger has left or the device runs out of memory. */
#include "ops/merge_impl.h"
#include "runtime/cl.h"

tsr_status tsr__merge_cl(tsr_context *ctx, const uint8_t *views, size_t views_bytes, const tsr_view_desc *vd,
                         const tsr_src_desc *pano, uint8_t *dst, size_t dst_bytes) {
  cl_kernel kernel;
  tsr_status st = tsr__cl_kernel(ctx, "merge.cl", "tsr_merge", &kernel, NULL, NULL);
  if (st) return st;
  tsr_mem_need need = {0};
  need.nbuffers = 2;
  need.item_bytes[0] = views_bytes;
  need.item_bytes[1] = dst_bytes;
  need.fixed_bytes = sizeof *pano + sizeof *vd * (size_t)pano->nviews;
  tsr_plan plan;
  if (tsr_plan_batch(&need, tsr__cl_available(ctx), ctx->dev->max_alloc, 1, &plan))
    return tsr__fail(ctx, TSR_E_BUDGET, "merge: views and panorama need more than the device budget left");
  tsr__buf *b[4] = {NULL, NULL, NULL, NULL};
  const size_t bytes[4] = {views_bytes, sizeof *vd * (size_t)pano->nviews, sizeof *pano, dst_bytes};
  const tsr__buf_kind kind[4] = {TSR_BUF_READ, TSR_BUF_READ, TSR_BUF_READ, TSR_BUF_WRITE};
  const void *host[3] = {views, vd, pano};
  for (int i = 0; i < 4 && !st; i++) st = tsr__buf_alloc(ctx, "merge", kind[i], bytes[i], &b[i]);
  for (int i = 0; i < 3 && !st; i++) st = tsr__cl_write(ctx, 0, b[i], 0, bytes[i], host[i], 0, NULL, NULL);
  if (!st) {
    tsr__cl_arg args[4] = {TSR_ARG_BUF(b[0]), TSR_ARG_BUF(b[1]), TSR_ARG_BUF(b[2]), TSR_ARG_BUF(b[3])};
    size_t global[2] = {(size_t)pano->width, (size_t)pano->height};
    st = tsr__cl_launch(ctx, 0, kernel, 4, args, 2, global, NULL, NULL, NULL);
  }
  if (!st) st = tsr__cl_read(ctx, 0, b[3], 0, dst_bytes, dst, 1, NULL, NULL);
  if (st) tsr__cl_finish(ctx, 0);
  for (int i = 0; i < 4; i++) tsr__buf_free(ctx, b[i]);
  return st;
}
