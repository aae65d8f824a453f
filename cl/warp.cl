/* OpenCL wrappers around cl/warp.h.
 *
 * tsr_warp: one work-item per output pixel of a view, for every item of a
 * batch; dimension 2 over the views, all views of a batch in one launch.
 * Rows [row0, row0 + rows) of every view: the position data holds those
 * rows only (a tile), view v's starting at views[v].pos_offset. Descriptors are in __constant, the taps
 * tables are program-scope __constant, and neighbouring work-items read
 * neighbouring position pairs. */
#include "warp.h"

/* tsr_bilinear8_inside's sums for 3 channels with vector loads and
 * arithmetic (a tap row's two pixels in one 8-byte load; the same integer
 * formula, so the same bytes), which PoCL and GPUs turn into fewer
 * instructions. Returns 0, writing nothing, where a tap or the 8 bytes read
 * from a tap row would lie outside the image. */
TSR_INLINE int bilinear8_vec(__global const uchar *img, int w, int h, int stride, int X, int Y, __global uchar *row,
                             int x) {
  int x0 = X >> 8, y0 = Y >> 8;
  if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h ||
      (ulong)(y0 + 1) * (ulong)stride + (ulong)(x0 * 3) + 8 > (ulong)stride * (ulong)h)
    return 0;
  uint ax = (uint)X & 255, ay = (uint)Y & 255;
  __global const uchar *p = img + (ulong)(uint)y0 * (ulong)(uint)stride + (ulong)(uint)(x0 * 3);
  uint8 a = convert_uint8(vload8(0, p)), b = convert_uint8(vload8(0, p + stride));
  uint3 top = a.s012 * (256 - ax) + a.s345 * ax, bot = b.s012 * (256 - ax) + b.s345 * ax;
  vstore3(convert_uchar3((top * (256 - ay) + bot * ay + 32768) >> 16), x, row);
  return 1;
}

/* Output pixel x of one item's view from its position P (and footprint
 * ew x eh in area mode): img is the item's level, row its output row. */
TSR_INLINE void warp_one(__global const uchar *img, int w, int h, int stride, int ch, int depth, int border,
                         int mode, int2 P, int ew, int eh, __global uchar *row, int x) {
  uint val[4];
  /* the inside paths with constant channel counts, so their loops unroll */
  /* (with alpha, 2 or 4 channels, the inside paths decline: premultiplied
   * sums in tsr_warp_sample) */
  if (depth == 8 && mode == TSR_MODE_BILINEAR &&
      (ch == 3 ? bilinear8_vec(img, w, h, stride, P.x, P.y, row, x)
               : tsr_bilinear8_inside(img, w, h, stride, ch, P.x, P.y, row, x)))
    return;
  if (depth == 8 && mode == TSR_MODE_NEAREST &&
      (ch == 3   ? tsr_nearest8_inside(img, w, h, stride, 3, P.x, P.y, row, x)
       : ch == 4 ? tsr_nearest8_inside(img, w, h, stride, 4, P.x, P.y, row, x)
                 : tsr_nearest8_inside(img, w, h, stride, ch, P.x, P.y, row, x)))
    return;
  /* The common formats and modes with constant channels, depth and mode,
   * so the compiler unrolls their loops; the same function throughout. */
#define TSR_SAMPLE(C, D, M)                                                                   \
  {                                                                                           \
    tsr_warp_sample(img, w, h, stride, C, D, border, M, P.x, P.y, ew, eh, val);               \
    tsr_warp_store(row, D, C, x, val);                                                        \
    return;                                                                                   \
  }
#define TSR_MODES(C)                                                                          \
  {                                                                                           \
    if (mode == TSR_MODE_BILINEAR) TSR_SAMPLE(C, 8, TSR_MODE_BILINEAR)                        \
    if (mode == TSR_MODE_NEAREST) TSR_SAMPLE(C, 8, TSR_MODE_NEAREST)                          \
    if (mode == TSR_MODE_BICUBIC) TSR_SAMPLE(C, 8, TSR_MODE_BICUBIC)                          \
    if (mode == TSR_MODE_LANCZOS3) TSR_SAMPLE(C, 8, TSR_MODE_LANCZOS3)                        \
    TSR_SAMPLE(C, 8, mode)                                                                    \
  }
  if (depth == 8) {
    if (ch == 3) TSR_MODES(3)
    if (ch == 4) TSR_MODES(4)
    if (ch == 1) TSR_MODES(1)
  }
  TSR_SAMPLE(ch, depth, mode)
}

/* Pixel (x, y) of view get_global_id(2) of each of the batch's items: the
 * position is read once and sampled in every item. */
__kernel void tsr_warp(__global const uchar *src, __constant tsr_warp_src *s, __constant tsr_warp_vdesc *views,
                       __global const int *pos, __global const ushort *ext, __global uchar *dst, int row0,
                       int rows, int items) {
  int x = get_global_id(0), y = get_global_id(1);
  __constant tsr_warp_vdesc *vw = views + get_global_id(2);
  if (y >= rows) return; /* the global size is rounded up to the work-group's */
  if (y + row0 >= vw->height || x >= vw->width) return;
  ulong i = vw->pos_offset + (ulong)y * (ulong)vw->width + (ulong)x;
  int2 P = vload2(i, pos);
  int ew = 0, eh = 0, mode = vw->mode, lv = vw->level;
  if (mode == TSR_MODE_AREA) {
    ushort2 E = vload2(vw->ext_offset + (ulong)y * (ulong)vw->width + (ulong)x, ext);
    ew = E.x;
    eh = E.y;
  }
  __global const uchar *img = src + s->level_offset[lv];
  __global uchar *row = dst + vw->dst_offset + (ulong)(y + row0) * (ulong)vw->stride;
  for (int item = 0; item < items; item++)
    warp_one(img + (ulong)item * s->item_bytes, s->level_w[lv], s->level_h[lv], s->level_stride[lv], s->channels,
             s->depth, s->border, mode, P, ew, eh, row + (ulong)item * s->dst_item_bytes, x);
}

/* Level k + 1 of every item of a batch from level k. */
__kernel void tsr_pyr_down(__global uchar *src, __constant tsr_warp_src *s, int k) {
  int x = get_global_id(0), y = get_global_id(1), item = get_global_id(2);
  if (x >= s->level_w[k + 1] || y >= s->level_h[k + 1]) return;
  __global uchar *base = src + (ulong)item * s->item_bytes;
  tsr_pyr_pixel(base + s->level_offset[k], s->level_w[k], s->level_h[k], s->level_stride[k],
                base + s->level_offset[k + 1], s->level_stride[k + 1], s->channels, s->depth, x, y);
}
