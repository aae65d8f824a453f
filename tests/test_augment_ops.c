/* tessera augment's op list (src/ops/augment_ops.c): the grammar and its
 * errors, and parameter draws that depend only on (seed, path, copy, op). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "augment.h"
#include "ops/augment_ops.h"
#include "testutil.h"

static tsr_status parse(const char *text, tsr__aug_ops *ops, char *err, size_t n) {
  tsr_context *ctx = tt_context("cpu");
  tsr_status st = tsr__aug_parse(ctx, text, ops);
  snprintf(err, n, "%s", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return st;
}

START_TEST(grammar) {
  tsr__aug_ops ops;
  char err[512], canon[4096];
  ck_assert_int_eq(parse("rrc(size=224, scale=0.08:1) hflip; rotate(deg=15,border=reflect),"
                         "resize(size=256x128,interp=area,aa=0) ccrop(size=224)"
                         " letterbox(size=640) vflip(p=1) affine(translate=0.1,scale=0.9:1.1,shear=5)"
                         " jitter(brightness=0.4,hue=0.1) gray(p=0.2) blur erase(area=0.02:0.2)",
                         &ops, err, sizeof err),
                   TSR_OK);
  ck_assert_int_eq(ops.n, 12);
  ck_assert_int_eq(ops.op[0].kind, TSR_AUG_RRC);
  ck_assert_int_eq(ops.op[0].w, 224);
  ck_assert_int_eq(ops.op[0].h, 0);
  ck_assert(ops.op[1].kind == TSR_AUG_HFLIP && ops.op[1].p == 0.5);
  ck_assert(ops.op[2].deg.lo == -15 && ops.op[2].deg.hi == 15 && ops.op[2].border == TSR_AUG_REFLECT);
  ck_assert(ops.op[8].brightness == 0.4 && ops.op[8].hue == 0.1 && ops.op[8].contrast == 0);
  ck_assert(ops.op[3].w == 256 && ops.op[3].h == 128 && ops.op[3].interp == TSR_AUG_AREA && ops.op[3].aa == 0);
  ck_assert_int_eq(ops.op[5].fill, 114);
  ck_assert(ops.op[7].shear.lo == -5 && ops.op[7].translate == 0.1);
  /* the canonical form parses back to itself */
  tsr__aug_canonical(&ops, canon, sizeof canon);
  tsr__aug_ops again;
  char canon2[4096];
  ck_assert_int_eq(parse(canon, &again, err, sizeof err), TSR_OK);
  tsr__aug_canonical(&again, canon2, sizeof canon2);
  ck_assert_str_eq(canon, canon2);
  /* errors name the op and the argument */
  static const struct {
    const char *ops, *says;
  } bad[] = {
      {"spin(deg=3)", "unknown op 'spin'"},
      {"rotate(deg=abc)", "rotate: deg 'abc' is not a number or a range"},
      {"rotate", "rotate needs deg="},
      {"rrc(scale=0.5:1)", "rrc needs size="},
      {"rrc(size=224, scale=1:0.5)", "rrc: scale '1:0.5'"},
      {"hflip(p=2)", "hflip: p '2' is not a probability"},
      {"resize(size=0)", "resize: size '0'"},
      {"blur(radius=3)", "blur: no argument 'radius'"},
      {"jitter(hue=0.7)", "jitter: hue '0.7' must be a number from 0 to 0.5"},
      {"erase(value=300)", "erase: value '300' is not a grey level"},
      {"gray(p=0.1", "gray: '(' without ')'"},
      {"hflip(0.5)", "hflip: '0.5' is not key=value"},
      {"", "no ops"},
      {"=x", "expected an op name"},
      {"rrc(size=64) blur(p=1) hflip", "blur sits between rrc and hflip"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(parse(bad[i].ops, &ops, err, sizeof err), TSR_E_INVALID);
    ck_assert_msg(strstr(err, bad[i].says), "'%s' gave '%s'", bad[i].ops, err);
  }
}
END_TEST

