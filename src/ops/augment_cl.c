/* tessera augment on an OpenCL device: one item (an image or a clip's
 * frames) at a time, every copy run by the kernels of cl/augment.cl in the
 * CPU loops' order, the results read back for the writers. Buffers are
 * charged to the device's ledger for the item and freed after it. */
#include <stdlib.h>
#include <string.h>

#include "ops/augment_ops.h"
#include "runtime/cl.h"

enum { K_WARP, K_ROWSUM, K_MEAN, K_POINT, K_BLUR_H, K_BLUR_V, K_ERASE, K_COUNT };
static const char *const kname[K_COUNT] = {"tsr_aug_warp",          "tsr_aug_rowsum",        "tsr_aug_mean",
                                           "tsr_aug_point_kernel",  "tsr_aug_blur_h_kernel", "tsr_aug_blur_v_kernel",
                                           "tsr_aug_erase"};

enum { B_SRC, B_WORK, B_DST, B_TMP, B_ROWS, B_MEAN, B_TAPS, B_COUNT };

typedef struct {
  tsr_context *ctx;
  cl_kernel k[K_COUNT];
  tsr__buf *b[B_COUNT];
} dev;

static tsr_status launch2(dev *d, int k, int nargs, const tsr__cl_arg *a, int gw, int gh) {
  size_t global[2] = {(size_t)gw, (size_t)gh}, local[3];
  tsr__cl_local_rows(d->ctx, d->k[k], local);
  return tsr__cl_launch(d->ctx, 0, d->k[k], nargs, a, 2, global, local, NULL, NULL);
}

static tsr_status launch1(dev *d, int k, int nargs, const tsr__cl_arg *a, size_t n) {
  return tsr__cl_launch(d->ctx, 0, d->k[k], nargs, a, 1, &n, NULL, NULL, NULL);
}

/* The pixel ops of a list on buffer img (w x h). */
static tsr_status run_pix(dev *d, const tsr__aug_pix *list, int n, tsr__buf *img, int w, int h, int ch) {
  tsr_status st = TSR_OK;
  for (int i = 0; i < n && !st; i++) {
    const tsr__aug_pix *p = &list[i];
    if (p->kind == TSR_AUGP_BLUR) {
      st = tsr__cl_write(d->ctx, 0, d->b[B_TAPS], 0, sizeof p->taps, p->taps, 1, NULL, NULL);
      int r = p->a;
      if (!st) {
        tsr__cl_arg a[7] = {TSR_ARG_BUF(img), TSR_ARG_VAL(w), TSR_ARG_VAL(h), TSR_ARG_VAL(ch),
                            TSR_ARG_BUF(d->b[B_TAPS]), TSR_ARG_VAL(r), TSR_ARG_BUF(d->b[B_TMP])};
        st = launch2(d, K_BLUR_H, 7, a, w, h);
      }
      if (!st) {
        tsr__cl_arg a[7] = {TSR_ARG_BUF(d->b[B_TMP]), TSR_ARG_VAL(w), TSR_ARG_VAL(h), TSR_ARG_VAL(ch),
                            TSR_ARG_BUF(d->b[B_TAPS]), TSR_ARG_VAL(r), TSR_ARG_BUF(img)};
        st = launch2(d, K_BLUR_V, 7, a, w, h);
      }
    } else if (p->kind == TSR_AUGP_ERASE) {
      int x0 = p->rect[0], y0 = p->rect[1], rw = p->rect[2], rh = p->rect[3], v = p->a;
      if (x0 + rw > w) rw = w - x0;
      if (y0 + rh > h) rh = h - y0;
      if (rw <= 0 || rh <= 0) continue;
      tsr__cl_arg a[8] = {TSR_ARG_BUF(img), TSR_ARG_VAL(w),  TSR_ARG_VAL(ch), TSR_ARG_VAL(x0),
                          TSR_ARG_VAL(y0),  TSR_ARG_VAL(rw), TSR_ARG_VAL(rh), TSR_ARG_VAL(v)};
      st = launch2(d, K_ERASE, 8, a, rw, rh);
    } else {
      cl_ulong npx = (cl_ulong)w * (cl_ulong)h;
      if (p->kind == TSR_AUGP_CONTRAST) {
        tsr__cl_arg a[5] = {TSR_ARG_BUF(img), TSR_ARG_VAL(w), TSR_ARG_VAL(h), TSR_ARG_VAL(ch), TSR_ARG_BUF(d->b[B_ROWS])};
        st = launch1(d, K_ROWSUM, 5, a, (size_t)h);
        if (!st) {
          tsr__cl_arg m[4] = {TSR_ARG_BUF(d->b[B_ROWS]), TSR_ARG_VAL(h), TSR_ARG_VAL(npx), TSR_ARG_BUF(d->b[B_MEAN])};
          st = launch1(d, K_MEAN, 4, m, 1);
        }
      }
      int kind = p->kind, av = p->a;
      tsr__cl_arg a[6] = {TSR_ARG_BUF(img),  TSR_ARG_VAL(npx), TSR_ARG_VAL(ch),
                          TSR_ARG_VAL(kind), TSR_ARG_VAL(av),  TSR_ARG_BUF(d->b[B_MEAN])};
      if (!st) st = launch1(d, K_POINT, 6, a, (size_t)npx);
    }
  }
  return st;
}

