/* OpenCL wrappers around cl/warp.h.
 *
 * tsr_warp: one work-item per output pixel, dimension 2 over (batch item,
 * view), all views of a batch in one launch. Rows [row0, row0 + rows) of
 * every view: the position data holds those rows only (a tile), view v's
 * starting at views[v].pos_offset. Descriptors are in __constant, the taps
 * tables are program-scope __constant, and neighbouring work-items read
 * neighbouring position pairs. */
#include "warp.h"

__kernel void tsr_warp(__global const uchar *src, __constant tsr_warp_src *s, __constant tsr_warp_vdesc *views,
                       __global const int *pos, __global const ushort *ext, __global uchar *dst, int row0) {
  int x = get_global_id(0), y = get_global_id(1), iv = get_global_id(2);
  int item = iv / s->nviews, v = iv - item * s->nviews;
  __constant tsr_warp_vdesc *vw = views + v;
  if (x >= vw->width || y + row0 >= vw->height) return;
  ulong i = vw->pos_offset + (ulong)y * (ulong)vw->width + (ulong)x;
  int2 P = vload2(i, pos);
  int ew = 0, eh = 0;
  int mode = vw->mode, lv = vw->level, ch = s->channels, depth = s->depth;
  if (mode == TSR_MODE_AREA) {
    ushort2 E = vload2(vw->ext_offset + (ulong)y * (ulong)vw->width + (ulong)x, ext);
    ew = E.x;
    eh = E.y;
  }
  uint val[4];
  tsr_warp_sample(src + (ulong)item * s->item_bytes + s->level_offset[lv], s->level_w[lv], s->level_h[lv],
                  s->level_stride[lv], ch, depth, s->border, mode, P.x, P.y, ew, eh, val);
  tsr_warp_store(dst + (ulong)item * s->dst_item_bytes + vw->dst_offset + (ulong)(y + row0) * (ulong)vw->stride,
                 depth, ch, x, val);
}

/* Level k + 1 of every item of a batch from level k. */
__kernel void tsr_pyr_down(__global uchar *src, __constant tsr_warp_src *s, int k) {
  int x = get_global_id(0), y = get_global_id(1), item = get_global_id(2);
  if (x >= s->level_w[k + 1] || y >= s->level_h[k + 1]) return;
  __global uchar *base = src + (ulong)item * s->item_bytes;
  tsr_pyr_pixel(base + s->level_offset[k], s->level_w[k], s->level_h[k], s->level_stride[k],
                base + s->level_offset[k + 1], s->level_stride[k + 1], s->channels, s->depth, x, y);
}
