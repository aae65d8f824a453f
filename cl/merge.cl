/* OpenCL wrapper around tsr_merge_pixel(): one work-item per panorama pixel. */
#include "merge.h"

__kernel void tsr_merge(__global const uchar *views, __global const tsr_view_desc *vd,
                        __global const tsr_src_desc *pano, __global uchar *dst) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= pano->width || y >= pano->height) return;
  tsr_merge_pixel(views, vd, pano, dst, x, y);
}
