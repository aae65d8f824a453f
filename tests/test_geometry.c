/* Equirectangular to pinhole views on every backend, against a reference
 * written here in double precision from the conventions alone: column 0 is
 * longitude -180, the centre column 0 (forward), row 0 latitude +90; yaw
 * turns right, pitch looks up, roll turns the camera clockwise as seen from
 * behind; applied yaw, then pitch, then roll. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const double PI = 3.14159265358979323846;

/* Turns axis b toward axis a by angle t: a' = a cos t + b sin t,
 * b' = b cos t - a sin t. */
static void turn(double *a, double *b, double t) {
  double na = *a * cos(t) + *b * sin(t), nb = *b * cos(t) - *a * sin(t);
  *a = na;
  *b = nb;
}

/* Source position seen by output pixel centre (X, Y) of a w x h view. */
static void ref_direction(double X, double Y, int w, int h, double yaw, double pitch, double roll, double hfov,
                          double *lon, double *lat) {
  double f = (w / 2.0) / tan(hfov * PI / 360);
  double x = (X - w / 2.0) / f, y = (h / 2.0 - Y) / f, z = 1; /* right, up, forward */
  /* Roll: the camera's up turns toward its right. */
  turn(&x, &y, roll * PI / 180);
  /* Pitch: forward turns toward up. */
  turn(&y, &z, pitch * PI / 180);
  /* Yaw: forward turns toward right (+longitude). */
  turn(&x, &z, yaw * PI / 180);
  *lon = atan2(x, z);
  *lat = atan2(y, sqrt(x * x + z * z));
}

static void to_pixel(double lon, double lat, int W, int H, double *u, double *v) {
  *u = (lon / (2 * PI) + 0.5) * W;
  *v = (0.5 - lat / PI) * H;
}

typedef struct {
  double yaw, pitch, roll, hfov;
  int w, h;
  const char *what;
} view_case;


static tsr_image *run_view(tsr_context *ctx, const tsr_image *src, const view_case *c, tsr_interp interp) {
  tsr_warp_view v;
  tsr_view_equirect(&v, c->w, c->h, c->yaw, c->pitch, c->roll, c->hfov);
  tsr_image *out;
  ck_assert_int_eq(tsr_image_create(c->w, c->h, src->channels, src->depth, &out), TSR_OK);
  tsr_status st = tsr_warp(ctx, &src, 1, &v, 1, interp, TSR_BORDER_SPHERE, &out, NULL);
  ck_assert_msg(st == TSR_OK, "%s", tsr_context_error(ctx));
  return out;
}

/* ---- the sampling matrix ------------------------------------------------------
 * Every interpolation x antialiasing on/off x 8/16 bits x 1/3/4 channels,
 * on views across the seam, at both poles, rolled, and a cube rig's six
 * faces, from a 1441 x 720 panorama (an odd width: half a turn at a pole
 * ends between two columns). The CPU backend and the OpenCL device must
 * write identical bytes, and both must be within the stated tolerance of
 * the reference below:
 *  - interpolations: the kernel evaluated in double at the exact source
 *    position; positions are stored to 1/256 pixel, so nearest may take the
 *    pixel on either side of an edge within 1/512 pixel;
 *  - antialiasing: the mean of the source over the pixel's footprint (a box
 *    centred on the mean of its corners' source positions, sides the lengths
 *    of the Jacobian's rows), integrated exactly over the pyramid level
 *    where the view samples at most 6 pixels per output pixel (level k + 1:
 *    the [1 3 3 1] / 8 filter of level k at its even pixels, rounded half
 *    up); at level L the sides shrink to sqrt(side^2 - 3 (4^L - 1)) so box
 *    and levels together keep the footprint's variance, and are kept within
 *    1 to 7 pixels of the level.
 * Tolerance: 1 LSB at 8 bits, 6 LSB at 16 bits (1e-4 of the range): the
 * source's slopes are at most 1071 and 629 LSB per pixel at 16 bits, so
 * rounding a position to 1/256 pixel moves a sample by up to
 * (1071 + 629) / 512 = 3.3 LSB, which the negative lobes of bicubic and
 * Lanczos-3 can amplify by about a third; plus taps in 1/2048 and the
 * final rounding's half. Antialiased at 16 bits: a footprint's left edge
 * and width are stored to 1/256 pixel of level L (its right edge thus to
 * 3/512 pixel), where the slopes are 2^L times larger: 2 + 3 (1071 + 629)
 * 2^L / 512 LSB (42 at level 2, 6e-4 of the range). */
