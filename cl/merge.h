/* The reverse of the split: one equirectangular pixel from the views that
 * see its direction, blended with feathered weights (a tent falling to
 * zero at each view's edges), so seams between overlapping views vanish.
 * The only implementation; cpu/merge_cpu.c is a loop around it.
 *
 * Views are packed one after another in one buffer; each tsr_view_desc
 * holds its geometry as for TSR_KIND_EQUIRECT (p[0..8] camera-to-world
 * rotation, p[9..12] fx, fy, cx, cy), its size, row stride, and in
 * dst_offset where its pixels start. The panorama's tsr_src_desc gives its
 * size and the views' channels and depth. */
#ifndef TSR_MERGE_H
#define TSR_MERGE_H
#include "tsr_compat.h"
#include "tsr_types.h"

TSR_INLINE float tsr_merge_fetch(TSR_GLOBAL const tsr_u8 *img, TSR_GLOBAL const tsr_view_desc *v, tsr_i32 depth,
                                 tsr_i32 ch, tsr_i32 x, tsr_i32 y, tsr_i32 c) {
  x = tsr_clampi(x, 0, v->width - 1);
  y = tsr_clampi(y, 0, v->height - 1);
  TSR_GLOBAL const tsr_u8 *row = img + (tsr_u64)y * (tsr_u64)v->stride;
  if (depth == 16) return (float)((TSR_GLOBAL const tsr_u16 *)row)[x * ch + c];
  return (float)row[x * ch + c];
}

/* Output pixel (x, y): the views' channels, then coverage alpha (full where
 * any view sees the direction, zero elsewhere). Views with an alpha channel
 * blend it like a colour (their colours premultiplied by it) and it is
 * then scaled by coverage. dst holds
 * out_ch = channels (+1 when the views have no alpha) samples per pixel. */
TSR_INLINE void tsr_merge_pixel(TSR_GLOBAL const tsr_u8 *views, TSR_GLOBAL const tsr_view_desc *vd,
                                TSR_GLOBAL const tsr_src_desc *pano, TSR_GLOBAL tsr_u8 *dst, tsr_i32 x, tsr_i32 y) {
  const float pi = 3.14159265358979f;
  float lon = ((float)x + 0.5f) / (float)pano->width * 2.0f * pi - pi;
  float lat = 0.5f * pi - ((float)y + 0.5f) / (float)pano->height * pi;
  float d0 = tsr_cosf(lat) * tsr_sinf(lon), d1 = tsr_sinf(lat), d2 = tsr_cosf(lat) * tsr_cosf(lon);
  tsr_i32 ch = pano->channels, depth = pano->depth;
  tsr_i32 has_alpha = ch == 2 || ch == 4, out_ch = has_alpha ? ch : ch + 1;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f}, wsum = 0.0f;
  for (tsr_i32 k = 0; k < pano->nviews; k++) {
    TSR_GLOBAL const tsr_view_desc *v = vd + k;
    TSR_GLOBAL const float *p = v->p;
    /* Camera coordinates: R^T d. */
    float cx = p[0] * d0 + p[3] * d1 + p[6] * d2;
    float cy = p[1] * d0 + p[4] * d1 + p[7] * d2;
    float cz = p[2] * d0 + p[5] * d1 + p[8] * d2;
    if (cz <= 1e-6f) continue;
    float px = p[11] + p[9] * cx / cz, py = p[12] - p[10] * cy / cz;
    float w = (float)v->width, h = (float)v->height;
    if (px < 0.0f || py < 0.0f || px > w || py > h) continue;
    float wt = tsr_fminf(px, w - px) / (0.5f * w) * (tsr_fminf(py, h - py) / (0.5f * h));
    if (wt <= 0.0f) continue;
    float fx = px - 0.5f, fy = py - 0.5f, x0f = tsr_floorf(fx), y0f = tsr_floorf(fy);
    float ax = fx - x0f, ay = fy - y0f;
    tsr_i32 x0 = (tsr_i32)x0f, y0 = (tsr_i32)y0f;
    TSR_GLOBAL const tsr_u8 *img = views + v->dst_offset;
    /* With alpha (the last channel) the colours blend premultiplied, so a
     * transparent pixel's colour does not bleed into its neighbours. */
    float al[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    if (has_alpha)
      for (tsr_i32 q = 0; q < 4; q++) al[q] = tsr_merge_fetch(img, v, depth, ch, x0 + (q & 1), y0 + (q >> 1), ch - 1);
    for (tsr_i32 c = 0; c < ch; c++) {
      float m0 = has_alpha && c < ch - 1 ? al[0] : 1.0f, m1 = has_alpha && c < ch - 1 ? al[1] : 1.0f;
      float m2 = has_alpha && c < ch - 1 ? al[2] : 1.0f, m3 = has_alpha && c < ch - 1 ? al[3] : 1.0f;
      float a = m0 * tsr_merge_fetch(img, v, depth, ch, x0, y0, c), b = m1 * tsr_merge_fetch(img, v, depth, ch, x0 + 1, y0, c);
      float e = m2 * tsr_merge_fetch(img, v, depth, ch, x0, y0 + 1, c);
      float f = m3 * tsr_merge_fetch(img, v, depth, ch, x0 + 1, y0 + 1, c);
      float top = a + (b - a) * ax, bot = e + (f - e) * ax;
      acc[c] += wt * (top + (bot - top) * ay);
    }
    wsum += wt;
  }
  float maxv = depth == 16 ? 65535.0f : 255.0f;
  tsr_u64 base = ((tsr_u64)y * (tsr_u64)pano->width + (tsr_u64)x) * (tsr_u64)out_ch;
  for (tsr_i32 c = 0; c < out_ch; c++) {
    float val;
    if (wsum <= 0.0f) val = 0.0f;
    else if (has_alpha && c < ch - 1) val = acc[ch - 1] > 0.0f ? acc[c] / acc[ch - 1] : 0.0f; /* un-premultiplied */
    else if (c < ch) val = acc[c] / wsum;
    else val = maxv;
    val = tsr_floorf(tsr_fminf(tsr_fmaxf(val, 0.0f), maxv) + 0.5f);
    if (depth == 16) ((TSR_GLOBAL tsr_u16 *)dst)[base + (tsr_u64)c] = (tsr_u16)val;
    else dst[base + (tsr_u64)c] = (tsr_u8)val;
  }
}

#endif
