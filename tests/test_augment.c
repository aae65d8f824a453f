/* tessera augment as a job (src/jobs/augment): the same bytes on every
 * backend, thread count, batch size and shard split; each op against a
 * double-precision reference written here; clips decode only what the
 * --frames sampling needs; bad inputs are named and skipped; resume,
 * folds, manifests and their merge. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "augment.h"
#include "io/codec.h"
#include "io/manifest.h"
#include "io/video.h"
#include "ops/augment_ops.h"
#include "testutil.h"

#define CLIP TSR_TEST_DATA "/clip_h264.mp4"

/* A small labelled dataset: in/cat/earth.jpg, in/dog/moto.png,
 * in/dog/deep/gray.pgm, in/top.png (no label). */
static char *make_dataset(void) {
  char *d = tt_tempdir(), p[4300];
  snprintf(p, sizeof p, "%s/in/dog/deep", d);
  ck_assert_int_eq(tsr__mkdirs(p), 0);
  snprintf(p, sizeof p, "%s/in/cat", d);
  ck_assert_int_eq(tsr__mkdirs(p), 0);
  tsr_context *ctx = tt_context("cpu");
  tsr_image *e = tt_load(TSR_TEST_DATA "/earth_2048x1024.jpg"), *m = tt_load(TSR_TEST_DATA "/motorcycle_q/im0.png");
  snprintf(p, sizeof p, "%s/in/cat/earth.jpg", d);
  ck_assert_int_eq(tsr_image_write(ctx, e, p, NULL), TSR_OK);
  snprintf(p, sizeof p, "%s/in/dog/moto.png", d);
  ck_assert_int_eq(tsr_image_write(ctx, m, p, NULL), TSR_OK);
  tsr_image *g = NULL, *t = NULL;
  ck_assert_int_eq(tsr_image_create(151, 97, 1, 8, &g), TSR_OK);
  tt_fill_smooth(g, 3);
  snprintf(p, sizeof p, "%s/in/dog/deep/gray.pgm", d);
  ck_assert_int_eq(tsr_image_write(ctx, g, p, NULL), TSR_OK);
  ck_assert_int_eq(tsr_image_create(120, 90, 3, 8, &t), TSR_OK);
  tt_fill_random(t, 9);
  snprintf(p, sizeof p, "%s/in/top.png", d);
  ck_assert_int_eq(tsr_image_write(ctx, t, p, NULL), TSR_OK);
  tsr_image_free(e);
  tsr_image_free(m);
  tsr_image_free(g);
  tsr_image_free(t);
  tsr_context_destroy(ctx);
  return d;
}

static tsr_status run(const char *device, int threads, const char *const *in, int n, const tsr_augment_options *o,
                      tsr_augment_result *r, char *err, size_t errlen) {
  tsr_context_options co;
  tsr_context_options_init(&co);
  co.device = device;
  co.threads = threads;
  co.quiet = 1;
  tsr_context *ctx = NULL;
  ck_assert_int_eq(tsr_context_create(&co, &ctx), TSR_OK);
  tsr_augment_result local;
  tsr_status st = tsr_augment(ctx, in, n, o, r ? r : &local);
  if (err) snprintf(err, errlen, "%s", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return st;
}

/* Whether two files hold the same bytes (both must exist). */
static int same_file(const char *a, const char *b) {
  uint8_t *x, *y;
  size_t nx, ny;
  tsr_context *ctx = tt_context("cpu");
  ck_assert_msg(tsr__read_file(ctx, a, &x, &nx) == TSR_OK, "%s", a);
  ck_assert_msg(tsr__read_file(ctx, b, &y, &ny) == TSR_OK, "%s", b);
  tsr_context_destroy(ctx);
  int same = nx == ny && !memcmp(x, y, nx);
  free(x);
  free(y);
  return same;
}

/* Compares every output file of two folders (not the manifests, run
 * records and locks) byte for byte; returns how many were compared. */
static int same_tree(const char *a, const char *b, const char *sub) {
  char pa[4300], pb[4300];
  snprintf(pa, sizeof pa, "%s%s%s", a, *sub ? "/" : "", sub);
  snprintf(pb, sizeof pb, "%s%s%s", b, *sub ? "/" : "", sub);
  DIR *d = opendir(pa);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *nm = e->d_name;
    if (nm[0] == '.' || !strncmp(nm, "manifest", 8) || !strcmp(nm, "run.json")) continue;
    char rel[4300], fa[4400], fb[4400];
    snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", nm);
    snprintf(fa, sizeof fa, "%s/%s", a, rel);
    snprintf(fb, sizeof fb, "%s/%s", b, rel);
    struct stat sa, sb;
    ck_assert_int_eq(stat(fa, &sa), 0);
    ck_assert_msg(stat(fb, &sb) == 0, "%s is missing", fb);
    if (S_ISDIR(sa.st_mode)) {
      n += same_tree(a, b, rel);
      continue;
    }
    ck_assert_msg(same_file(fa, fb), "%s differs", rel);
    n++;
  }
  closedir(d);
  /* and nothing in b that a lacks */
  d = opendir(pb);
  int nb = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && strncmp(e->d_name, "manifest", 8) && strcmp(e->d_name, "run.json")) nb++;
  closedir(d);
  DIR *d2 = opendir(pa);
  int na = 0;
  while ((e = readdir(d2)))
    if (e->d_name[0] != '.' && strncmp(e->d_name, "manifest", 8) && strcmp(e->d_name, "run.json")) na++;
  closedir(d2);
  ck_assert_int_eq(na, nb);
  return n;
}

static const char *const op_lists[] = {
    "rrc(size=96); hflip; vflip(p=0.3); rotate(deg=30,border=reflect); jitter(brightness=0.4,contrast=0.4,"
    "saturation=0.4,hue=0.2); gray(p=0.3); blur(p=0.7,sigma=0.5:2); erase(p=0.7,value=77)",
    "jitter(contrast=0.6,hue=0.3,p=1); blur(p=1); affine(translate=0.1,scale=0.7:1.3,shear=10,deg=20,border=replicate);"
    " resize(size=100,interp=bicubic); ccrop(size=80); letterbox(size=96x64,fill=9)",
    "resize(size=64x48,interp=nearest); erase(p=1,value=200,area=0.1:0.2)",
};