static const view_case k_matrix_views[] = {
    {180, 0, 0, 90, 40, 30, "seam"},
    {-170, 10, 0, 100, 36, 30, "crossing the seam"},
    {30, 90, 0, 90, 32, 32, "north pole"},
    {-60, -75, 20, 120, 42, 32, "south pole, rolled"},
    {45, 20, -35, 70, 120, 72, "rolled"},
    {10, 5, 0, 90, 12, 10, "tiny"},
    {0, 0, 0, 90, 32, 32, "cube front"},
    {90, 0, 0, 90, 32, 32, "cube right"},
    {180, 0, 0, 90, 32, 32, "cube back"},
    {-90, 0, 0, 90, 32, 32, "cube left"},
    {0, 90, 0, 90, 32, 32, "cube up"},
    {0, -90, 0, 90, 32, 32, "cube down"},
};
#define NMV ((int)(sizeof k_matrix_views / sizeof *k_matrix_views))

static double px_at(const tsr_image *im, int x, int y, int c) {
  size_t i = ((size_t)y * im->width + (size_t)x) * im->channels + (size_t)c;
  return im->depth == 8 ? im->data[i] : ((uint16_t *)im->data)[i];
}

/* Level k + 1 from level k, as documented. */
static tsr_image *ref_half(const tsr_image *s) {
  tsr_image *d;
  static const double w[4] = {1, 3, 3, 1};
  ck_assert_int_eq(tsr_image_create((s->width + 1) / 2, (s->height + 1) / 2, s->channels, s->depth, &d), TSR_OK);
  for (int y = 0; y < d->height; y++)
    for (int x = 0; x < d->width; x++)
      for (int c = 0; c < s->channels; c++) {
        /* with alpha (the last channel), colours averaged premultiplied */
        int premul = (s->channels == 2 || s->channels == 4) && c < s->channels - 1;
        double sum = 0, asum = 0;
        for (int j = 0; j < 4; j++)
          for (int i = 0; i < 4; i++) {
            int xx = 2 * x - 1 + i, yy = 2 * y - 1 + j;
            xx = xx < 0 ? 0 : xx >= s->width ? s->width - 1 : xx;
            yy = yy < 0 ? 0 : yy >= s->height ? s->height - 1 : yy;
            double a = premul ? px_at(s, xx, yy, s->channels - 1) : 1;
            sum += w[i] * w[j] * a * px_at(s, xx, yy, c);
            asum += w[i] * w[j] * a;
          }
        unsigned v = premul ? (sum > 0 && asum > 0 ? (unsigned)floor(sum / asum + 0.5) : 0)
                            : (unsigned)floor(sum / 64 + 0.5);
        size_t i = ((size_t)y * d->width + (size_t)x) * d->channels + (size_t)c;
        if (d->depth == 8) d->data[i] = (uint8_t)v;
        else ((uint16_t *)d->data)[i] = (uint16_t)v;
      }
  return d;
}

