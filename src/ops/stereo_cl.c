/* The stereo matcher on an OpenCL device: both gray images uploaded once
 * per pair, then per tile the kernels of cl/stereo.cl in order on one
 * queue, and the region's disparities (and confidence, right disparities)
 * read back into the host scratch the CPU loops would have filled. Every
 * buffer is charged to the ledger and sized for the largest region of
 * the grid, which the planner fitted into what the ledger had left. */
#include <stdlib.h>
#include <string.h>

#include "ops/stereo_impl.h"
#include "runtime/cl.h"

enum {
  B_LEFT, B_RIGHT, B_DESC, B_CENSL, B_CENSR, B_COST, B_SUM, B_BEST, B_SMIN, B_DISPR, B_RAW, B_CONF, B_DISP,
  B_COUNT
};

struct tsr__stereo_cl {
  tsr_context *ctx;
  tsr__buf *b[B_COUNT];
  cl_kernel census, costs, path, winners, right, finish, median;
  int stride, width, height;
  size_t path_wg; /* the path kernel's largest work-group */
};

static void sizes(int w, int h, int rw, int ndp, size_t out[B_COUNT]) {
  size_t px = (size_t)w * (size_t)h;
  memset(out, 0, B_COUNT * sizeof *out);
  out[B_DESC] = sizeof(tsr_stereo_desc);
  out[B_CENSL] = px * 8;
  out[B_CENSR] = (size_t)rw * (size_t)h * 8;
  out[B_COST] = px * (size_t)ndp;
  out[B_SUM] = px * (size_t)ndp * 2;
  out[B_BEST] = px * 2;
  out[B_SMIN] = px * 2;
  out[B_DISPR] = (size_t)rw * (size_t)h * 2;
  out[B_RAW] = px * 2;
  out[B_CONF] = px;
  out[B_DISP] = px * 2;
}

uint64_t tsr__stereo_cl_bytes(int w, int h, int rw, int ndp) {
  size_t s[B_COUNT];
  sizes(w, h, rw, ndp, s);
  uint64_t t = 0;
  for (int i = 0; i < B_COUNT; i++) t += s[i];
  return t;
}

void tsr__stereo_cl_close(tsr__stereo_cl *s) {
  if (!s) return;
  for (int i = 0; i < B_COUNT; i++) tsr__buf_free(s->ctx, s->b[i]);
  free(s);
}

tsr_status tsr__stereo_cl_open(tsr_context *ctx, const tsr_image *l, const tsr_image *r, int max_w, int max_h,
                               int max_rw, int nd, tsr__stereo_cl **out) {
  *out = NULL;
  tsr__stereo_cl *s = calloc(1, sizeof *s);
  if (!s) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  s->ctx = ctx;
  s->stride = (int)l->stride;
  s->width = l->width;
  s->height = l->height;
  static const char *names[7] = {"tsr_stereo_census", "tsr_stereo_costs",  "tsr_stereo_path",  "tsr_stereo_winners",
                                 "tsr_stereo_right",  "tsr_stereo_finish_kernel", "tsr_stereo_median"};
  cl_kernel *k[7] = {&s->census, &s->costs, &s->path, &s->winners, &s->right, &s->finish, &s->median};
  tsr_status st = TSR_OK;
  for (int i = 0; i < 7 && !st; i++) st = tsr__cl_kernel(ctx, "stereo.cl", names[i], k[i], NULL, NULL);
  s->path_wg = 1;
  if (!st) {
    size_t wg = 0;
    if (ctx->cl->api->clGetKernelWorkGroupInfo(s->path, ctx->cl->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg,
                                               NULL) == CL_SUCCESS && wg > 0)
      s->path_wg = wg;
  }
  size_t sz[B_COUNT];
  sizes(max_w, max_h, max_rw, (nd + 15) / 16 * 16, sz);
  sz[B_LEFT] = sz[B_RIGHT] = l->stride * (size_t)l->height;
  for (int i = 0; i < B_COUNT && !st; i++)
    st = tsr__buf_alloc(ctx, "stereo", i <= B_DESC ? TSR_BUF_READ : TSR_BUF_RW, sz[i], &s->b[i]);
  if (!st) st = tsr__cl_write(ctx, 0, s->b[B_LEFT], 0, sz[B_LEFT], l->data, 1, NULL, NULL);
  if (!st) st = tsr__cl_write(ctx, 0, s->b[B_RIGHT], 0, sz[B_RIGHT], r->data, 1, NULL, NULL);
  if (st) {
    tsr__stereo_cl_close(s);
    return st;
  }
  *out = s;
  return TSR_OK;
}

static tsr_status launch2(tsr__stereo_cl *s, cl_kernel k, int nargs, const tsr__cl_arg *args, int gw, int gh) {
  size_t global[2] = {(size_t)gw, (size_t)gh}, local[3];
  tsr__cl_local_rows(s->ctx, k, local);
  return tsr__cl_launch(s->ctx, 0, k, nargs, args, 2, global, local, NULL, NULL);
}