static void out_dir(const char *root, const char *name, char *out, size_t n) { snprintf(out, n, "%s/%s", root, name); }

START_TEST(backends_write_identical_bytes) {
  char *d = make_dataset(), in[4300], a[4300], b[4300], c[4300], err[1024];
  snprintf(in, sizeof in, "%s/in", d);
  const char *inputs[2] = {in, CLIP};
  char dev[64];
  tt_opencl_present(dev, sizeof dev);
  for (int l = 0; l < 3; l++) {
    tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
    o.ops = op_lists[l];
    o.seed = 7;
    o.copies = 2;
    o.frames = 3;
    char name[32];
    snprintf(name, sizeof name, "cpu%d", l);
    out_dir(d, name, a, sizeof a);
    o.outdir = a;
    ck_assert_int_eq(run("cpu", 2, inputs, 2, &o, NULL, err, sizeof err), TSR_OK);
    snprintf(name, sizeof name, "cl%d", l);
    out_dir(d, name, b, sizeof b);
    o.outdir = b;
    o.batch = 1;
    ck_assert_msg(run("cl", 2, inputs, 2, &o, NULL, err, sizeof err) == TSR_OK, "%s", err);
    snprintf(name, sizeof name, "clb%d", l);
    out_dir(d, name, c, sizeof c);
    o.outdir = c;
    o.batch = 4;
    ck_assert_int_eq(run("cl", 2, inputs, 2, &o, NULL, err, sizeof err), TSR_OK);
    int n = same_tree(a, b, "");
    ck_assert_int_eq(same_tree(a, c, ""), n);
    ck_assert_int_eq(n, 4 * 2 + 2 * 3); /* 4 images x 2 copies + 2 clips of 3 frames */
    printf("augment: op list %d: %d files identical on cpu and %s (batches 1 and 4)\n", l, n, dev);
  }
  tt_rmtree(d);
  free(d);
}
END_TEST

START_TEST(threads_shards_and_seeds) {
  char *d = make_dataset(), in[4300], a[4300], b[4300], s[4300], e[4300], err[1024];
  snprintf(in, sizeof in, "%s/in", d);
  const char *inputs[2] = {in, CLIP};
  tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
  o.ops = op_lists[0];
  o.seed = 11;
  o.copies = 3;
  o.frames = 2;
  o.folds = 3;
  out_dir(d, "t1", a, sizeof a);
  o.outdir = a;
  tsr_augment_result r;
  ck_assert_int_eq(run("cpu", 1, inputs, 2, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.outputs, 5 * 3);
  out_dir(d, "t2", b, sizeof b);
  o.outdir = b;
  ck_assert_int_eq(run("cpu", 2, inputs, 2, &o, NULL, err, sizeof err), TSR_OK);
  ck_assert_int_eq(same_tree(a, b, ""), 4 * 3 + 3 * 2);
  /* four shards into one folder: the same files; their manifests merge
   * into the one run's, sorted */
  out_dir(d, "sh", s, sizeof s);
  o.outdir = s;
  int total = 0;
  for (int i = 0; i < 4; i++) {
    o.shard = i;
    o.shards = 4;
    ck_assert_int_eq(run("cpu", 2, inputs, 2, &o, &r, err, sizeof err), TSR_OK);
    total += r.items;
  }
  ck_assert_int_eq(total, 5);
  ck_assert_int_eq(same_tree(a, s, ""), 4 * 3 + 3 * 2);
  char m1[4400], m2[4400], shard_m[4][4400];
  const char *sm[4];
  for (int i = 0; i < 4; i++) {
    snprintf(shard_m[i], sizeof shard_m[i], "%s/manifest.shard-%d-of-4.csv", s, i);
    sm[i] = shard_m[i];
  }
  snprintf(m1, sizeof m1, "%s/merged_shards.csv", d);
  snprintf(m2, sizeof m2, "%s/merged_single.csv", d);
  char one[4400];
  snprintf(one, sizeof one, "%s/manifest.csv", a);
  const char *single[1] = {one};
  tsr_context *ctx = tt_context("cpu");
  ck_assert_int_eq(tsr_manifest_merge(ctx, sm, 4, m1), TSR_OK);
  ck_assert_int_eq(tsr_manifest_merge(ctx, single, 1, m2), TSR_OK);
  ck_assert_msg(same_file(m1, m2), "merged shard manifests differ from the single run's");
  uint8_t *x;
  size_t nx;
  ck_assert_int_eq(tsr__read_file(ctx, m1, &x, &nx), TSR_OK);
  /* 16 lines: the header and 15 outputs, each with its fold */
  int lines = 0;
  for (size_t i = 0; i < nx; i++) lines += x[i] == '\n';
  ck_assert_int_eq(lines, 16);
  ck_assert_ptr_nonnull(strstr((const char *)x, "output,label,source,copy,fold,seed,params\n"));
  ck_assert_ptr_nonnull(strstr((const char *)x, "cat/earth_aug2.jpg,cat,"));
  free(x);
  tsr_context_destroy(ctx);
  /* copy k's bytes do not depend on how many copies are asked for (each
   * copy decodes at its own scale; regions are exact) */
  char c1[4300];
  out_dir(d, "one_copy", c1, sizeof c1);
  o.outdir = c1;
  o.copies = 1;
  o.shard = 0;
  o.shards = 1;
  ck_assert_int_eq(run("cpu", 2, inputs, 2, &o, NULL, err, sizeof err), TSR_OK);
  {
    const char *names[] = {"cat/earth_aug0.jpg", "dog/moto_aug0.png", "dog/deep/gray_aug0.png", "top_aug0.png"};
    for (int i = 0; i < 4; i++) {
      char fa[4500], fb[4500];
      snprintf(fa, sizeof fa, "%s/%s", a, names[i]);
      snprintf(fb, sizeof fb, "%s/%s", c1, names[i]);
      ck_assert_msg(same_file(fa, fb), "%s differs between --copies 3 and --copies 1", names[i]);
    }
  }
  o.copies = 3;
  /* another seed: other bytes */
  o.shard = 0;
  o.shards = 1;
  o.seed = 12;
  out_dir(d, "seed12", e, sizeof e);
  o.outdir = e;
  ck_assert_int_eq(run("cpu", 2, inputs, 2, &o, NULL, err, sizeof err), TSR_OK);
  int differ = 0;
  for (int k = 0; k < 3; k++) {
    char fa[4500], fb[4500];
    snprintf(fa, sizeof fa, "%s/dog/moto_aug%d.png", a, k);
    snprintf(fb, sizeof fb, "%s/dog/moto_aug%d.png", e, k);
    tsr_image *ia = tt_load(fa), *ib = tt_load(fb);
    differ += ia->width != ib->width || ia->height != ib->height || tt_max_diff(ia, ib) > 0;
    tsr_image_free(ia);
    tsr_image_free(ib);
  }
  ck_assert_int_eq(differ, 3);
  tt_rmtree(d);
  free(d);
}
END_TEST

/* ---- the ops against double-precision references -------------------------------- */
static double ref_px(const tsr_image *s, int border, int fill, long x, long y, int c) {
  int w = s->width, h = s->height;
  if (x < 0 || y < 0 || x >= w || y >= h) {
    if (border == 0) return fill;
    if (border == 1) {
      x = x < 0 ? 0 : x >= w ? w - 1 : x;
      y = y < 0 ? 0 : y >= h ? h - 1 : y;
    } else {
      while (x < 0 || x >= w) x = x < 0 ? -x : 2 * (w - 1) - x;
      while (y < 0 || y >= h) y = y < 0 ? -y : 2 * (h - 1) - y;
    }
  }
  return s->data[((size_t)y * w + x) * s->channels + c];
}

/* The resample in doubles: the mean over n x n points of bilinear
 * interpolation of the map's input position. */
static double ref_sample(const tsr_image *s, const double m[6], int border, int fill, int n, int x, int y, int c) {
  double acc = 0;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < n; i++) {
      double ox = x + (i + 0.5) / n, oy = y + (j + 0.5) / n;
      double u = m[0] * ox + m[1] * oy + m[2] - 0.5, v = m[3] * ox + m[4] * oy + m[5] - 0.5;
      long x0 = (long)floor(u), y0 = (long)floor(v);
      double fx = u - x0, fy = v - y0;
      acc += (1 - fy) * ((1 - fx) * ref_px(s, border, fill, x0, y0, c) + fx * ref_px(s, border, fill, x0 + 1, y0, c)) +
             fy * ((1 - fx) * ref_px(s, border, fill, x0, y0 + 1, c) + fx * ref_px(s, border, fill, x0 + 1, y0 + 1, c));
    }
  return acc / (n * n);
}