START_TEST(draws_depend_only_on_their_key) {
  tsr__aug_ops ops;
  char err[256];
  ck_assert_int_eq(parse("rrc(size=224) hflip rotate(deg=30) jitter(brightness=0.4,contrast=0.4,saturation=0.4,hue=0.1)"
                         " erase(p=1)",
                         &ops, err, sizeof err),
                   TSR_OK);
  uint64_t h1 = tsr__aug_path_hash("cats/0001.jpg"), h2 = tsr__aug_path_hash("cats/0002.jpg");
  ck_assert_uint_ne(h1, h2);
  ck_assert_uint_eq(h1, tsr__aug_path_hash("cats/0001.jpg"));
  tsr__aug_params a, b;
  for (int i = 0; i < ops.n; i++) {
    tsr__aug_draw(&ops.op[i], i, 42, h1, 3, 640, 480, &a);
    tsr__aug_draw(&ops.op[i], i, 42, h1, 3, 640, 480, &b);
    ck_assert_mem_eq(&a, &b, sizeof a); /* the same key, the same draw */
  }
  /* any part of the key changes the draws (rotation angle as the probe) */
  tsr__aug_draw(&ops.op[2], 2, 42, h1, 3, 640, 480, &a);
  const struct {
    uint64_t seed, hash;
    uint32_t copy;
    int op;
  } other[] = {{43, h1, 3, 2}, {42, h2, 3, 2}, {42, h1, 4, 2}, {42, h1, 3, 3}};
  for (int k = 0; k < 4; k++) {
    tsr__aug_draw(&ops.op[2], other[k].op, other[k].seed, other[k].hash, other[k].copy, 640, 480, &b);
    ck_assert(a.v[0] != b.v[0]);
  }
  /* crops and erased boxes lie inside, with the areas and ratios asked for */
  int flips = 0;
  for (uint32_t c = 0; c < 2000; c++) {
    tsr__aug_draw(&ops.op[0], 0, 7, h1, c, 640, 480, &a);
    ck_assert(a.rect[0] >= 0 && a.rect[1] >= 0 && a.rect[0] + a.rect[2] <= 640 && a.rect[1] + a.rect[3] <= 480);
    double area = (double)a.rect[2] * a.rect[3] / (640.0 * 480.0), ratio = (double)a.rect[2] / a.rect[3];
    ck_assert_double_ge(area, 0.079);
    ck_assert_double_le(ratio, 4.0 / 3.0 + 0.02);
    ck_assert_double_ge(ratio, 0.75 - 0.02);
    tsr__aug_draw(&ops.op[4], 4, 7, h1, c, 640, 480, &b);
    if (b.apply) ck_assert(b.rect[0] + b.rect[2] < 640 + 1 && b.rect[1] + b.rect[3] <= 480 && b.rect[2] > 0);
    tsr__aug_draw(&ops.op[1], 1, 7, h1, c, 640, 480, &a);
    flips += a.apply;
    tsr__aug_draw(&ops.op[2], 2, 7, h1, c, 640, 480, &a);
    ck_assert(a.v[0] >= -30 && a.v[0] < 30);
    tsr__aug_draw(&ops.op[3], 3, 7, h1, c, 640, 480, &a);
    ck_assert(a.v[0] >= 0.6 && a.v[0] < 1.4 && a.v[3] >= -0.1 && a.v[3] < 0.1 && a.v[4] >= 0 && a.v[4] < 24);
  }
  printf("  hflip(p=0.5) applied to %d of 2000 copies\n", flips);
  ck_assert_int_gt(flips, 900);
  ck_assert_int_lt(flips, 1100);
}
END_TEST

/* The colour math against double references: the exact value rounded
 * half up, clamped. */
START_TEST(colour_math_matches_double) {
  for (int r = 0; r < 256; r += 5)
    for (int g = 0; g < 256; g += 7)
      for (int b = 0; b < 256; b += 11) {
        double y = (77.0 * r + 150.0 * g + 29.0 * b) / 256.0;
        ck_assert_int_eq(tsr_luma8(r, g, b), (int)floor(y + 0.5));
      }
  static const double factors[] = {0.0, 0.25, 0.6, 0.999, 1.0, 1.37, 2.0, 3.5, 16.0};
  for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++) {
    int f = tsr_aug_q12(factors[i]);
    ck_assert_int_eq(f, (int)floor(factors[i] * 4096 + 0.5));
    for (int base = 0; base < 256; base += 17)
      for (int v = 0; v < 256; v++) {
        double ref = floor(base + (double)(v - base) * f / 4096.0 + 0.5);
        ref = ref < 0 ? 0 : ref > 255 ? 255 : ref;
        ck_assert_msg(tsr_aug_blend(v, base, f) == (int)ref, "v %d base %d f %d: %d, want %g", v, base, f,
                      tsr_aug_blend(v, base, f), ref);
      }
  }
  ck_assert_int_eq(tsr_aug_q12(100.0), 16 << 12);
  ck_assert_int_eq(tsr_aug_q12(-1.0), 0);
}
END_TEST