/* The exact mean of a (piecewise constant) image over [a, b) x [c0, d). */
static double ref_box(const tsr_image *im, double a, double b, double c0, double d, int c) {
  double sum = 0;
  for (long j = (long)floor(c0); j < d; j++) {
    double wy = fmin(d, j + 1.0) - fmax(c0, (double)j);
    if (wy <= 0) continue;
    for (long i = (long)floor(a); i < b; i++) {
      double wx = fmin(b, i + 1.0) - fmax(a, (double)i);
      if (wx > 0) sum += wx * wy * tt_ref_fetch(im, TSR_BORDER_SPHERE, i, j, c);
    }
  }
  return sum / ((b - a) * (d - c0));
}

static void src_pos(const view_case *vc, double X, double Y, int W, int H, double *u, double *v) {
  double lon, lat;
  ref_direction(X, Y, vc->w, vc->h, vc->yaw, vc->pitch, vc->roll, vc->hfov, &lon, &lat);
  to_pixel(lon, lat, W, H, u, v);
}

/* A smooth panorama, continuous across the seam and over the poles (where
 * a row continues half a turn away): slopes at most 0.25 * 2 pi 15 / W and
 * 0.2 * pi 11 / H of the range per pixel (1071 and 629 LSB at 16 bits for
 * 1441 x 720). */
static void fill_sphere(tsr_image *im, int seed) {
  double maxv = im->depth == 16 ? 65535.0 : 255.0;
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < im->channels; c++) {
        double t = (y + 0.5) / im->height, th = 2 * PI * 15 * (x + 0.5) / im->width + c + seed;
        double v = 0.5 + 0.25 * sin(th) * sin(PI * t) + 0.2 * cos(PI * 11 * t - 0.5 * c);
        size_t i = ((size_t)y * im->width + (size_t)x) * im->channels + (size_t)c;
        if (im->depth == 8) im->data[i] = (uint8_t)lrint(v * maxv);
        else ((uint16_t *)im->data)[i] = (uint16_t)lrint(v * maxv);
      }
}

static char g_where[160]; /* where matrix_error found its worst */

/* The pyramid level an antialiased view of density d samples: the first
 * where it takes at most 6 pixels of the level per output pixel. */
static int ref_level(double d) {
  int L = 0;
  while (L < 5 && d / (1 << L) > 6) L++;
  return L;
}

/* The largest difference of one view's output from the reference. */
static double matrix_error(const tsr_image *src, tsr_image *const *levels, const view_case *vc, int level, int aa,
                           int interp, const tsr_image *out) {
  double worst = 0, maxv = src->depth == 8 ? 255 : 65535;
  int W = src->width, H = src->height;
  for (int y = 0; y < vc->h; y++)
    for (int x = 0; x < vc->w; x++) {
      double u = 0, v = 0, want[4];
      if (aa) {
        double cu[4], cv[4], k = 1.0 / (1 << level);
        for (int q = 0; q < 4; q++) {
          src_pos(vc, x + (q & 1), y + (q >> 1), W, H, &cu[q], &cv[q]);
          cu[q] -= W * floor((cu[q] - cu[0]) / W + 0.5);
        }
        double mu = (cu[0] + cu[1] + cu[2] + cu[3]) / 4 * k, mv = (cv[0] + cv[1] + cv[2] + cv[3]) / 4 * k;
        double dux = ((cu[1] - cu[0]) + (cu[3] - cu[2])) / 2, duy = ((cu[2] - cu[0]) + (cu[3] - cu[1])) / 2;
        double dvx = ((cv[1] - cv[0]) + (cv[3] - cv[2])) / 2, dvy = ((cv[2] - cv[0]) + (cv[3] - cv[1])) / 2;
        double pre = 3.0 * ((1 << level) * (1 << level) - 1);
        double eu = sqrt(fmax(dux * dux + duy * duy - pre, 0)) * k, ev = sqrt(fmax(dvx * dvx + dvy * dvy - pre, 0)) * k;
        eu = fmin(fmax(eu, 1), 7);
        ev = fmin(fmax(ev, 1), 7);
        int alpha = src->channels == 2 || src->channels == 4;
        for (int c = 0; c < src->channels; c++) {
          want[c] = ref_box(levels[level], mu - eu / 2, mu + eu / 2, mv - ev / 2, mv + ev / 2, c);
          if (alpha && c < src->channels - 1) { /* premultiplied: box(alpha x colour) / box(alpha) */
            double n = ref_box(levels[level], mu - eu / 2, mu + eu / 2, mv - ev / 2, mv + ev / 2, c + TT_PREMUL);
            double d = ref_box(levels[level], mu - eu / 2, mu + eu / 2, mv - ev / 2, mv + ev / 2, src->channels - 1);
            want[c] = n > 0 && d > 0 ? n / d : 0;
          }
        }
      } else {
        src_pos(vc, x + 0.5, y + 0.5, W, H, &u, &v);
      }
      for (int c = 0; c < src->channels; c++) {
        double got = px_at(out, x, y, c), err;
        if (aa) {
          err = fabs(got - want[c]);
        } else if (interp == TSR_INTERP_NEAREST) {
          err = 1e9;
          for (int q = 0; q < 4; q++) {
            double e = fabs(got - tt_ref_fetch(src, TSR_BORDER_SPHERE, (long)floor(u + (q & 1 ? 1 : -1) / 512.0),
                                               (long)floor(v + (q & 2 ? 1 : -1) / 512.0), c));
            if (e < err) err = e;
          }
        } else {
          err = fabs(got - fmin(fmax(tt_ref_interp_alpha(src, interp, TSR_BORDER_SPHERE, u, v, c), 0), maxv));
        }
        if (err > worst) {
          worst = err;
          snprintf(g_where, sizeof g_where, "pixel %d,%d channel %d (source %.4f, %.4f): %.0f", x, y, c, u, v, got);
        }
      }
    }
  return worst;
}