static void plan_exec(const char *ops_text, int w, int h, int ch, uint32_t copy, tsr__aug_ops *ops, tsr__aug_plan *plan,
                      tsr__aug_exec *e) {
  tsr_context *ctx = tt_context("cpu");
  ck_assert_int_eq(tsr__aug_parse(ctx, ops_text, ops), TSR_OK);
  tsr_context_destroy(ctx);
  tsr__aug_plan_item(ops, 5, tsr__aug_path_hash("x.png"), copy, w, h, plan);
  tsr__aug_exec_make(ops, plan, w, h, ch, 1, 0, 0, e);
}

START_TEST(resample_matches_reference) {
  tsr_image *s = NULL;
  ck_assert_int_eq(tsr_image_create(203, 151, 3, 8, &s), TSR_OK);
  tt_fill_smooth(s, 4);
  static const struct {
    const char *ops;
    int border, fill, min_sub;
  } cases[] = {
      {"rotate(deg=37,border=reflect)", 2, 0, 0},
      {"rotate(deg=-71,border=constant,fill=40)", 0, 40, 0},
      {"affine(translate=0.2,scale=0.6:0.6,shear=15,deg=10,border=replicate)", 1, 0, 0},
      {"hflip(p=1); vflip(p=1); resize(size=300x260)", 0, 0, 0},
      {"rrc(size=32,scale=1:1,ratio=1:1)", 0, 0, 3}, /* a 5x shrink: 8 x 8 points */
      {"resize(size=90)", 0, 0, 1},
      {"letterbox(size=120x40,fill=33)", 0, 33, 1},
      {"affine(translate=0.3,scale=1.7:1.7,border=replicate)", 1, 0, 0},
  };
  for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
    tsr__aug_ops ops;
    tsr__aug_plan plan;
    tsr__aug_exec e;
    plan_exec(cases[t].ops, s->width, s->height, 3, 0, &ops, &plan, &e);
    ck_assert_int_ge(e.sub, cases[t].min_sub);
    ck_assert_int_eq(e.border, cases[t].border);
    uint8_t *out = malloc((size_t)e.out_w * e.out_h * 3);
    tsr__aug_scratch wk = {0};
    ck_assert_int_eq(tsr__aug_run_cpu(&e, s->data, out, &wk), TSR_OK);
    int worst = 0;
    for (int y = 0; y < e.out_h; y++)
      for (int x = 0; x < e.out_w; x++)
        for (int c = 0; c < 3; c++) {
          double r = ref_sample(s, plan.m, cases[t].border, cases[t].fill, 1 << e.sub, x, y, c);
          int want = (int)floor(r + 0.5), got = out[((size_t)y * e.out_w + x) * 3 + c];
          int dd = abs(got - want);
          if (dd > worst) worst = dd;
        }
    ck_assert_msg(worst <= 1, "%s: off by %d from the double-precision resample", cases[t].ops, worst);
    /* the CPU loops (separable where the map allows, written-out bilinear)
     * give the bytes of the shared per-pixel function the kernels run */
    for (int y = 0; y < e.out_h; y++)
      for (int x = 0; x < e.out_w; x++) {
        uint8_t px[4];
        tsr_aug_sample(s->data, s->width, s->height, 3, e.q[0], e.q[1], e.q[2], e.q[3], e.q[4], e.q[5], e.interp, e.sub,
                       e.border, e.fill, x, y, px);
        ck_assert_msg(!memcmp(px, out + ((size_t)y * e.out_w + x) * 3, 3), "%s: pixel %d,%d differs from tsr_aug_sample",
                      cases[t].ops, x, y);
      }
    free(out);
    free(wk.buf);
  }
  /* flips alone are exact */
  tsr__aug_ops ops;
  tsr__aug_plan plan;
  tsr__aug_exec e;
  plan_exec("hflip(p=1)", s->width, s->height, 3, 0, &ops, &plan, &e);
  uint8_t *out = malloc((size_t)s->width * s->height * 3);
  tsr__aug_scratch wk = {0};
  ck_assert_int_eq(tsr__aug_run_cpu(&e, s->data, out, &wk), TSR_OK);
  for (int y = 0; y < s->height; y++)
    for (int x = 0; x < s->width; x++)
      for (int c = 0; c < 3; c++)
        ck_assert_int_eq(out[((size_t)y * s->width + x) * 3 + c], s->data[((size_t)y * s->width + s->width - 1 - x) * 3 + c]);
  free(out);
  free(wk.buf);
  tsr_image_free(s);
}
END_TEST

