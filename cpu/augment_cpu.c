/* tessera augment's CPU loops: one copy of one item on the calling thread
 * (the job runs items in parallel). Every value comes from cl/augment.h's
 * per-pixel code or from loops that compute the same integers (the
 * bilinear path below), so the CPU and OpenCL backends write the same
 * bytes. */
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "ops/augment_ops.h"

static uint8_t *scratch(tsr__aug_scratch *w, size_t bytes) {
  if (w->cap < bytes) {
    uint8_t *b = realloc(w->buf, bytes);
    if (!b) return NULL;
    w->buf = b;
    w->cap = bytes;
  }
  return w->buf;
}

/* Mean luma (rounded half up) of a w x h image: contrast's centre. */
static int32_t mean_luma(const uint8_t *img, int w, int h, int ch) {
  uint64_t sum = 0, n = (uint64_t)w * (uint64_t)h;
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *p = img + i * (uint64_t)ch;
    sum += ch >= 3 ? (uint64_t)tsr_luma8(p[0], p[1], p[2]) : p[0];
  }
  return (int32_t)((sum + n / 2) / n);
}

/* The pixel ops of a list, in order, in place on a w x h image; tmp holds
 * w * h * ch 16-bit values for the blur. */
static void run_pix(const tsr__aug_pix *list, int n, uint8_t *img, int w, int h, int ch, uint16_t *tmp) {
  size_t npx = (size_t)w * (size_t)h;
  int nc = ch >= 3 ? 3 : 1;
  for (int k = 0; k < n; k++) {
    const tsr__aug_pix *p = &list[k];
    if (p->kind == TSR_AUGP_BLUR) {
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < nc; c++)
            tmp[((size_t)y * w + x) * ch + c] = tsr_aug_blur_h(img, w, ch, x, y, c, p->taps, p->a);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < nc; c++) img[((size_t)y * w + x) * ch + c] = tsr_aug_blur_v(tmp, w, h, ch, x, y, c, p->taps, p->a);
    } else if (p->kind == TSR_AUGP_ERASE) {
      for (int y = p->rect[1]; y < p->rect[1] + p->rect[3] && y < h; y++)
        for (int x = p->rect[0]; x < p->rect[0] + p->rect[2] && x < w; x++)
          for (int c = 0; c < nc; c++) img[((size_t)y * w + x) * ch + c] = (uint8_t)p->a;
    } else {
      int32_t b = p->kind == TSR_AUGP_CONTRAST ? mean_luma(img, w, h, ch) : 0;
      for (size_t i = 0; i < npx; i++) tsr_aug_point(p->kind, p->a, b, ch, img + i * (size_t)ch);
    }
  }
}

/* Bilinear, every tap inside: tsr_aug_sample's sums, written out for 1 to
 * 4 channels. Returns 0 (writing nothing) when a tap falls outside. */
static int bilinear_inside(const tsr__aug_exec *e, const uint8_t *src, int x, int y, uint8_t *out) {
  int n = 1 << e->sub, ch = e->ch, w = e->in_w;
  int64_t acc[4] = {0, 0, 0, 0};
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) {
      int32_t X = tsr_aug_pos(e->q[0], e->q[1], e->q[2], x, y, i, j, e->sub);
      int32_t Y = tsr_aug_pos(e->q[3], e->q[4], e->q[5], x, y, i, j, e->sub);
      int x0 = X >> 8, y0 = Y >> 8;
      if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= e->in_h) return 0;
      uint32_t fx = (uint32_t)X & 255, fy = (uint32_t)Y & 255;
      const uint8_t *p = src + ((size_t)y0 * w + x0) * ch, *q = p + (size_t)w * ch;
      for (int c = 0; c < ch; c++) {
        uint32_t top = p[c] * (256 - fx) + p[ch + c] * fx, bot = q[c] * (256 - fx) + q[ch + c] * fx;
        acc[c] += (int64_t)(top * (256 - fy) + bot * fy);
      }
    }
  int sh = 16 + 2 * e->sub;
  for (int c = 0; c < ch; c++) out[c] = (uint8_t)((acc[c] + ((int64_t)1 << (sh - 1))) >> sh);
  return 1;
}

tsr_status tsr__aug_run_cpu(const tsr__aug_exec *e, const uint8_t *src, uint8_t *dst, tsr__aug_scratch *work) {
  int ch = e->ch;
  size_t in_bytes = (size_t)e->in_w * e->in_h * ch, out_bytes = (size_t)e->out_w * e->out_h * ch;
  size_t big = in_bytes > out_bytes ? in_bytes : out_bytes;
  int need_tmp = 0;
  for (int k = 0; k < e->npre; k++) need_tmp |= e->pre[k].kind == TSR_AUGP_BLUR;
  for (int k = 0; k < e->npost; k++) need_tmp |= e->post[k].kind == TSR_AUGP_BLUR;
  size_t want = (e->npre ? in_bytes : 0) + (need_tmp ? 2 * big : 0) + 16;
  uint8_t *buf = scratch(work, want);
  if (!buf) return TSR_E_NOMEM;
  uint16_t *tmp = (uint16_t *)(void *)(buf + (e->npre ? (in_bytes + 15) / 16 * 16 : 0));
  const uint8_t *in = src;
  if (e->npre) {
    memcpy(buf, src, in_bytes);
    run_pix(e->pre, e->npre, buf, e->in_w, e->in_h, ch, tmp);
    in = buf;
  }
  if (!e->warp) {
    memcpy(dst, in, out_bytes);
  } else {
    for (int y = 0; y < e->out_h; y++)
      for (int x = 0; x < e->out_w; x++) {
        uint8_t *o = dst + ((size_t)y * e->out_w + x) * ch;
        if (e->interp == 1 && bilinear_inside(e, in, x, y, o)) continue;
        tsr_aug_sample(in, e->in_w, e->in_h, ch, e->q[0], e->q[1], e->q[2], e->q[3], e->q[4], e->q[5], e->interp,
                       e->sub, e->border, e->fill, x, y, o);
      }
  }
  run_pix(e->post, e->npost, dst, e->out_w, e->out_h, ch, tmp);
  return TSR_OK;
}