START_TEST(sampling_matrix) {
  int nb;
  tt_backend_count("geometry", &nb);
  tsr_context *ctx[2] = {tt_context("cpu"), nb == 2 ? tt_context("cl") : NULL};
  const int W = 1441, H = 720;
  int combos = 0;
  double worst8 = 0, worst16 = 0;
  for (int depth = 8; depth <= 16; depth += 8)
    for (int ci = 0; ci < 3; ci++) {
      int ch = ci == 0 ? 1 : ci + 2;
      tsr_image *levels[6] = {0};
      ck_assert_int_eq(tsr_image_create(W, H, ch, depth, &levels[0]), TSR_OK);
      fill_sphere(levels[0], depth + ch);
      for (int k = 1; k < 6; k++) levels[k] = ref_half(levels[k - 1]);
      for (int aa = 0; aa <= 1; aa++)
        for (int interp = 0; interp <= 3; interp++) {
          tsr_warp_view views[NMV];
          int level[NMV];
          tsr_image *out[2][NMV];
          for (int k = 0; k < NMV; k++) {
            const view_case *c = &k_matrix_views[k];
            tsr_view_equirect(&views[k], c->w, c->h, c->yaw, c->pitch, c->roll, c->hfov);
            views[k].supersample = aa ? tsr_view_antialias(&views[k], W, H) : 1;
            if (aa) ck_assert_msg(views[k].supersample > 1, "%s does not minify", c->what);
            level[k] = aa ? ref_level(tsr_view_density(&views[k], W, H)) : 0;
            for (int b = 0; b < 2; b++)
              ck_assert_int_eq(tsr_image_create(c->w, c->h, ch, depth, &out[b][k]), TSR_OK);
          }
          for (int b = 0; b < 2 && ctx[b]; b++) {
            tsr_warp_stats st;
            tsr_status s = tsr_warp(ctx[b], (const tsr_image *const *)levels, 1, views, NMV, (tsr_interp)interp,
                                    TSR_BORDER_SPHERE, out[b], &st);
            ck_assert_msg(s == TSR_OK, "%s", tsr_context_error(ctx[b]));
            ck_assert_int_eq(st.fell_back, 0);
          }
          for (int k = 0; k < NMV; k++) {
            const view_case *c = &k_matrix_views[k];
            for (int b = 0; b < 2 && ctx[b]; b++) {
              double e = matrix_error(levels[0], levels, c, level[k], aa, interp, out[b][k]);
              double tol = depth == 8 ? 1 : aa ? 2 + 3 * 1700.0 * (1 << level[k]) / 512 : 6;
              ck_assert_msg(e <= tol, "%s: %s, interp %d, aa %d, %d-bit, %d channels: %.2f from the reference at %s",
                            b ? "cl" : "cpu", c->what, interp, aa, depth, ch, e, g_where);
              if (depth == 8 && e > worst8) worst8 = e;
              if (depth == 16 && e > worst16) worst16 = e;
            }
            if (ctx[1])
              ck_assert_msg(!memcmp(out[0][k]->data, out[1][k]->data, out[0][k]->stride * (size_t)c->h),
                            "%s, interp %d, aa %d, %d-bit, %d channels: the CPU backend and %s differ by %d", c->what,
                            interp, aa, depth, ch, tsr_context_device(ctx[1])->name, tt_max_diff(out[0][k], out[1][k]));
            for (int b = 0; b < 2; b++) tsr_image_free(out[b][k]);
          }
          combos++;
        }
      for (int k = 0; k < 6; k++) tsr_image_free(levels[k]);
    }
  printf("sampling matrix: view levels");
  for (int k = 0; k < NMV; k++) {
    tsr_warp_view v;
    const view_case *c = &k_matrix_views[k];
    tsr_view_equirect(&v, c->w, c->h, c->yaw, c->pitch, c->roll, c->hfov);
    printf(" %d", ref_level(tsr_view_density(&v, W, H)));
  }
  printf("\n");
  printf("sampling matrix: %d combinations x %d views; %s; worst error %.2f LSB (8-bit), %.2f LSB (16-bit)\n", combos,
         NMV, ctx[1] ? "CPU backend and OpenCL byte-identical" : "CPU backend only (no OpenCL device)", worst8, worst16);
  if (ctx[1]) printf("sampling matrix: OpenCL device %s\n", tsr_context_device(ctx[1])->name);
  for (int b = 0; b < 2; b++) tsr_context_destroy(ctx[b]);
}
END_TEST