/* HSV in doubles, as colorsys: hue turned by `turn`. */
static void ref_hue(const int in[3], double turn, double out[3]) {
  double r = in[0] / 255.0, g = in[1] / 255.0, b = in[2] / 255.0;
  double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b)), c = mx - mn, h = 0;
  if (c == 0) {
    for (int k = 0; k < 3; k++) out[k] = in[k];
    return;
  }
  if (mx == r) h = fmod((g - b) / c, 6.0);
  else if (mx == g) h = (b - r) / c + 2;
  else h = (r - g) / c + 4;
  h = fmod(h / 6.0 + turn + 2.0, 1.0) * 6.0;
  int sec = (int)floor(h);
  double f = h - sec, v = mx, p = mn, q = mx - c * f, t = mn + c * f;
  double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  for (int k = 0; k < 3; k++) out[k] = rgb[sec % 6][k] * 255.0;
}

START_TEST(pixel_ops_match_references) {
  /* hue: random colours and turns, within 1 */
  uint32_t st = 12345;
  int worst = 0;
  for (int i = 0; i < 200000; i++) {
    int in[3];
    for (int k = 0; k < 3; k++) {
      st = st * 1664525u + 1013904223u;
      in[k] = (int)(st >> 24);
    }
    st = st * 1664525u + 1013904223u;
    double turn = ((st >> 8) / 16777216.0 - 0.5);
    int32_t s = (int32_t)floor(turn * 6 * 65536 + 0.5);
    s = ((s % (6 * 65536)) + 6 * 65536) % (6 * 65536);
    double want[3];
    ref_hue(in, s / (6.0 * 65536.0), want);
    int r = in[0], g = in[1], b = in[2];
    tsr_aug_hue(&r, &g, &b, s);
    int got[3] = {r, g, b};
    for (int k = 0; k < 3; k++) {
      int dd = abs(got[k] - (int)floor(want[k] + 0.5));
      if (dd > worst) worst = dd;
    }
  }
  ck_assert_msg(worst <= 1, "hue off by %d", worst);
  /* blur against the Gaussian in doubles (the same radius, exact weights) */
  tsr_image *im = NULL;
  ck_assert_int_eq(tsr_image_create(77, 53, 3, 8, &im), TSR_OK);
  tt_fill_random(im, 2);
  tsr__aug_ops ops;
  tsr__aug_plan plan;
  tsr__aug_exec e;
  plan_exec("blur(p=1,sigma=1.7:1.7)", im->width, im->height, 3, 0, &ops, &plan, &e);
  ck_assert_int_eq(e.npost, 1);
  ck_assert_int_eq(e.post[0].kind, TSR_AUGP_BLUR);
  int r = e.post[0].a;
  ck_assert_int_eq(r, 6);
  double wts[13], sum = 0;
  for (int k = -r; k <= r; k++) sum += wts[k + r] = exp(-(double)(k * k) / (2 * 1.7 * 1.7));
  uint8_t *out = malloc((size_t)77 * 53 * 3);
  tsr__aug_scratch wk = {0};
  ck_assert_int_eq(tsr__aug_run_cpu(&e, im->data, out, &wk), TSR_OK);
  worst = 0;
  for (int y = 0; y < 53; y++)
    for (int x = 0; x < 77; x++)
      for (int c = 0; c < 3; c++) {
        double acc = 0;
        for (int b = -r; b <= r; b++)
          for (int a = -r; a <= r; a++)
            acc += wts[a + r] * wts[b + r] / (sum * sum) * ref_px(im, 2, 0, x + a, y + b, c);
        int dd = abs(out[((size_t)y * 77 + x) * 3 + c] - (int)floor(acc + 0.5));
        if (dd > worst) worst = dd;
      }
  ck_assert_msg(worst <= 1, "blur off by %d", worst);
  /* the CPU loops (tables for brightness, contrast and hue, constant
   * strides) give the bytes of the shared per-pixel function, op by op in
   * the drawn order, for many draws */
  for (uint32_t k = 0; k < 16; k++) {
    plan_exec("jitter(brightness=0.5,contrast=0.5,saturation=0.8,hue=0.5,p=1)", im->width, im->height, 3, k, &ops,
              &plan, &e);
    ck_assert_int_ge(e.npost, 3);
    ck_assert_int_eq(tsr__aug_run_cpu(&e, im->data, out, &wk), TSR_OK);
    uint8_t *ref = malloc((size_t)77 * 53 * 3);
    memcpy(ref, im->data, (size_t)77 * 53 * 3);
    for (int q = 0; q < e.npost; q++) {
      int32_t b = 0;
      if (e.post[q].kind == TSR_AUGP_CONTRAST) {
        uint64_t sum = 0;
        for (int i = 0; i < 77 * 53; i++) sum += (uint64_t)tsr_luma8(ref[3 * i], ref[3 * i + 1], ref[3 * i + 2]);
        b = (int32_t)((sum + 77 * 53 / 2) / (77 * 53));
      }
      for (int i = 0; i < 77 * 53; i++) tsr_aug_point(e.post[q].kind, e.post[q].a, b, 3, ref + 3 * i);
    }
    ck_assert_msg(!memcmp(ref, out, (size_t)77 * 53 * 3), "draw %u: the CPU loops differ from tsr_aug_point", k);
    free(ref);
  }
  /* gray and erase: exact */
  plan_exec("gray(p=1); erase(p=1,value=13)", im->width, im->height, 3, 0, &ops, &plan, &e);
  ck_assert_int_eq(tsr__aug_run_cpu(&e, im->data, out, &wk), TSR_OK);
  const int *rc = plan.params[1].rect;
  ck_assert(rc[2] > 0 && rc[3] > 0);
  for (int y = 0; y < 53; y++)
    for (int x = 0; x < 77; x++) {
      const uint8_t *p = im->data + ((size_t)y * 77 + x) * 3, *q = out + ((size_t)y * 77 + x) * 3;
      int inside = x >= rc[0] && x < rc[0] + rc[2] && y >= rc[1] && y < rc[1] + rc[3];
      int l = (int)floor((77.0 * p[0] + 150.0 * p[1] + 29.0 * p[2]) / 256.0 + 0.5);
      for (int c = 0; c < 3; c++) ck_assert_int_eq(q[c], inside ? 13 : l);
    }
  /* contrast uses the image's mean luma, rounded */
  plan_exec("jitter(contrast=0.5,p=1)", im->width, im->height, 3, 0, &ops, &plan, &e);
  ck_assert_int_eq(tsr__aug_run_cpu(&e, im->data, out, &wk), TSR_OK);
  double msum = 0;
  for (int i = 0; i < 77 * 53; i++) {
    const uint8_t *p = im->data + (size_t)i * 3;
    msum += tsr_luma8(p[0], p[1], p[2]);
  }
  double mean = floor(msum / (77 * 53) + 0.5), f = plan.params[0].v[1];
  worst = 0;
  for (int i = 0; i < 77 * 53 * 3; i++) {
    double want = mean + (im->data[i] - mean) * f;
    want = want < 0 ? 0 : want > 255 ? 255 : want;
    int dd = abs(out[i] - (int)floor(want + 0.5));
    if (dd > worst) worst = dd;
  }
  ck_assert_msg(worst <= 1, "contrast off by %d", worst);
  free(out);
  free(wk.buf);
  tsr_image_free(im);
}
END_TEST

