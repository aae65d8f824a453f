/* Transfers and kernel launches: the one place that knows the blocking
 * and event rules (see runtime/cl.h), used by every op and the bench. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cl.h"

static cl_command_queue queue_of(tsr__cl_device *d, int q) {
  return d->queue[q >= 0 && q < TSR_CL_QUEUES ? q : 0];
}

/* One transfer between host memory and a buffer, either way. */
static tsr_status transfer(tsr_context *ctx, int to_host, int queue, tsr__buf *b, size_t offset, size_t bytes,
                           void *host, int blocking, cl_event wait, cl_event *ev) {
  tsr__cl_device *d = ctx->cl;
  if (ev) *ev = NULL;
  cl_command_queue q = queue_of(d, queue);
  cl_bool block = blocking ? CL_TRUE : CL_FALSE;
  cl_uint nwait = wait ? 1 : 0;
  const cl_event *w = wait ? &wait : NULL;
  cl_int err = to_host ? d->api->clEnqueueReadBuffer(q, b->mem, block, offset, bytes, host, nwait, w, ev)
                       : d->api->clEnqueueWriteBuffer(q, b->mem, block, offset, bytes, host, nwait, w, ev);
  return err ? tsr__cl_fail(ctx, to_host ? "clEnqueueReadBuffer" : "clEnqueueWriteBuffer", err) : TSR_OK;
}

tsr_status tsr__cl_write(tsr_context *ctx, int queue, tsr__buf *b, size_t offset, size_t bytes, const void *src,
                         int blocking, cl_event wait, cl_event *ev) {
  return transfer(ctx, 0, queue, b, offset, bytes, (void *)src, blocking, wait, ev);
}

tsr_status tsr__cl_read(tsr_context *ctx, int queue, tsr__buf *b, size_t offset, size_t bytes, void *dst,
                        int blocking, cl_event wait, cl_event *ev) {
  return transfer(ctx, 1, queue, b, offset, bytes, dst, blocking, wait, ev);
}

tsr_status tsr__cl_launch(tsr_context *ctx, int queue, cl_kernel kernel, int nargs, const tsr__cl_arg *args,
                          int dims, const size_t *global, const size_t *local, cl_event wait, cl_event *ev) {
  tsr__cl_device *d = ctx->cl;
  const tsr__cl_api *cl = d->api;
  if (ev) *ev = NULL;
  size_t g[3];
  for (int i = 0; i < dims; i++) g[i] = local && local[i] ? (global[i] + local[i] - 1) / local[i] * local[i] : global[i];
  cl_int err = CL_SUCCESS;
  const char *what = "clSetKernelArg";
  /* A kernel's arguments are shared state until the enqueue captures them. */
  pthread_mutex_lock(&d->lock);
  if (d->fault_launch_after >= 0 && d->launches++ >= d->fault_launch_after) err = CL_OUT_OF_RESOURCES;
  for (int i = 0; i < nargs && !err; i++) err = cl->clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
  if (!err) {
    what = "clEnqueueNDRangeKernel";
    err = cl->clEnqueueNDRangeKernel(queue_of(d, queue), kernel, (cl_uint)dims, NULL, g, local, wait ? 1 : 0,
                                     wait ? &wait : NULL, ev);
  }
  pthread_mutex_unlock(&d->lock);
  if (!err) err = cl->clFlush(queue_of(d, queue));
  return err ? tsr__cl_fail(ctx, what, err) : TSR_OK;
}

tsr_status tsr__cl_wait(tsr_context *ctx, cl_event ev) {
  if (!ev) return TSR_OK;
  const tsr__cl_api *cl = ctx->cl->api;
  cl_int err = cl->clWaitForEvents(1, &ev);
  cl_int status = CL_COMPLETE;
  if (!err) err = cl->clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
  if (!err && status < 0) err = status;
  return err ? tsr__cl_fail(ctx, "clWaitForEvents", err) : TSR_OK;
}

tsr_status tsr__cl_finish(tsr_context *ctx, int queue) {
  cl_int err = ctx->cl->api->clFinish(queue_of(ctx->cl, queue));
  return err ? tsr__cl_fail(ctx, "clFinish", err) : TSR_OK;
}

void tsr__cl_event_release(tsr_context *ctx, cl_event *ev) {
  if (*ev) ctx->cl->api->clReleaseEvent(*ev);
  *ev = NULL;
}

double tsr__cl_event_seconds(const tsr__cl_api *cl, cl_event ev) {
  cl_ulong t0 = 0, t1 = 0;
  if (!ev || cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) ||
      cl->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) || t1 < t0)
    return 0;
  return (double)(t1 - t0) * 1e-9;
}

void tsr__cl_local_rows(tsr_context *ctx, cl_kernel kernel, size_t local[3]) {
  size_t max = 0;
  if (ctx->cl->api->clGetKernelWorkGroupInfo(kernel, ctx->cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max, &max,
                                             NULL) != CL_SUCCESS || max < 1)
    max = 1;
  local[0] = max >= 32 ? 32 : max;
  local[1] = max >= 128 ? 4 : 1;
  local[2] = 1;
}
