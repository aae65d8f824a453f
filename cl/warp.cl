/* OpenCL wrapper around tsr_warp_pixel(): one work-item per output pixel,
 * dimension 2 runs over (batch item, view). */
#include "warp.h"

__kernel void tsr_warp(__global const uchar *src, __global const tsr_src_desc *s,
                       __global const tsr_view_desc *views, __global uchar *dst) {
  int x = get_global_id(0), y = get_global_id(1), iv = get_global_id(2);
  int item = iv / s->nviews, v = iv % s->nviews;
  __global const tsr_view_desc *view = views + v;
  if (x >= view->width || y >= view->height) return;
  tsr_warp_pixel(src + (ulong)item * s->item_bytes, s, view,
                 dst + (ulong)item * s->dst_item_bytes + view->dst_offset, x, y);
}