/* A copy decodes only its region of a JPEG, at its own DCT scale: the
 * output equals the one from the whole image decoded at that scale (4:2:0
 * chroma, whose upsampling differs at a cropped edge, is what the margins
 * are for), so a copy's bytes do not depend on the region or on the other
 * copies. */
START_TEST(jpeg_regions_equal_whole_decodes) {
  tsr_context *ctx = tt_context("cpu");
  tsr_image *m = tt_load(TSR_TEST_DATA "/motorcycle_q/im0.png");
  char *d = tt_tempdir(), p[4300];
  snprintf(p, sizeof p, "%s/m.jpg", d);
  tsr_write_options wo = TSR_WRITE_OPTIONS_INIT;
  wo.quality = 90;
  wo.subsampling = 420;
  ck_assert_int_eq(tsr_image_write(ctx, m, p, &wo), TSR_OK);
  uint8_t *buf;
  size_t size;
  ck_assert_int_eq(tsr__read_file(ctx, p, &buf, &size), TSR_OK);
  static const char *const lists[] = {"rrc(size=64); hflip", "rrc(size=40,scale=0.5:1)",
                                      "rotate(deg=25,border=replicate); ccrop(size=90)",
                                      "affine(translate=0.3,scale=0.5:0.8,border=constant,fill=5); resize(size=50x40)",
                                      "rrc(size=48,scale=0.01:0.05,interp=bicubic)"};
  int regions = 0, scaled = 0;
  for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
    for (uint32_t k = 0; k < 12; k++) {
      tsr__aug_ops ops;
      tsr__aug_plan plan;
      tsr__aug_exec probe;
      plan_exec(lists[l], m->width, m->height, 3, k, &ops, &plan, &probe);
      int dn = 1;
      while (dn < 8 && 2.0 * dn <= tsr__aug_shrink(&plan)) dn *= 2;
      int sw = (m->width + dn - 1) / dn, sh = (m->height + dn - 1) / dn, r[4], ox = 0;
      tsr_image *whole = NULL, *part = NULL;
      ck_assert_int_eq(tsr__jpeg_decode_band(ctx, buf, size, "m.jpg", dn, 0, sh, &whole), TSR_OK);
      tsr__aug_exec e1, e2;
      tsr__aug_exec_make(&ops, &plan, sw, sh, 3, dn, 0, 0, &e1);
      tsr__aug_region(&e1, &plan, dn, sw, sh, r);
      ck_assert_int_eq(tsr__jpeg_decode_region(ctx, buf, size, "m.jpg", dn, r[0], r[1], r[2], r[3], &part, &ox), TSR_OK);
      tsr__aug_exec_make(&ops, &plan, part->width, part->height, 3, dn, ox, r[1], &e2);
      regions += part->width < sw || part->height < sh;
      scaled += dn > 1;
      size_t ob = (size_t)plan.out_w * plan.out_h * 3;
      uint8_t *a = malloc(ob), *b = malloc(ob);
      tsr__aug_scratch wk = {0};
      ck_assert_int_eq(tsr__aug_run_cpu(&e1, whole->data, a, &wk), TSR_OK);
      ck_assert_int_eq(tsr__aug_run_cpu(&e2, part->data, b, &wk), TSR_OK);
      ck_assert_msg(!memcmp(a, b, ob), "%s, copy %u: the region (%d,%d %dx%d at 1/%d) gives other bytes", lists[l], k,
                    r[0], r[1], r[2], r[3], dn);
      free(a);
      free(b);
      free(wk.buf);
      tsr_image_free(whole);
      tsr_image_free(part);
    }
  ck_assert_int_ge(regions, 30);
  ck_assert_int_ge(scaled, 5);
  printf("augment: %d of 60 copies read a region, %d at a DCT scale: the same bytes as whole decodes\n", regions, scaled);
  free(buf);
  tsr_image_free(m);
  tsr_context_destroy(ctx);
  tt_rmtree(d);
  free(d);
}
END_TEST