tsr_status tsr__stereo_cl_tile(tsr__stereo_cl *s, const tsr_stereo_desc *d, tsr__stereo_work *wk, int median) {
  tsr_context *ctx = s->ctx;
  tsr__buf **b = s->b;
  tsr_status st = tsr__cl_write(ctx, 0, b[B_DESC], 0, sizeof *d, d, 1, NULL, NULL);
  if (!st) {
    tsr__cl_arg a[9] = {TSR_ARG_BUF(b[B_LEFT]), TSR_ARG_VAL(d->width), TSR_ARG_VAL(d->height), TSR_ARG_VAL(s->stride),
                        TSR_ARG_VAL(d->x0),     TSR_ARG_VAL(d->y0),    TSR_ARG_VAL(d->w),      TSR_ARG_VAL(d->h),
                        TSR_ARG_BUF(b[B_CENSL])};
    st = launch2(s, s->census, 9, a, d->w, d->h);
  }
  if (!st && d->rw > 0) {
    tsr__cl_arg a[9] = {TSR_ARG_BUF(b[B_RIGHT]), TSR_ARG_VAL(d->width), TSR_ARG_VAL(d->height), TSR_ARG_VAL(s->stride),
                        TSR_ARG_VAL(d->rx0),     TSR_ARG_VAL(d->y0),    TSR_ARG_VAL(d->rw),     TSR_ARG_VAL(d->h),
                        TSR_ARG_BUF(b[B_CENSR])};
    st = launch2(s, s->census, 9, a, d->rw, d->h);
  }
  if (!st) {
    tsr__cl_arg a[4] = {TSR_ARG_BUF(b[B_CENSL]), TSR_ARG_BUF(b[B_CENSR]), TSR_ARG_BUF(b[B_DESC]), TSR_ARG_BUF(b[B_COST])};
    st = launch2(s, s->costs, 4, a, d->w, d->h);
  }
  /* the paths: horizontal, vertical, then (8 paths) the diagonals */
  static const int dirs[8][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {-1, 1}, {1, -1}, {-1, -1}};
  /* a work-group per line: up to 256 work-items over the disparities */
  size_t lsz = 1;
  while (lsz < 256 && lsz < (size_t)d->ndp) lsz *= 2;
  if (lsz > s->path_wg) lsz = s->path_wg;
  for (int i = 0; i < (d->paths == 8 ? 8 : 4) && !st; i++) {
    int dx = dirs[i][0], dy = dirs[i][1], add = i > 0;
    tsr__cl_arg a[10] = {TSR_ARG_BUF(b[B_COST]), TSR_ARG_BUF(b[B_SUM]), TSR_ARG_BUF(b[B_LEFT]), TSR_ARG_VAL(s->stride),
                         TSR_ARG_BUF(b[B_DESC]), TSR_ARG_VAL(dx),       TSR_ARG_VAL(dy),        TSR_ARG_VAL(add),
                         {((size_t)d->ndp + 2) * 2 * sizeof(cl_ushort), NULL},
                         {3 * sizeof(cl_int), NULL}};
    size_t lines = dy == 0 ? (size_t)d->h : dx == 0 ? (size_t)d->w : (size_t)d->w + (size_t)d->h - 1;
    size_t global = lines * lsz;
    st = tsr__cl_launch(ctx, 0, s->path, 10, a, 1, &global, &lsz, NULL, NULL);
  }
  if (!st) {
    tsr__cl_arg a[4] = {TSR_ARG_BUF(b[B_SUM]), TSR_ARG_BUF(b[B_DESC]), TSR_ARG_BUF(b[B_BEST]), TSR_ARG_BUF(b[B_SMIN])};
    st = launch2(s, s->winners, 4, a, d->w, d->h);
  }
  if (!st && d->rw > 0) {
    tsr__cl_arg a[4] = {TSR_ARG_BUF(b[B_BEST]), TSR_ARG_BUF(b[B_SMIN]), TSR_ARG_BUF(b[B_DESC]), TSR_ARG_BUF(b[B_DISPR])};
    st = launch2(s, s->right, 4, a, d->rw, d->h);
  }
  if (!st) {
    tsr__cl_arg a[5] = {TSR_ARG_BUF(b[B_SUM]), TSR_ARG_BUF(b[B_DESC]), TSR_ARG_BUF(b[B_DISPR]), TSR_ARG_BUF(b[B_RAW]),
                        TSR_ARG_BUF(b[B_CONF])};
    st = launch2(s, s->finish, 5, a, d->w, d->h);
  }
  if (!st && median) {
    tsr__cl_arg a[3] = {TSR_ARG_BUF(b[B_RAW]), TSR_ARG_BUF(b[B_DESC]), TSR_ARG_BUF(b[B_DISP])};
    st = launch2(s, s->median, 3, a, d->w, d->h);
  }
  size_t px = (size_t)d->w * (size_t)d->h;
  if (!st) st = tsr__cl_read(ctx, 0, b[median ? B_DISP : B_RAW], 0, px * 2, median ? wk->disp : wk->raw, 0, NULL, NULL);
  if (!st) st = tsr__cl_read(ctx, 0, b[B_CONF], 0, px, wk->conf, 0, NULL, NULL);
  if (!st) st = tsr__cl_read(ctx, 0, b[B_BEST], 0, px * 2, wk->wbest, 0, NULL, NULL);
  if (!st) st = tsr__cl_read(ctx, 0, b[B_SMIN], 0, px * 2, wk->wsmin, 0, NULL, NULL);
  if (!st && d->rw > 0) st = tsr__cl_read(ctx, 0, b[B_DISPR], 0, (size_t)d->rw * (size_t)d->h * 2, wk->dispr, 0, NULL, NULL);
  if (!st) st = tsr__cl_finish(ctx, 0);
  else tsr__cl_finish(ctx, 0);
  return st;
}
