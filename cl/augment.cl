/* tessera augment's kernels: thin wrappers around cl/augment.h, launched
 * per copy by src/ops/augment_cl.c in the order of the CPU loops
 * (cpu/augment_cpu.c): the pixel ops before the geometry on a copy of the
 * input, the one resample, the pixel ops after it. Images are packed
 * 8-bit, ch channels. */
#include "augment.h"

__kernel void tsr_aug_warp(__global const uchar *src, int w, int h, int ch, long q0, long q1, long q2, long q3,
                           long q4, long q5, int mode, int sub, int border, int fill, __global uchar *dst, int ow,
                           int oh) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= ow || y >= oh) return;
  tsr_aug_sample(src, w, h, ch, q0, q1, q2, q3, q4, q5, mode, sub, border, fill, x, y,
                 dst + ((long)y * ow + x) * ch);
}

/* Per row: the sum of the row's luma (contrast's mean). */
__kernel void tsr_aug_rowsum(__global const uchar *img, int w, int h, int ch, __global ulong *rows) {
  int y = get_global_id(0);
  if (y >= h) return;
  __global const uchar *p = img + (long)y * w * ch;
  ulong s = 0;
  for (int x = 0; x < w; x++, p += ch) s += ch >= 3 ? (ulong)tsr_luma8(p[0], p[1], p[2]) : (ulong)p[0];
  rows[y] = s;
}

/* One work-item: the mean luma, rounded half up, from the row sums. */
__kernel void tsr_aug_mean(__global const ulong *rows, int h, ulong npx, __global int *mean) {
  if (get_global_id(0) != 0) return;
  ulong s = 0;
  for (int y = 0; y < h; y++) s += rows[y];
  mean[0] = (int)((s + npx / 2) / npx);
}

__kernel void tsr_aug_point_kernel(__global uchar *img, ulong npx, int ch, int kind, int a, __global const int *mean) {
  ulong i = get_global_id(0);
  if (i >= npx) return;
  tsr_aug_point(kind, a, kind == TSR_AUGP_CONTRAST ? mean[0] : 0, ch, img + i * (ulong)ch);
}

__kernel void tsr_aug_blur_h_kernel(__global const uchar *img, int w, int h, int ch, __constant int *taps, int r,
                                    __global ushort *tmp) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= w || y >= h) return;
  int nc = ch >= 3 ? 3 : 1;
  for (int c = 0; c < nc; c++) tmp[((long)y * w + x) * ch + c] = tsr_aug_blur_h(img, w, ch, x, y, c, taps, r);
}

__kernel void tsr_aug_blur_v_kernel(__global const ushort *tmp, int w, int h, int ch, __constant int *taps, int r,
                                    __global uchar *img) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= w || y >= h) return;
  int nc = ch >= 3 ? 3 : 1;
  for (int c = 0; c < nc; c++) img[((long)y * w + x) * ch + c] = tsr_aug_blur_v(tmp, w, h, ch, x, y, c, taps, r);
}

__kernel void tsr_aug_erase(__global uchar *img, int w, int ch, int x0, int y0, int rw, int rh, int value) {
  int x = get_global_id(0), y = get_global_id(1);
  if (x >= rw || y >= rh) return;
  int nc = ch >= 3 ? 3 : 1;
  __global uchar *p = img + ((long)(y0 + y) * w + x0 + x) * ch;
  for (int c = 0; c < nc; c++) p[c] = (uchar)value;
}
