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

static const view_case k_views[] = {
    {0, 0, 0, 90, 64, 36, "forward"},
    {180, 0, 0, 90, 64, 36, "centred on the +-180 seam"},
    {-170, 10, 0, 100, 48, 40, "crossing the seam"},
    {30, 90, 0, 90, 40, 40, "north pole at the centre"},
    {-60, -75, 20, 120, 56, 42, "containing the south pole, rolled"},
    {45, 20, -35, 70, 50, 30, "rolled"},
};

static tsr_image *run_view(tsr_context *ctx, const tsr_image *src, const view_case *c, tsr_interp interp) {
  tsr_warp_view v;
  tsr_view_equirect(&v, c->w, c->h, c->yaw, c->pitch, c->roll, c->hfov);
  tsr_image *out;
  ck_assert_int_eq(tsr_image_create(c->w, c->h, src->channels, src->depth, &out), TSR_OK);
  tsr_status st = tsr_warp(ctx, &src, 1, &v, 1, interp, TSR_BORDER_SPHERE, &out, NULL);
  ck_assert_msg(st == TSR_OK, "%s", tsr_context_error(ctx));
  return out;
}

START_TEST(views_match_reference) {
  tsr_context *ctx = tt_context(tt_backend(_i));
  tsr_image *src;
  ck_assert_int_eq(tsr_image_create(360, 180, 3, 8, &src), TSR_OK);
  tt_fill_smooth(src, 5);
  for (int interp = TSR_INTERP_BILINEAR; interp <= TSR_INTERP_LANCZOS3; interp++)
  for (size_t k = 0; k < sizeof k_views / sizeof *k_views; k++) {
    const view_case *c = &k_views[k];
    tsr_image *out = run_view(ctx, src, c, (tsr_interp)interp);
    double worst = 0;
    for (int y = 0; y < c->h; y++)
      for (int x = 0; x < c->w; x++) {
        double lon, lat, u, v;
        ref_direction(x + 0.5, y + 0.5, c->w, c->h, c->yaw, c->pitch, c->roll, c->hfov, &lon, &lat);
        to_pixel(lon, lat, src->width, src->height, &u, &v);
        for (int ch = 0; ch < 3; ch++) {
          double want = fmin(fmax(floor(tt_ref_interp(src, interp, TSR_BORDER_SPHERE, u, v, ch) + 0.5), 0), 255);
          double got = out->data[((size_t)y * c->w + (size_t)x) * 3 + (size_t)ch];
          if (fabs(got - want) > worst) worst = fabs(got - want);
        }
      }
    ck_assert_msg(worst <= 1, "%s: view %s (interp %d) differs from the reference by %.0f", tt_backend(_i), c->what,
                  interp, worst);
    tsr_image_free(out);
  }
  printf("geometry[%s]: %zu views x bilinear/bicubic/Lanczos-3 within 1 LSB of the reference\n", tsr_context_device(ctx)->name,
         sizeof k_views / sizeof *k_views);
  tsr_image_free(src);
  tsr_context_destroy(ctx);
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

/* A zone plate on the source around the forward direction: local frequency
 * r / 512 cycles per source pixel, up to Nyquist at r = 256, flat beyond. */
static double zone(double u, double v, int W, int H) {
  double dx = u - W / 2.0, dy = v - H / 2.0, r2 = dx * dx + dy * dy;
  return r2 > 256.0 * 256.0 ? 0.5 : 0.5 + 0.5 * cos(PI * r2 / 512.0);
}

/* A 128x128 view of 90 deg samples the 2048-wide source 2048 / (2 pi) / 64
 * = 5.1 pixels per output pixel at its centre. The aliasing energy is the squared difference between the
 * output and the pattern averaged over each output pixel's area (computed
 * here analytically, 16x16 points per pixel); the antialiased view must have
 * at least 10x less of it than plain bilinear. */
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
  ck_assert_msg(fabs(density - W / (2 * PI) / 64) < 0.05 && ss == (int)ceil(density), "density %.2f, supersample %d", density, ss);
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE,
                            &aa, NULL), TSR_OK);
  double e_plain = 0, e_aa = 0;
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++) {
      double ideal = 0;
      for (int j = 0; j < 16; j++)
        for (int i = 0; i < 16; i++) {
          double lon, lat, u, vv;
          ref_direction(x + (i + 0.5) / 16, y + (j + 0.5) / 16, n, n, 0, 0, 0, 90, &lon, &lat);
          to_pixel(lon, lat, W, H, &u, &vv);
          ideal += zone(u, vv, W, H);
        }
      ideal = ideal / 256 * 255;
      double dp = plain->data[y * n + x] - ideal, da = aa->data[y * n + x] - ideal;
      e_plain += dp * dp;
      e_aa += da * da;
    }
  printf("antialiasing[%s]: density %.2f, %dx%d samples: aliasing energy %.0f (plain bilinear) vs %.0f, %.1fx lower\n",
         tsr_context_device(ctx)->name, density, ss, ss, e_plain, e_aa, e_plain / e_aa);
  ck_assert_msg(e_plain >= 10 * e_aa, "antialiasing reduces aliasing only %.1fx", e_plain / e_aa);
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
  tcase_add_loop_test(tc, views_match_reference, 0, nb);
  tcase_add_loop_test(tc, conventions, 0, nb);
  tcase_add_loop_test(tc, antialiasing_zone_plate, 0, nb);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