START_TEST(clips_decode_only_what_they_need) {
  tsr__video *v = NULL;
  char err[512];
  ck_assert_int_eq(tsr__video_open(CLIP, NULL, &v, err, sizeof err), TSR_OK);
  tsr__video_stats vs;
  tsr__video_get_stats(v, &vs);
  tsr__video_close(v);
  double gop = vs.gop_frames;
  ck_assert(gop > 1);
  char *d = tt_tempdir(), out[4300];
  snprintf(out, sizeof out, "%s/o", d);
  const char *in[1] = {CLIP};
  tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
  o.ops = "resize(size=64x32); hflip";
  o.frames = 6;
  o.format = TSR_AUG_OUT_NPY;
  o.outdir = out;
  tsr_augment_result r;
  ck_assert_int_eq(run("cpu", 2, in, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.kept_frames, 6);
  /* each kept frame costs at most its GOP: far fewer than the 300 frames */
  ck_assert_msg(r.decoded_frames <= (long)ceil(6 * gop) && r.decoded_frames < 300, "decoded %ld (GOP %.1f)",
                r.decoded_frames, gop);
  printf("augment: --frames 6 of a 300-frame clip (GOP %.1f): %ld frames decoded\n", gop, r.decoded_frames);
  /* the .npy: (6, 32, 64, 3) uint8 */
  char p[4400];
  snprintf(p, sizeof p, "%s/clip_h264_aug0.npy", out);
  tsr_context *ctx = tt_context("cpu");
  uint8_t *b;
  size_t n;
  ck_assert_int_eq(tsr__read_file(ctx, p, &b, &n), TSR_OK);
  tsr_context_destroy(ctx);
  ck_assert(n > 10 && !memcmp(b, "\x93NUMPY\x01\x00", 8));
  size_t hl = 10 + (size_t)(b[8] | b[9] << 8);
  ck_assert_int_eq(hl % 64, 0);
  ck_assert_ptr_nonnull(strstr((const char *)b + 10, "'shape': (6, 32, 64, 3)"));
  ck_assert_uint_eq(n, hl + (size_t)6 * 32 * 64 * 3);
  free(b);
  tt_rmtree(d);
  free(d);
}
END_TEST

START_TEST(bad_inputs_are_named_and_skipped) {
  char *d = make_dataset(), in[4300], out[4300], p[4400], err[1024];
  snprintf(in, sizeof in, "%s/in", d);
  snprintf(p, sizeof p, "%s/in/cat/broken.jpg", d);
  tt_write_file(p, "not a jpeg at all", 17);
  snprintf(p, sizeof p, "%s/in/dog/broken.mp4", d);
  tt_write_file(p, "\0\0\0\x18" "ftypisom garbage garbage garbage", 36);
  /* a second image of the same stem: as PNG its outputs would collide */
  snprintf(p, sizeof p, "%s/in/dog/moto.ppm", d);
  {
    tsr_context *cx = tt_context("cpu");
    tsr_image *sm = NULL;
    ck_assert_int_eq(tsr_image_create(20, 10, 3, 8, &sm), TSR_OK);
    tt_fill_random(sm, 1);
    ck_assert_int_eq(tsr_image_write(cx, sm, p, NULL), TSR_OK);
    tsr_image_free(sm);
    tsr_context_destroy(cx);
  }
  /* a link back up the tree: not followed (it would never end) */
  snprintf(p, sizeof p, "%s/in/dog/loop", d);
  ck_assert_int_eq(symlink("..", p), 0);
  snprintf(out, sizeof out, "%s/o", d);
  const char *inputs[1] = {in};
  tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
  o.ops = "rrc(size=48); hflip";
  o.copies = 2;
  o.outdir = out;
  tsr_augment_result r;
  tsr_status st = run("cpu", 2, inputs, 1, &o, &r, err, sizeof err);
  ck_assert_int_ne(st, TSR_OK);
  ck_assert_int_eq(r.failed, 3);
  ck_assert_int_eq(r.done, 4);
  ck_assert_msg(strstr(err, "broken") || strstr(err, "overwrite"), "%s", err);
  snprintf(p, sizeof p, "%s/dog/deep/gray_aug1.png", out);
  ck_assert(tt_file_exists(p));
  /* the CLI names each bad file on its own line */
  char cmd[9000], cerr[4096];
  snprintf(cmd, sizeof cmd, "augment '%s' -o '%s/o2' --ops 'rrc(size=48)' --device cpu", in, d);
  ck_assert_int_ne(tt_cli(cmd, cerr, sizeof cerr), 0);
  ck_assert_msg(strstr(cerr, "cat/broken.jpg") && strstr(cerr, "dog/broken.mp4"), "%s", cerr);
  ck_assert_msg(strstr(cerr, "moto.ppm: its outputs would overwrite those of") && strstr(cerr, "moto.png"), "%s", cerr);
  /* a bad op string: named, nothing written */
  snprintf(cmd, sizeof cmd, "augment '%s' -o '%s/o3' --ops 'rrc(size=48); spin(deg=3)'", in, d);
  ck_assert_int_ne(tt_cli(cmd, cerr, sizeof cerr), 0);
  ck_assert_msg(strstr(cerr, "unknown op 'spin'"), "%s", cerr);
  snprintf(p, sizeof p, "%s/o3", d);
  ck_assert(!tt_file_exists(p));
  snprintf(cmd, sizeof cmd, "augment '%s' -o '%s/o3' --ops 'rrc(size=48); jitter(hue=0.1); hflip'", in, d);
  ck_assert_int_ne(tt_cli(cmd, cerr, sizeof cerr), 0);
  ck_assert_msg(strstr(cerr, "jitter sits between rrc and hflip"), "%s", cerr);
  tt_rmtree(d);
  free(d);
}
END_TEST

START_TEST(resume_refuses_other_options_and_folds_are_stratified) {
  char *d = tt_tempdir(), p[4400], out[4300], err[1024];
  /* 2 labels x 10 images */
  tsr_context *ctx = tt_context("cpu");
  for (int l = 0; l < 2; l++) {
    snprintf(p, sizeof p, "%s/in/%s", d, l ? "b" : "a");
    ck_assert_int_eq(tsr__mkdirs(p), 0);
    for (int i = 0; i < 10; i++) {
      tsr_image *im = NULL;
      ck_assert_int_eq(tsr_image_create(40, 30, 3, 8, &im), TSR_OK);
      tt_fill_random(im, (unsigned)(l * 10 + i));
      snprintf(p, sizeof p, "%s/in/%s/img%02d.png", d, l ? "b" : "a", i);
      ck_assert_int_eq(tsr_image_write(ctx, im, p, NULL), TSR_OK);
      tsr_image_free(im);
    }
  }
  char in[4300];
  snprintf(in, sizeof in, "%s/in", d);
  snprintf(out, sizeof out, "%s/o", d);
  const char *inputs[1] = {in};
  tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
  o.ops = "hflip; jitter(brightness=0.3)";
  o.copies = 2;
  o.folds = 5;
  o.outdir = out;
  tsr_augment_result r;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.done, 20);
  /* each label has each fold twice (copies share their input's fold) */
  snprintf(p, sizeof p, "%s/manifest.csv", out);
  uint8_t *b;
  size_t n;
  ck_assert_int_eq(tsr__read_file(ctx, p, &b, &n), TSR_OK);
  int count[2][5] = {{0}};
  char *save = NULL, *text = strndup((const char *)b, n);
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char outp[256], label[8];
    int copy, fold;
    if (sscanf(line, "%255[^,],%7[^,],%*[^,],%d,%d,", outp, label, &copy, &fold) != 4) continue;
    ck_assert(fold >= 0 && fold < 5);
    if (copy == 0) count[label[0] == 'b'][fold]++;
  }
  for (int l = 0; l < 2; l++)
    for (int f = 0; f < 5; f++) ck_assert_int_eq(count[l][f], 2);
  free(text);
  free(b);
  /* a re-run resumes: nothing redone */
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.skipped, 20);
  ck_assert_int_eq(r.outputs, 0);
  /* a lost output is redone, and only it */
  snprintf(p, sizeof p, "%s/a/img03_aug1.png", out);
  ck_assert_int_eq(remove(p), 0);
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.outputs, 1);
  ck_assert(tt_file_exists(p));
  /* other options: refused, naming what changed */
  o.seed = 99;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_E_MISMATCH);
  ck_assert_msg(strstr(err, "seed"), "%s", err);
  o.overwrite = 1;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.outputs, 40);
  tsr_context_destroy(ctx);
  tt_rmtree(d);
  free(d);
}
END_TEST

