/* The stereo matcher's kernels: thin wrappers around cl/stereo.h, one
 * tile at a time (src/ops/stereo_cl.c launches them in this order):
 * census of the region's left pixels and of the right columns it reads,
 * costs, one launch per path direction (a work-group per line of that
 * direction walks it, its work-items sharing the disparities; the first
 * direction sets the sums, the others add), the left winners, the right image's map from them, the left
 * disparities with the checks, the median. The values are those of the CPU loops. */
#include "stereo.h"

__kernel void tsr_stereo_census(__global const uchar *img, int width, int height, int stride, int x0, int y0, int w,
                                int h, __global ulong *out) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= w || y >= h) return;
  out[(long)y * w + x] = tsr_census(img, width, height, stride, x0 + x, y0 + y);
}

__kernel void tsr_stereo_costs(__global const ulong *censl, __global const ulong *censr,
                               __global const tsr_stereo_desc *d, __global uchar *cost) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= d->w || y >= d->h) return;
  __global const ulong *crow = censr + (long)y * d->rw;
  __global uchar *c = cost + ((long)y * d->w + x) * d->ndp;
  ulong l = censl[(long)y * d->w + x];
  for (int k = 0; k < d->nd; k++) c[k] = tsr_stereo_cost(l, crow, d->rx0, d->width, d->x0 + x, d->dmin + k);
  for (int k = d->nd; k < d->ndp; k++) c[k] = 0;
}

/* Line `i` of direction (dx, dy), one work-group per line, its
 * work-items sharing the disparities: the line's first pixel is one whose
 * predecessor (x - dx, y - dy) lies outside the region. The previous
 * pixel's values (a sentinel before and after the nd values) and this
 * pixel's are in local memory; each step's minimum over the disparities
 * is an atomic minimum in one of three rotating local slots: step s
 * fills slot s % 3 and resets slot (s + 1) % 3, which every work-item
 * read after barrier s - 2 and which step s + 1 fills after barrier s, so
 * one barrier per step orders everything. The values are those of the CPU loops
 * (tsr_sgm_cell); the minimum does not depend on the order. */
__kernel void tsr_stereo_path(__global const uchar *cost, __global ushort *sum, __global const uchar *img, int stride,
                              __global const tsr_stereo_desc *d, int dx, int dy, int add, __local ushort *lbuf,
                              __local int *lmin) {
  int i = get_group_id(0), lid = get_local_id(0), lsz = get_local_size(0), w = d->w, h = d->h;
  int x, y;
  if (dy == 0) {
    x = dx > 0 ? 0 : w - 1;
    y = i;
  } else if (i < w) {
    x = i;
    y = dy > 0 ? 0 : h - 1;
  } else {
    int j = i - w + 1;
    x = dx > 0 ? 0 : w - 1;
    y = dy > 0 ? j : h - 1 - j;
  }
  int ndp = d->ndp, nd = d->nd, slot = ndp + 2;
  for (int k = lid; k < 2 * slot; k += lsz) lbuf[k] = TSR_SGM_SENTINEL;
  for (int k = lid; k < 3; k += lsz) lmin[k] = TSR_SGM_SENTINEL;
  barrier(CLK_LOCAL_MEM_FENCE);
  __local ushort *prev = lbuf + 1, *cur = lbuf + slot + 1;
  int m = 0, has_prev = 0, px = 0, py = 0, step = 0;
  while (x >= 0 && x < w && y >= 0 && y < h) {
    long o = ((long)y * w + x) * ndp;
    int p2 = d->p2;
    if (has_prev)
      p2 = tsr_sgm_p2(d->p1, d->p2, img[(long)(d->y0 + y) * stride + d->x0 + x],
                      img[(long)(d->y0 + py) * stride + d->x0 + px]);
    int mine = TSR_SGM_SENTINEL;
    for (int k = lid; k < nd; k += lsz) {
      int v = has_prev ? tsr_sgm_cell(cost[o + k], prev[k - 1], prev[k], prev[k + 1], m, d->p1, p2) : (int)cost[o + k];
      cur[k] = (ushort)v;
      sum[o + k] = (ushort)(add ? sum[o + k] + v : v);
      mine = v < mine ? v : mine;
    }
    atomic_min(&lmin[step % 3], mine);
    /* the next step's slot: last read two barriers ago, next written
     * after this barrier */
    if (lid == 0) lmin[(step + 1) % 3] = TSR_SGM_SENTINEL;
    barrier(CLK_LOCAL_MEM_FENCE);
    m = lmin[step % 3];
    __local ushort *t = prev;
    prev = cur;
    cur = t;
    has_prev = 1;
    px = x;
    py = y;
    x += dx;
    y += dy;
    step++;
  }
}

/* Each pixel's winner index and best sum, for the right image's map. */
__kernel void tsr_stereo_winners(__global const ushort *sum, __global const tsr_stereo_desc *d, __global short *best,
                                 __global ushort *smin) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= d->w || y >= d->h) return;
  tsr_stereo_win win = tsr_stereo_winner(sum + ((long)y * d->w + x) * d->ndp, d->nd, d->uniqueness);
  best[(long)y * d->w + x] = (short)win.best;
  smin[(long)y * d->w + x] = (ushort)win.smin;
}

__kernel void tsr_stereo_right(__global const short *best, __global const ushort *smin,
                               __global const tsr_stereo_desc *d, __global short *dispr) {
  int xr = get_global_id(0), y = get_global_id(1);
  if (xr >= d->rw || y >= d->h) return;
  dispr[(long)y * d->rw + xr] = (short)tsr_stereo_right_from_left(best + (long)y * d->w, smin + (long)y * d->w, d->nd,
                                                                   d->dmin, d->x0, d->w, d->rx0 + xr);
}

__kernel void tsr_stereo_finish_kernel(__global const ushort *sum, __global const tsr_stereo_desc *d,
                                __global const short *dispr, __global short *raw, __global uchar *conf) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= d->w || y >= d->h) return;
  __global const ushort *s = sum + ((long)y * d->w + x) * d->ndp;
  tsr_stereo_win win = tsr_stereo_winner(s, d->nd, d->uniqueness);
  conf[(long)y * d->w + x] = (uchar)tsr_stereo_conf(win);
  raw[(long)y * d->w + x] = (short)tsr_stereo_finish(s, win, d->nd, d->dmin, d->lr_max, d->x0 + x, d->width,
                                                     dispr + (long)y * d->rw, d->rx0, d->rw);
}

__kernel void tsr_stereo_median(__global const short *raw, __global const tsr_stereo_desc *d, __global short *out) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= d->w || y >= d->h) return;
  out[(long)y * d->w + x] = (short)tsr_stereo_median_at(raw, d->w, d->h, x, y);
}
