/* tessera augment's CPU loops: one copy of one item on the calling thread
 * (the job runs items in parallel). Every value comes from cl/augment.h's
 * per-pixel code or from loops that compute the same integers (the
 * bilinear path below), so the CPU and OpenCL backends write the same
 * bytes. */
#include <pthread.h>
#include <stdint.h>
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
  if (ch == 3) { /* a constant stride: vectorized */
    for (uint64_t i = 0; i < n; i++) sum += (uint32_t)tsr_luma8(img[3 * i], img[3 * i + 1], img[3 * i + 2]);
    return (int32_t)((sum + n / 2) / n);
  }
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *p = img + i * (uint64_t)ch;
    sum += ch >= 3 ? (uint64_t)tsr_luma8(p[0], p[1], p[2]) : p[0];
  }
  return (int32_t)((sum + n / 2) / n);
}

/* round(num * 65536 / c) of tsr_aug_hue for 0 <= num <= c <= 255, from
 * tsr_aug_div_round itself: the hue's two divisions become a lookup. */
static uint32_t hue_div[256][256];
static pthread_once_t hue_once = PTHREAD_ONCE_INIT;
static void hue_init(void) {
  for (int c = 1; c < 256; c++)
    for (int n = 0; n <= c; n++) hue_div[c][n] = (uint32_t)tsr_aug_div_round(n * 65536, c);
}

/* tsr_aug_hue with the table: the same values. The branches of the
 * original (which channel is largest, which sector the turned hue is in)
 * become selects and a table of roles, which a CPU predicts no worse for
 * one colour than another. */
static const uint8_t hue_role[6][3] = {{0, 2, 1}, {3, 0, 1}, {1, 0, 2}, {1, 3, 0}, {2, 1, 0}, {0, 1, 3}};
static inline void hue_px(uint8_t *p, int32_t s) {
  int32_t R = p[0], G = p[1], B = p[2];
  int32_t M = R > G ? (R > B ? R : B) : (G > B ? G : B), m = R < G ? (R < B ? R : B) : (G < B ? G : B), c = M - m;
  if (c == 0) return;
  const int32_t six = 6 * 65536;
  int32_t r_max = M == R, g_max = !r_max && M == G;
  int32_t num = r_max ? G - B : g_max ? B - R : R - G;
  int32_t base = r_max ? 0 : g_max ? 2 * 65536 : 4 * 65536;
  int32_t an = num < 0 ? -num : num, q = (int32_t)hue_div[c][an];
  int32_t hq = base + (num < 0 ? -q : q) + s; /* in (-65536, 12 * 65536) */
  hq += hq < 0 ? six : 0;
  hq -= hq >= six ? six : 0;
  hq -= hq >= six ? six : 0;
  int32_t sector = hq >> 16, f = hq & 65535, d = (c * f + 32768) >> 16;
  int32_t v[4] = {M, m, m + d, M - d}; /* the roles: largest, smallest, rising, falling */
  const uint8_t *r = hue_role[sector];
  p[0] = (uint8_t)v[r[0]];
  p[1] = (uint8_t)v[r[1]];
  p[2] = (uint8_t)v[r[2]];
}