/* A PPM stream on stdin: each frame an input keyed by its position. */
START_TEST(stdin_stream_frames) {
  char *d = tt_tempdir(), sp[4300], cmd[9000], err[4096], p[4400];
  snprintf(sp, sizeof sp, "%s/s.ppm", d);
  FILE *f = fopen(sp, "wb");
  ck_assert_ptr_nonnull(f);
  for (int k = 0; k < 3; k++) {
    fprintf(f, "P6\n40 30\n255\n");
    for (int i = 0; i < 40 * 30 * 3; i++) fputc((i * 7 + k * 50) & 255, f);
  }
  fclose(f);
  snprintf(cmd, sizeof cmd, "augment - -o '%s/o' --copies 2 --ops 'rrc(size=24); jitter(hue=0.2)' --device cpu < '%s'", d,
           sp);
  ck_assert_msg(tt_cli(cmd, err, sizeof err) == 0, "%s", err);
  for (int k = 1; k <= 3; k++)
    for (int c = 0; c < 2; c++) {
      snprintf(p, sizeof p, "%s/o/frame_%06d_aug%d.png", d, k, c);
      ck_assert_msg(tt_file_exists(p), "%s", p);
    }
  /* again: resumed, the files untouched */
  snprintf(p, sizeof p, "%s/o/frame_000002_aug1.png", d);
  struct stat before, after;
  ck_assert_int_eq(stat(p, &before), 0);
  ck_assert_int_eq(tt_cli(cmd, err, sizeof err), 0);
  ck_assert_int_eq(stat(p, &after), 0);
  ck_assert(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime);
  /* '-' with other inputs: refused */
  snprintf(cmd, sizeof cmd, "augment - '%s' -o '%s/o2' --ops 'hflip' < '%s'", sp, d, sp);
  ck_assert_int_ne(tt_cli(cmd, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "must be the only input"), "%s", err);
  tt_rmtree(d);
  free(d);
}
END_TEST

/* Edge cases a review found: a vanishing blur, the output folder inside
 * the input, lost run records, shards and overwrite, merges of other
 * runs, a collision in one shard only, long parameter lists, a PNG named
 * .jpg. */