tsr_status tsr__aug_run_cl(tsr_context *ctx, const tsr__aug_exec *e, const uint8_t *src, uint8_t *out) {
  dev d;
  memset(&d, 0, sizeof d);
  d.ctx = ctx;
  int ch = e->ch;
  size_t in_bytes = (size_t)e->in_w * e->in_h * ch, ob = (size_t)e->out_w * e->out_h * ch;
  size_t big = in_bytes > ob ? in_bytes : ob;
  int rows = e->in_h > e->out_h ? e->in_h : e->out_h;
  tsr_status st = TSR_OK;
  for (int i = 0; i < K_COUNT && !st; i++) st = tsr__cl_kernel(ctx, "augment.cl", kname[i], &d.k[i], NULL, NULL);
  size_t sz[B_COUNT] = {in_bytes, in_bytes, ob, 2 * big, (size_t)rows * 8, 8,
                        sizeof(int32_t) * (2 * TSR_AUG_BLUR_MAX_R + 1)};
  for (int i = 0; i < B_COUNT && !st; i++) st = tsr__buf_alloc(ctx, "augment", TSR_BUF_RW, sz[i], &d.b[i]);
  if (!st) st = tsr__cl_write(ctx, 0, d.b[B_SRC], 0, in_bytes, src, 1, NULL, NULL);
  tsr__buf *in = d.b[B_SRC];
  if (!st && e->npre) {
    st = tsr__cl_write(ctx, 0, d.b[B_WORK], 0, in_bytes, src, 1, NULL, NULL);
    if (!st) st = run_pix(&d, e->pre, e->npre, d.b[B_WORK], e->in_w, e->in_h, ch);
    in = d.b[B_WORK];
  }
  /* the resample (with no geometric op the map is the identity, whose
   * samples are the pixels themselves, as the CPU's copy) */
  if (!st) {
    cl_long q[6];
    for (int c = 0; c < 6; c++) q[c] = e->q[c];
    int iw = e->in_w, ih = e->in_h, mode = e->interp, sub = e->sub, border = e->border, fill = e->fill;
    int ow = e->out_w, oh = e->out_h;
    tsr__cl_arg a[17] = {TSR_ARG_BUF(in),     TSR_ARG_VAL(iw),   TSR_ARG_VAL(ih),         TSR_ARG_VAL(ch),
                         TSR_ARG_VAL(q[0]),   TSR_ARG_VAL(q[1]), TSR_ARG_VAL(q[2]),       TSR_ARG_VAL(q[3]),
                         TSR_ARG_VAL(q[4]),   TSR_ARG_VAL(q[5]), TSR_ARG_VAL(mode),       TSR_ARG_VAL(sub),
                         TSR_ARG_VAL(border), TSR_ARG_VAL(fill), TSR_ARG_BUF(d.b[B_DST]), TSR_ARG_VAL(ow),
                         TSR_ARG_VAL(oh)};
    st = launch2(&d, K_WARP, 17, a, ow, oh);
  }
  if (!st) st = run_pix(&d, e->post, e->npost, d.b[B_DST], e->out_w, e->out_h, ch);
  if (!st) st = tsr__cl_read(ctx, 0, d.b[B_DST], 0, ob, out, 1, NULL, NULL);
  if (st) tsr__cl_finish(ctx, 0);
  for (int i = 0; i < B_COUNT; i++) tsr__buf_free(ctx, d.b[i]);
  return st;
}