/* The pixel ops of a list, in order, in place on a w x h image; tmp holds
 * w * h * ch 16-bit values for the blur. Brightness and contrast go
 * through a 256-entry table of tsr_aug_blend (a function of the value
 * alone), hue through hue_px: the values of tsr_aug_point. */
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
    } else if (p->kind == TSR_AUGP_BRIGHT || p->kind == TSR_AUGP_CONTRAST) {
      int32_t b = p->kind == TSR_AUGP_CONTRAST ? mean_luma(img, w, h, ch) : 0;
      uint8_t lut[256];
      for (int v = 0; v < 256; v++) lut[v] = (uint8_t)tsr_aug_blend(v, b, p->a);
      if (ch == 3 || ch == 1) {
        for (size_t i = 0; i < npx * (size_t)ch; i++) img[i] = lut[img[i]];
      } else {
        for (size_t i = 0; i < npx; i++)
          for (int c = 0; c < nc; c++) img[i * ch + c] = lut[img[i * ch + c]];
      }
    } else if (p->kind == TSR_AUGP_HUE && nc == 3) {
      pthread_once(&hue_once, hue_init);
      for (size_t i = 0; i < npx; i++) hue_px(img + i * (size_t)ch, p->a);
    } else if (p->kind == TSR_AUGP_SAT && ch == 3) {
      for (size_t i = 0; i < npx; i++) { /* a constant stride: vectorized */
        uint8_t *q = img + i * 3;
        int32_t l = tsr_luma8(q[0], q[1], q[2]);
        q[0] = (uint8_t)tsr_aug_blend(q[0], l, p->a);
        q[1] = (uint8_t)tsr_aug_blend(q[1], l, p->a);
        q[2] = (uint8_t)tsr_aug_blend(q[2], l, p->a);
      }
    } else if (p->kind == TSR_AUGP_SAT && nc == 3) {
      for (size_t i = 0; i < npx; i++) {
        uint8_t *q = img + i * (size_t)ch;
        int32_t l = tsr_luma8(q[0], q[1], q[2]);
        q[0] = (uint8_t)tsr_aug_blend(q[0], l, p->a);
        q[1] = (uint8_t)tsr_aug_blend(q[1], l, p->a);
        q[2] = (uint8_t)tsr_aug_blend(q[2], l, p->a);
      }
    } else {
      for (size_t i = 0; i < npx; i++) tsr_aug_point(p->kind, p->a, 0, ch, img + i * (size_t)ch);
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


/* Source index of tap coordinate i on an axis of n pixels under a border
 * rule; -1: the fill (constant border). */
static int tap_index(int i, int n, int border) {
  if (i >= 0 && i < n) return i;
  if (border == 0) return -1;
  if (border == 1) return i < 0 ? 0 : n - 1;
  return tsr_aug_reflect(i, n);
}

/* Bilinear through a map without rotation or shear (q[1] = q[3] = 0: rrc,
 * resize, flips, crops, letterbox): a point's x taps depend only on the
 * output column and its y taps only on the output row, so the sums of
 * tsr_aug_sample come out of two passes. Per output row, the source rows
 * its points read are summed with their y weights over the columns any
 * tap reads (contiguous: the compiler vectorizes it); then each output
 * pixel sums those column sums with its x weights. A tap outside the
 * image under the constant border is the fill, as in tsr_aug_tap. The same
 * integer total in another order: the same bytes. Returns 0 (nothing
 * written) when out of memory. */
static int separable(const tsr__aug_exec *e, const uint8_t *src, uint8_t *dst) {
  int n = 1 << e->sub, ch = e->ch, ow = e->out_w, oh = e->out_h, w = e->in_w, h = e->in_h;
  size_t nx = (size_t)ow * n;
  int32_t *xi = malloc(sizeof *xi * 3 * nx);
  if (!xi) return 0;
  /* per column and point: the two source columns (-1: the fill) and the weight of the second */
  int32_t *xc0 = xi, *xc1 = xi + nx, *xf = xi + 2 * nx;
  int cmin = w, cmax = -1;
  for (int x = 0; x < ow; x++)
    for (int i = 0; i < n; i++) {
      int32_t X = tsr_aug_pos(e->q[0], 0, e->q[2], x, 0, i, 0, e->sub);
      size_t k = (size_t)x * n + i;
      xc0[k] = tap_index(X >> 8, w, e->border);
      xc1[k] = tap_index((X >> 8) + 1, w, e->border);
      xf[k] = X & 255;
      for (int t = 0; t < 2; t++) {
        int c = t ? xc1[k] : xc0[k];
        if (c >= 0 && c < cmin) cmin = c;
        if (c > cmax) cmax = c;
      }
    }
  if (cmax < cmin) cmin = cmax = 0; /* every tap the fill */
  int inside = 1; /* no column tap is the fill */
  for (size_t k = 0; k < nx; k++) inside &= xc0[k] >= 0 && xc1[k] >= 0;
  size_t span = (size_t)(cmax - cmin + 1) * ch;
  uint32_t *T = malloc(sizeof *T * span);
  if (!T) {
    free(xi);
    return 0;
  }
  const uint32_t fill_t = (uint32_t)e->fill * 256u * (uint32_t)n; /* a fill column's sum over a row's points */
  const uint8_t *base = src + (size_t)cmin * ch;
  int sh = 16 + 2 * e->sub;
  uint32_t half = 1u << (sh - 1);
  for (int y = 0; y < oh; y++) {
    memset(T, 0, sizeof *T * span);
    for (int j = 0; j < n; j++) {
      int32_t Y = tsr_aug_pos(0, e->q[4], e->q[5], 0, y, 0, j, e->sub);
      uint32_t f = (uint32_t)(Y & 255), g = 256u - f;
      int r0 = tap_index(Y >> 8, h, e->border), r1 = tap_index((Y >> 8) + 1, h, e->border);
      const uint8_t *a = r0 < 0 ? NULL : base + (size_t)r0 * w * ch, *b = r1 < 0 ? NULL : base + (size_t)r1 * w * ch;
      if (a && b) {
        for (size_t k = 0; k < span; k++) T[k] += g * a[k] + f * b[k];
      } else {
        uint32_t fa = (uint32_t)e->fill * g, fb = (uint32_t)e->fill * f;
        for (size_t k = 0; k < span; k++) T[k] += (a ? g * a[k] : fa) + (b ? f * b[k] : fb);
      }
    }
    uint8_t *o = dst + (size_t)y * ow * ch;
    if (ch == 3 && inside) { /* every column tap a pixel: the loop below without its branches */
      for (int x = 0; x < ow; x++) {
        uint32_t a0 = 0, a1 = 0, a2 = 0;
        for (int i = 0; i < n; i++) {
          size_t k = (size_t)x * n + i;
          uint32_t f = (uint32_t)xf[k], g = 256u - f;
          const uint32_t *t0 = T + (size_t)(xc0[k] - cmin) * 3, *t1 = T + (size_t)(xc1[k] - cmin) * 3;
          a0 += g * t0[0] + f * t1[0];
          a1 += g * t0[1] + f * t1[1];
          a2 += g * t0[2] + f * t1[2];
        }
        o[x * 3] = (uint8_t)((a0 + half) >> sh);
        o[x * 3 + 1] = (uint8_t)((a1 + half) >> sh);
        o[x * 3 + 2] = (uint8_t)((a2 + half) >> sh);
      }
      continue;
    }
    for (int x = 0; x < ow; x++) {
      uint32_t acc[4] = {0, 0, 0, 0};
      for (int i = 0; i < n; i++) {
        size_t k = (size_t)x * n + i;
        uint32_t f = (uint32_t)xf[k], g = 256u - f;
        int c0 = xc0[k], c1 = xc1[k];
        for (int c = 0; c < ch; c++)
          acc[c] += g * (c0 < 0 ? fill_t : T[(size_t)(c0 - cmin) * ch + c]) +
                    f * (c1 < 0 ? fill_t : T[(size_t)(c1 - cmin) * ch + c]);
      }
      for (int c = 0; c < ch; c++) o[x * ch + c] = (uint8_t)((acc[c] + half) >> sh);
    }
  }
  free(T);
  free(xi);
  return 1;
}

tsr_status tsr__aug_run_cpu(const tsr__aug_exec *e, const uint8_t *src, uint8_t *dst, tsr__aug_scratch *work) {
  if (!work) { /* scratch for this call only */
    tsr__aug_scratch own = {0};
    tsr_status st = tsr__aug_run_cpu(e, src, dst, &own);
    free(own.buf);
    return st;
  }
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
  } else if (!(e->interp == 1 && e->q[1] == 0 && e->q[3] == 0 && separable(e, in, dst))) {
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