/* A 16-bit source whose samples are their own column and row: the output
 * says where each view pixel looked. */
START_TEST(conventions) {
  tsr_context *ctx = tt_context(tt_backend(_i));
  tsr_image *src;
  ck_assert_int_eq(tsr_image_create(720, 360, 2, 16, &src), TSR_OK);
  uint16_t *p = (uint16_t *)src->data;
  for (int y = 0; y < 360; y++)
    for (int x = 0; x < 720; x++) {
      p[(y * 720 + x) * 2] = (uint16_t)x;
      p[(y * 720 + x) * 2 + 1] = (uint16_t)y;
    }
#define COL(img, x, y) (((uint16_t *)(img)->data)[((y) * (img)->width + (x)) * 2])
#define ROW(img, x, y) (((uint16_t *)(img)->data)[((y) * (img)->width + (x)) * 2 + 1])
  /* Forward: the centre looks at longitude 0 = the centre column. */
  view_case c = {0, 0, 0, 90, 21, 21, ""};
  tsr_image *o = run_view(ctx, src, &c, TSR_INTERP_NEAREST);
  /* (Longitude 0 and latitude 0 fall on pixel edges: either side will do.) */
  ck_assert_int_le(abs(COL(o, 10, 10) - 360), 1);
  ck_assert_int_le(abs(ROW(o, 10, 10) - 180), 1);
  ck_assert_int_gt(COL(o, 20, 10), 360); /* right of the image is +longitude */
  ck_assert_int_lt(ROW(o, 10, 0), 180);  /* top of the image is up */
  tsr_image_free(o);
  /* Yaw +90.25 looks at longitude +90.25: column 540. Pitch +29.75 looks up:
   * row 120 (both at pixel centres). */
  c.yaw = 90.25;
  c.pitch = 29.75;
  o = run_view(ctx, src, &c, TSR_INTERP_NEAREST);
  ck_assert_int_eq(COL(o, 10, 10), 540);
  ck_assert_int_eq(ROW(o, 10, 10), 120);
  tsr_image_free(o);
  /* Roll +90 (camera turned clockwise): the image's top edge sees the world
   * to the camera's right, at the horizon. */
  view_case r = {0, 0, 90, 90, 21, 21, ""};
  o = run_view(ctx, src, &r, TSR_INTERP_NEAREST);
  ck_assert_int_gt(COL(o, 10, 0), 400);
  ck_assert_int_le(abs(ROW(o, 10, 0) - 180), 1);
  tsr_image_free(o);
  /* Yaw 180: the centre straddles the seam, columns 0 and 719 both near it,
   * and no column reads as the clamped edge twice. */
  view_case s = {180, 0, 0, 90, 20, 10, ""};
  o = run_view(ctx, src, &s, TSR_INTERP_NEAREST);
  ck_assert_int_ge(COL(o, 9, 5), 700);
  ck_assert_int_le(COL(o, 10, 5), 20);
  for (int x = 1; x < 20; x++) ck_assert_int_ne(COL(o, x, 5), COL(o, x - 1, 5));
  tsr_image_free(o);
  tsr_image_free(src);
  tsr_context_destroy(ctx);
}
END_TEST