/* The composed map against each op's own map, written here: corners of
 * crops, flips undone by flips, a quarter turn, a letterbox, resize and
 * centre crop. */
static void map(const tsr__aug_plan *pl, double x, double y, double *u, double *v) {
  *u = pl->m[0] * x + pl->m[1] * y + pl->m[2];
  *v = pl->m[3] * x + pl->m[4] * y + pl->m[5];
}

static int near(double a, double b) { return fabs(a - b) < 1e-9; }

START_TEST(geometry_composes) {
  tsr__aug_ops ops;
  tsr__aug_plan pl;
  char err[256];
  double u, v;
  /* two flips: the identity */
  ck_assert_int_eq(parse("hflip(p=1) hflip(p=1) vflip(p=1) vflip(p=1)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 1, 2, 3, 640, 480, &pl);
  ck_assert(near(pl.m[0], 1) && near(pl.m[1], 0) && near(pl.m[2], 0) && near(pl.m[3], 0) && near(pl.m[4], 1) &&
            near(pl.m[5], 0));
  ck_assert(pl.out_w == 640 && pl.out_h == 480 && pl.geometric);
  /* a crop: the output's corners are the drawn rectangle's */
  ck_assert_int_eq(parse("rrc(size=224x160)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 9, 8, 7, 640, 480, &pl);
  const int *r = pl.params[0].rect;
  map(&pl, 0, 0, &u, &v);
  ck_assert(near(u, r[0]) && near(v, r[1]));
  map(&pl, 224, 160, &u, &v);
  ck_assert(near(u, r[0] + r[2]) && near(v, r[1] + r[3]));
  ck_assert(pl.out_w == 224 && pl.out_h == 160);
  /* a quarter turn counter-clockwise on the screen: the output's top-left
   * corner shows the input's top-right, its top-right the bottom-right */
  ck_assert_int_eq(parse("rotate(deg=90:90)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 1, 1, 1, 300, 300, &pl);
  map(&pl, 0, 0, &u, &v);
  ck_assert_msg(near(u, 300) && near(v, 0), "(0,0) -> (%g,%g)", u, v);
  map(&pl, 300, 0, &u, &v);
  ck_assert_msg(near(u, 300) && near(v, 300), "(300,0) -> (%g,%g)", u, v);
  /* a letterbox: 1280x720 into 640x640, scale 1/2, 140 rows above */
  ck_assert_int_eq(parse("letterbox(size=640)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 1, 1, 1, 1280, 720, &pl);
  map(&pl, 0, 140, &u, &v);
  ck_assert(near(u, 0) && near(v, 0));
  map(&pl, 640, 500, &u, &v);
  ck_assert(near(u, 1280) && near(v, 720));
  /* resize to a shorter side of 256, then a centre crop of 224 */
  ck_assert_int_eq(parse("resize(size=256) ccrop(size=224)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 1, 1, 1, 640, 480, &pl);
  ck_assert(pl.out_w == 224 && pl.out_h == 224);
  map(&pl, 0, 0, &u, &v); /* the crop starts at (341 - 224) / 2 = 58, (256 - 224) / 2 = 16 */
  ck_assert(near(u, 58 * 640.0 / 341) && near(v, 16 * 480.0 / 256));
  /* a pure shift */
  ck_assert_int_eq(parse("affine(translate=0.2)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 5, 5, 5, 500, 400, &pl);
  map(&pl, 100, 100, &u, &v);
  ck_assert(near(u, 100 - pl.params[0].v[3]) && near(v, 100 - pl.params[0].v[4]));
  ck_assert(fabs(pl.params[0].v[3]) <= 100 && fabs(pl.params[0].v[4]) <= 80);
  /* photometric ops alone: no geometry */
  ck_assert_int_eq(parse("gray(p=1) jitter(brightness=0.5)", &ops, err, sizeof err), TSR_OK);
  tsr__aug_plan_item(&ops, 5, 5, 5, 500, 400, &pl);
  ck_assert(!pl.geometric && pl.out_w == 500 && pl.out_h == 400);
}
END_TEST

int main(void) {
  Suite *s = suite_create("augment_ops");
  TCase *tc = tcase_create("augment_ops");
  tcase_add_test(tc, grammar);
  tcase_add_test(tc, draws_depend_only_on_their_key);
  tcase_add_test(tc, colour_math_matches_double);
  tcase_add_test(tc, geometry_composes);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