START_TEST(edge_cases) {
  /* a blur of sigma 1e-300 ends (the identity) */
  tsr__aug_ops ops;
  tsr__aug_plan plan;
  tsr__aug_exec e;
  plan_exec("blur(p=1,sigma=1e-300:1e-300)", 20, 10, 3, 0, &ops, &plan, &e);
  uint8_t src[20 * 10 * 3], out[20 * 10 * 3];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 13);
  ck_assert_int_eq(tsr__aug_run_cpu(&e, src, out, NULL), TSR_OK);
  ck_assert(!memcmp(src, out, sizeof src));

  char *d = make_dataset(), in[4300], o1[4400], p[4500], err[1024];
  snprintf(in, sizeof in, "%s/in", d);
  /* the output folder inside the input: not read back as inputs */
  snprintf(o1, sizeof o1, "%s/in/aug", d);
  const char *inputs[1] = {in};
  tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
  o.ops = "rrc(size=32); jitter(brightness=0.1); jitter(brightness=0.1); jitter(brightness=0.1); jitter(brightness=0.1);"
          "jitter(brightness=0.1); jitter(brightness=0.1); jitter(brightness=0.1); jitter(brightness=0.1);"
          "jitter(brightness=0.1); jitter(brightness=0.1); jitter(brightness=0.1); jitter(brightness=0.1);"
          "jitter(brightness=0.1,contrast=0.1,saturation=0.1,hue=0.1); jitter(brightness=0.1,contrast=0.1,saturation=0.1,hue=0.1);"
          "jitter(brightness=0.1,contrast=0.1,saturation=0.1,hue=0.1); jitter(brightness=0.1,contrast=0.1,saturation=0.1,hue=0.1)";
  o.outdir = o1;
  tsr_augment_result r;
  ck_assert_msg(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err) == TSR_OK, "%s", err);
  ck_assert_int_eq(r.items, 4);
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_int_eq(r.items, 4);
  ck_assert_int_eq(r.skipped, 4);
  /* every manifest line's parameters are whole JSON */
  snprintf(p, sizeof p, "%s/manifest.csv", o1);
  FILE *f = fopen(p, "r");
  char line[65536];
  int rows = 0;
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  while (fgets(line, sizeof line, f)) {
    char *q = strstr(line, ",\"{");
    ck_assert_ptr_nonnull(q);
    /* unquote the CSV field */
    char json[65536];
    size_t k = 0;
    for (char *c = q + 2; *c && !(c[0] == '"' && c[1] != '"'); c++) {
      if (c[0] == '"') c++;
      json[k++] = *c;
    }
    json[k] = 0;
    cJSON *j = cJSON_Parse(json);
    ck_assert_msg(j != NULL, "params not JSON: %.80s", json);
    cJSON_Delete(j);
    rows++;
  }
  fclose(f);
  ck_assert_int_eq(rows, 4);
  /* a lost run record: refused, not resumed under other options */
  snprintf(p, sizeof p, "%s/run.json", o1);
  ck_assert_int_eq(remove(p), 0);
  o.seed = 99;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_E_MISMATCH);
  ck_assert_msg(strstr(err, "no run.json"), "%s", err);
  /* --overwrite with a shard: refused */
  o.shard = 1;
  o.shards = 2;
  o.overwrite = 1;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_E_INVALID);
  o.overwrite = 0;
  /* two shards of different seeds do not merge */
  char s0[4400], s1[4400], m0[4500], m1[4500], mm[4500];
  snprintf(s0, sizeof s0, "%s/s0", d);
  snprintf(s1, sizeof s1, "%s/s1", d);
  o.ops = "hflip";
  o.shard = 0;
  o.seed = 1;
  o.outdir = s0;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  o.shard = 1;
  o.seed = 2;
  o.outdir = s1;
  ck_assert_int_eq(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  snprintf(m0, sizeof m0, "%s/manifest.shard-0-of-2.csv", s0);
  snprintf(m1, sizeof m1, "%s/manifest.shard-1-of-2.csv", s1);
  snprintf(mm, sizeof mm, "%s/merged.csv", d);
  const char *two[2] = {m0, m1};
  tsr_context *cx = tt_context("cpu");
  ck_assert_int_eq(tsr_manifest_merge(cx, two, 2, mm), TSR_E_MISMATCH);
  ck_assert_msg(strstr(tsr_context_error(cx), "different runs"), "%s", tsr_context_error(cx));
  tsr_context_destroy(cx);
  /* a collision (a second moto as PPM) fails only the shard that owns it */
  snprintf(p, sizeof p, "%s/in/dog/moto.ppm", d);
  {
    tsr_context *c2 = tt_context("cpu");
    tsr_image *sm = NULL;
    ck_assert_int_eq(tsr_image_create(8, 8, 3, 8, &sm), TSR_OK);
    tt_fill_random(sm, 2);
    ck_assert_int_eq(tsr_image_write(c2, sm, p, NULL), TSR_OK);
    tsr_image_free(sm);
    tsr_context_destroy(c2);
  }
  int failing = 0;
  o.seed = 1;
  o.format = TSR_AUG_OUT_PNG;
  for (int i = 0; i < 4; i++) {
    char sd[4400];
    snprintf(sd, sizeof sd, "%s/c4", d);
    o.outdir = sd;
    o.shard = i;
    o.shards = 4;
    failing += run("cpu", 2, inputs, 1, &o, &r, err, sizeof err) != TSR_OK;
  }
  ck_assert_int_eq(failing, 1);
  /* a PNG named .jpg: named as such, the others complete */
  cx = tt_context("cpu");
  {
    uint8_t *png;
    size_t n;
    ck_assert_int_eq(tsr__read_file(cx, TSR_TEST_DATA "/motorcycle_q/im1.png", &png, &n), TSR_OK);
    snprintf(p, sizeof p, "%s/in/cat/really_png.jpg", d);
    tt_write_file(p, png, n);
    free(png);
  }
  tsr_context_destroy(cx);
  snprintf(p, sizeof p, "%s/named", d);
  o.outdir = p;
  o.shard = 0;
  o.shards = 1;
  ck_assert_int_ne(run("cpu", 2, inputs, 1, &o, &r, err, sizeof err), TSR_OK);
  ck_assert_msg(strstr(err, "really_png.jpg: content is PNG but the name says JPEG"), "%s", err);
  ck_assert_int_ge(r.done, 4); /* the originals (and the first run's outputs, inputs now: not this run's folder) */
  tt_rmtree(d);
  free(d);
}
END_TEST

int main(void) {
  int nb = 1;
  tt_backend_count("augment", &nb);
  Suite *s = suite_create("augment");
  TCase *tc = tcase_create("augment");
  tcase_set_timeout(tc, 300);
  if (nb == 2) tcase_add_test(tc, backends_write_identical_bytes);
  tcase_add_test(tc, threads_shards_and_seeds);
  tcase_add_test(tc, resample_matches_reference);
  tcase_add_test(tc, pixel_ops_match_references);
  tcase_add_test(tc, jpeg_regions_equal_whole_decodes);
  tcase_add_test(tc, clips_decode_only_what_they_need);
  tcase_add_test(tc, bad_inputs_are_named_and_skipped);
  tcase_add_test(tc, stdin_stream_frames);
  tcase_add_test(tc, edge_cases);
  tcase_add_test(tc, resume_refuses_other_options_and_folds_are_stratified);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
