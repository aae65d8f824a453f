/* The picture a user wants before committing to a rig: each view's
 * footprint drawn as a coloured outline on the panorama, numbered at its
 * centre (1 = the rig's first view). Outlines are the views' edge pixels
 * sent through the shared coordinate function, so they show exactly what
 * the split samples, seam and poles included. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "warp.h"
#include "ops/warp_impl.h"

/* 3x5 digits, one row per 3 bits. */
static const uint8_t k_digits[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                         {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                         {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};

static void put(tsr_image *im, int x, int y, const uint8_t rgb[3]) {
  x = ((x % im->width) + im->width) % im->width;
  if (y < 0 || y >= im->height) return;
  memcpy(im->data + (size_t)y * im->stride + (size_t)x * 3, rgb, 3);
}

static void dot(tsr_image *im, int x, int y, int r, const uint8_t rgb[3]) {
  for (int dy = -r; dy <= r; dy++)
    for (int dx = -r; dx <= r; dx++) put(im, x + dx, y + dy, rgb);
}

static void number(tsr_image *im, int cx, int cy, int n, int scale, const uint8_t rgb[3]) {
  char s[8];
  int len = snprintf(s, sizeof s, "%d", n);
  int w = (len * 4 - 1) * scale, x0 = cx - w / 2, y0 = cy - 5 * scale / 2;
  static const uint8_t black[3] = {0, 0, 0};
  for (int y = -scale; y < 6 * scale; y++)
    for (int x = -scale; x < w + scale; x++) put(im, x0 + x, y0 + y, black);
  for (int i = 0; i < len; i++)
    for (int r = 0; r < 5; r++)
      for (int c = 0; c < 3; c++)
        if (k_digits[s[i] - '0'][r] & (4 >> c))
          for (int dy = 0; dy < scale; dy++)
            for (int dx = 0; dx < scale; dx++) put(im, x0 + (i * 4 + c) * scale + dx, y0 + r * scale + dy, rgb);
}

tsr_status tsr_rig_coverage(tsr_context *ctx, const tsr_rig *rig, const tsr_image *pano, tsr_image **out) {
  *out = NULL;
  if (!rig || !pano || pano->depth != 8 || (pano->channels != 3 && pano->channels != 1))
    return tsr__fail(ctx, TSR_E_UNSUPPORTED, "rig show --on: the panorama must be 8-bit gray or RGB");
  tsr_image *im;
  if (tsr_image_create(pano->width, pano->height, 3, 8, &im)) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  for (int y = 0; y < pano->height; y++)
    for (int x = 0; x < pano->width; x++) {
      const uint8_t *s = pano->data + (size_t)y * pano->stride + (size_t)x * (size_t)pano->channels;
      uint8_t *d = im->data + (size_t)y * im->stride + (size_t)x * 3;
      for (int c = 0; c < 3; c++) d[c] = (uint8_t)((pano->channels == 3 ? s[c] : s[0]) * 3 / 4); /* dimmed */
    }
  int thick = pano->width / 1500, scale = pano->width / 400 > 2 ? pano->width / 400 : 2;
  for (int i = 0; i < rig->nviews; i++) {
    const tsr_rig_view *rv = &rig->views[i];
    /* Well-spread hues: golden-angle steps. */
    double h = i * 137.508;
    h -= 360.0 * (int)(h / 360.0);
    double f = h / 60.0 - (int)(h / 60.0);
    uint8_t q = (uint8_t)(255 * (1 - f)), t = (uint8_t)(255 * f);
    uint8_t rgb[3];
    switch ((int)(h / 60.0)) {
    case 0: rgb[0] = 255, rgb[1] = t, rgb[2] = 0; break;
    case 1: rgb[0] = q, rgb[1] = 255, rgb[2] = 0; break;
    case 2: rgb[0] = 0, rgb[1] = 255, rgb[2] = t; break;
    case 3: rgb[0] = 0, rgb[1] = q, rgb[2] = 255; break;
    case 4: rgb[0] = t, rgb[1] = 0, rgb[2] = 255; break;
    default: rgb[0] = 255, rgb[1] = 0, rgb[2] = q; break;
    }
    tsr_warp_view wv;
    tsr_view_equirect(&wv, rv->width, rv->height, rv->yaw, rv->pitch, rv->roll, rv->hfov);
    int steps = 4 * (rv->width + rv->height);
    for (int k = 0; k < steps; k++) {
      double x, y, u, v;
      int e = k * 4 / steps;
      double a = (double)(k - e * steps / 4) / (double)(steps / 4);
      if (e == 0) x = a * rv->width, y = 0;
      else if (e == 1) x = rv->width, y = a * rv->height;
      else if (e == 2) x = (1 - a) * rv->width, y = rv->height;
      else x = 0, y = (1 - a) * rv->height;
      tsr_view_coord(wv.p, wv.kind, im->width, im->height, x, y, &u, &v);
      dot(im, (int)u, (int)v, thick, rgb);
    }
    double u, v;
    tsr_view_coord(wv.p, wv.kind, im->width, im->height, 0.5 * rv->width, 0.5 * rv->height, &u, &v);
    number(im, (int)u, (int)v, i + 1, scale, rgb);
  }
  *out = im;
  return TSR_OK;
}