/* A zone plate on the source around the forward direction: phase
 * pi r^2 / 512, so the local frequency is r / 512 cycles per source pixel,
 * up to the source's Nyquist at r = 256; flat grey beyond. */
static double zone(double u, double v, int W, int H) {
  double dx = u - W / 2.0, dy = v - H / 2.0, r2 = dx * dx + dy * dy;
  return r2 > 256.0 * 256.0 ? 0.5 : 0.5 + 0.5 * cos(PI * r2 / 512.0);
}

typedef struct {
  double alias, pass, pass_n, box;
} zone_score;

/* Scores a 128 x 128 view of 90 deg (5.1 source pixels per output pixel at
 * its centre). Per output pixel the pattern's local frequency in cycles
 * per output pixel is |J^T g| / 512 (J the view's Jacobian, g the offset
 * from the plate's centre in source pixels).
 *  - alias: sum of (output - mid grey)^2 where that frequency is above 0.6
 *    (past the output's Nyquist, 0.5): an ideal low-pass leaves flat grey
 *    there, so whatever pattern remains is aliasing;
 *  - pass: mean (output - ideal)^2 where it is below 0.2, the ideal being
 *    the pattern averaged over the pixel's area (16 x 16 points);
 *  - box: sum of (output - ideal)^2 over the whole view (the measure this
 *    test used before: fidelity to the pixel-area average). */
static zone_score zone_measure(const tsr_image *out, int W, int H) {
  const int n = 128;
  zone_score z = {0, 0, 0, 0};
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++) {
      double ideal = 0, u0, v0, ux, vx, uy, vy;
      for (int j = 0; j < 16; j++)
        for (int i = 0; i < 16; i++) {
          double u, vv;
          src_pos(&(view_case){0, 0, 0, 90, n, n, ""}, x + (i + 0.5) / 16, y + (j + 0.5) / 16, W, H, &u, &vv);
          ideal += zone(u, vv, W, H);
        }
      ideal = ideal / 256 * 255;
      view_case vc = {0, 0, 0, 90, n, n, ""};
      src_pos(&vc, x + 0.5, y + 0.5, W, H, &u0, &v0);
      src_pos(&vc, x + 1.5, y + 0.5, W, H, &ux, &vx);
      src_pos(&vc, x + 0.5, y + 1.5, W, H, &uy, &vy);
      double gx = u0 - W / 2.0, gy = v0 - H / 2.0, r = hypot(gx, gy);
      double fx = ((ux - u0) * gx + (vx - v0) * gy) / 512, fy = ((uy - u0) * gx + (vy - v0) * gy) / 512;
      double f = hypot(fx, fy), o = out->data[y * n + x];
      z.box += (o - ideal) * (o - ideal);
      if (f > 0.6 && r < 250) z.alias += (o - 127.5) * (o - 127.5);
      if (f < 0.2) {
        z.pass += (o - ideal) * (o - ideal);
        z.pass_n++;
      }
    }
  z.pass /= z.pass_n;
  return z;
}

/* Antialiasing against plain bilinear: the output at least 100x closer to
 * the pixel-area average (the score this test has always asserted; 165x
 * with the supersampling that came before the area footprints, 141x now),
 * at least 25x less pattern past the Nyquist frequency (33x before, 29x
 * now: a box's side lobes leak), and the passband within 0.5 LSB RMS of
 * the pixel-area average (0.30 before, 0.28 now). */
START_TEST(antialiasing_zone_plate) {
  tsr_context *ctx = tt_context(tt_backend(_i));
  const int W = 2048, H = 1024, n = 128;
  tsr_image *src, *plain, *aa;
  ck_assert_int_eq(tsr_image_create(W, H, 1, 8, &src), TSR_OK);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) src->data[(size_t)y * W + x] = (uint8_t)floor(255 * zone(x + 0.5, y + 0.5, W, H) + 0.5);
  ck_assert_int_eq(tsr_image_create(n, n, 1, 8, &plain), TSR_OK);
  ck_assert_int_eq(tsr_image_create(n, n, 1, 8, &aa), TSR_OK);
  tsr_warp_view v;
  tsr_view_equirect(&v, n, n, 0, 0, 0, 90);
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE,
                            &plain, NULL), TSR_OK);
  double density = tsr_view_density(&v, W, H);
  int ss = tsr_view_antialias(&v, W, H);
  ck_assert_msg(fabs(density - W / (2 * PI) / 64) < 0.05 && ss > 1, "density %.2f, antialias %d", density, ss);
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE,
                            &aa, NULL), TSR_OK);
  zone_score zp = zone_measure(plain, W, H), za = zone_measure(aa, W, H);
  printf("antialiasing[%s]: density %.2f: aliasing energy %.0f without, %.0f with (%.0fx lower); passband RMS error "
         "%.2f without, %.2f with (%d pixels); pixel-area fidelity %.1fx better\n",
         tsr_context_device(ctx)->name, density, zp.alias, za.alias, zp.alias / za.alias, sqrt(zp.pass), sqrt(za.pass),
         (int)za.pass_n, zp.box / za.box);
  fflush(stdout);
  ck_assert_msg(zp.box >= 100 * za.box, "antialiasing brings the output only %.1fx closer to the pixel-area average",
                zp.box / za.box);
  ck_assert_msg(zp.alias >= 25 * za.alias, "antialiasing reduces aliasing only %.1fx", zp.alias / za.alias);
  ck_assert_msg(sqrt(za.pass) <= 0.5, "passband RMS error %.2f", sqrt(za.pass));
  tsr_image_free(src);
  tsr_image_free(plain);
  tsr_image_free(aa);
  tsr_context_destroy(ctx);
}
END_TEST

int main(void) {
  int nb;
  tt_backend_count("geometry", &nb);
  Suite *s = suite_create("geometry");
  TCase *tc = tcase_create("geometry");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, sampling_matrix);
  tcase_add_loop_test(tc, conventions, 0, nb);
  tcase_add_loop_test(tc, antialiasing_zone_plate, 0, nb);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
