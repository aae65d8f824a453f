/* The stereo matcher: the same disparities on every backend, thread count
 * and vector path; tiles that agree with the untiled run; accuracy on
 * synthetic scenes of known disparity (wide and negative ranges too) and
 * on Middlebury's Motorcycle; the tile planner; the files; bad input in
 * batches. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ops/stereo_impl.h"
#include "testutil.h"

#define MB TSR_TEST_DATA "/motorcycle_q"

/* ---- synthetic scenes -------------------------------------------------------------- */
/* A background plane at disparity db (rising by one pixel every `slant`
 * rows when slant > 0) and a rectangle [ax, bx) x [ay, by) in front at df,
 * both covered with a seeded texture; gt (when not NULL) is the left
 * view's disparity, NAN where the left pixel is occluded in the right view
 * or its match falls outside the right image. */
typedef struct {
  int w, h, db, df, slant, ax, bx, ay, by;
  unsigned seed;
} scene;

static uint8_t tex(unsigned seed, int u, int v) {
  /* a hash per pixel, smoothed over a 2 x 2 block so that it has some
   * spatial structure */
  unsigned s = 0;
  for (int k = 0; k < 4; k++) {
    unsigned x = (unsigned)(u + (k & 1)) * 73856093u ^ (unsigned)(v + (k >> 1)) * 19349663u ^ seed * 83492791u;
    x ^= x >> 13;
    x *= 0x5bd1e995u;
    x ^= x >> 15;
    s += x & 255;
  }
  return (uint8_t)(s / 4);
}

static int bg_disp(const scene *s, int y) { return s->db + (s->slant > 0 ? y / s->slant : 0); }

static int in_fg(const scene *s, int x, int y) { return x >= s->ax && x < s->bx && y >= s->ay && y < s->by; }

static void make_scene(const scene *s, tsr_image **l, tsr_image **r, float *gt) {
  ck_assert_int_eq(tsr_image_create(s->w, s->h, 1, 8, l), TSR_OK);
  ck_assert_int_eq(tsr_image_create(s->w, s->h, 1, 8, r), TSR_OK);
  for (int y = 0; y < s->h; y++) {
    int dbg = bg_disp(s, y);
    for (int x = 0; x < s->w; x++) {
      /* the left view: texture coordinates are left-image columns */
      (*l)->data[(size_t)y * (*l)->stride + (size_t)x] = in_fg(s, x, y) ? tex(s->seed + 1, x, y) : tex(s->seed, x, y);
      /* the right view at xr shows the left column xr + d of whichever
       * surface is in front there */
      int xf = x + s->df;
      (*r)->data[(size_t)y * (*r)->stride + (size_t)x] =
          in_fg(s, xf, y) ? tex(s->seed + 1, xf, y) : tex(s->seed, x + dbg, y);
      if (gt) {
        int d = in_fg(s, x, y) ? s->df : dbg;
        int occluded = !in_fg(s, x, y) && in_fg(s, x - dbg + s->df, y);
        gt[(size_t)y * (size_t)s->w + (size_t)x] = occluded || x - d < 0 || x - d >= s->w ? NAN : (float)d;
      }
    }
  }
}

static float *to_float(const int16_t *d, size_t n) {
  float *f = malloc(n * sizeof *f);
  for (size_t i = 0; i < n; i++) f[i] = d[i] == TSR_STEREO_INVALID ? INFINITY : (float)d[i] / TSR_STEREO_SCALE;
  return f;
}

static tsr_status match(const char *device, uint64_t budget, int threads, const tsr_image *l, const tsr_image *r,
                        const tsr_stereo_options *o, int16_t *disp, int16_t *right, uint8_t *conf,
                        tsr_stereo_stats *st) {
  tsr_context_options co;
  tsr_context_options_init(&co);
  co.device = device;
  co.mem_budget = budget;
  co.threads = threads;
  co.quiet = 1;
  tsr_context *ctx = NULL;
  ck_assert_int_eq(tsr_context_create(&co, &ctx), TSR_OK);
  tsr_status s = tsr_stereo_match(ctx, l, r, o, disp, right, conf, st);
  if (s) fprintf(stderr, "stereo: %s\n", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return s;
}

/* bad-1 (percent, invalid counted bad) over pixels of known disparity */
static double bad1(const int16_t *disp, const float *gt, int w, int h) {
  float *f = to_float(disp, (size_t)w * (size_t)h);
  tsr_stereo_eval ev;
  tsr_stereo_evaluate(f, gt, NULL, w, h, 0, &ev);
  free(f);
  ck_assert_uint_gt(ev.known, 0);
  return ev.bad1;
}

static void check_scene(const char *device, const scene *s, int min_disp, int num_disp, int paths, double max_bad1) {
  tsr_image *l, *r;
  size_t n = (size_t)s->w * (size_t)s->h;
  float *gt = malloc(n * sizeof *gt);
  make_scene(s, &l, &r, gt);
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.min_disp = min_disp;
  o.num_disp = num_disp;
  o.paths = paths;
  int16_t *d = malloc(n * 2);
  tsr_stereo_stats st;
  ck_assert_int_eq(match(device, 0, 0, l, r, &o, d, NULL, NULL, &st), TSR_OK);
  /* on the device asked for, not on a CPU fallback */
  ck_assert_int_eq(strcmp(st.device, "cpu") == 0, strcmp(device, "cpu") == 0);
  double b = bad1(d, gt, s->w, s->h);
  printf("  %s: scene %dx%d, background %d, object %d, range %d..%d, %d paths: bad-1 %.2f%% (at most %.1f%%)\n",
         st.device, s->w, s->h, s->db, s->df, min_disp, min_disp + num_disp - 1, paths, b, max_bad1);
  ck_assert_double_le(b, max_bad1);
  free(d);
  free(gt);
  tsr_image_free(l);
  tsr_image_free(r);
}

/* ---- accuracy ------------------------------------------------------------------------ */
START_TEST(synthetic_planes_meet_bad1) {
  const char *dev = tt_backend(_i);
  scene s = {320, 200, 12, 28, 40, 110, 210, 50, 150, 7};
  check_scene(dev, &s, 0, 48, 8, 2.0);
  check_scene(dev, &s, 0, 48, 4, 3.0);
}
END_TEST

START_TEST(wide_and_negative_ranges) {
  const char *dev = tt_backend(_i);
  /* past 256: a scene at 300..330 searched over 384 disparities */
  scene wide = {640, 96, 300, 330, 0, 420, 520, 20, 76, 11};
  check_scene(dev, &wide, 0, 384, 8, 2.0);
  /* negative: the background at -20, the object at +10 */
  scene neg = {256, 128, -20, 10, 0, 90, 170, 30, 100, 5};
  check_scene(dev, &neg, -32, 48, 8, 2.0);
}
END_TEST

START_TEST(motorcycle_bad2) {
  /* Middlebury's Motorcycle at quarter size; OpenCV's StereoSGBM in its
   * best mode scores bad-2 18.3 % by the same rules (bench/) */
  tsr_image *l = tt_load(MB "/im0.png"), *r = tt_load(MB "/im1.png");
  tsr_context *ctx = tt_context("cpu");
  float *gt = NULL;
  int gw, gh;
  ck_assert_int_eq(tsr_pfm_read(ctx, MB "/disp0GT.pfm", &gt, &gw, &gh), TSR_OK);
  ck_assert_int_eq(gw, l->width);
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 64;
  int16_t *d = malloc((size_t)gw * (size_t)gh * 2);
  ck_assert_int_eq(tsr_stereo_match(ctx, l, r, &o, d, NULL, NULL, NULL), TSR_OK);
  float *f = to_float(d, (size_t)gw * (size_t)gh);
  tsr_stereo_eval ev;
  tsr_stereo_evaluate(f, gt, NULL, gw, gh, 0, &ev);
  printf("  motorcycle (quarter): bad-2 %.2f%%, invalid %.2f%%\n", ev.bad2, ev.invalid_pct);
  ck_assert_double_le(ev.bad2, 15.0);
  ck_assert_double_le(ev.invalid_pct, 12.0);
  /* guided (tiles of 128 so that most narrow their range): within half a
   * point of bad-2 */
  o.guide = 1;
  o.tile_w = o.tile_h = 192;
  tsr_stereo_stats gs;
  ck_assert_int_eq(tsr_stereo_match(ctx, l, r, &o, d, NULL, NULL, &gs), TSR_OK);
  free(f);
  f = to_float(d, (size_t)gw * (size_t)gh);
  tsr_stereo_eval eg;
  tsr_stereo_evaluate(f, gt, NULL, gw, gh, 0, &eg);
  printf("  guided: %d of %d tiles narrowed (%d..%d disparities): bad-2 %.2f%%\n", gs.guided_tiles,
         gs.tiles_x * gs.tiles_y, gs.min_tile_ndisp, gs.max_tile_ndisp, eg.bad2);
  ck_assert_int_ge(gs.guided_tiles, gs.tiles_x * gs.tiles_y / 2);
  ck_assert_double_le(fabs(eg.bad2 - ev.bad2), 0.5);
  free(f);
  free(d);
  free(gt);
  tsr_context_destroy(ctx);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* ---- the same values everywhere ------------------------------------------------------ */
/* Both backends on one pair with the same options: each says where it
 * ran (the second really on the device, on the same grid), and the
 * disparities, right view and confidence agree bit for bit. */
static void backends_match(const tsr_image *l, const tsr_image *r, const tsr_stereo_options *o, const char *what,
                           tsr_stereo_stats st[2]) {
  size_t n = (size_t)l->width * (size_t)l->height;
  int16_t *d[2], *rd[2];
  uint8_t *cf[2];
  for (int b = 0; b < 2; b++) {
    d[b] = malloc(n * 2);
    rd[b] = malloc(n * 2);
    cf[b] = malloc(n);
    ck_assert_int_eq(match(tt_backend(b), 0, 0, l, r, o, d[b], rd[b], cf[b], &st[b]), TSR_OK);
  }
  ck_assert_str_eq(st[0].device, "cpu");
  ck_assert_str_ne(st[1].device, "cpu"); /* really on the device */
  ck_assert_int_eq(st[0].tiles_x * st[0].tiles_y, st[1].tiles_x * st[1].tiles_y);
  ck_assert_msg(!memcmp(d[0], d[1], n * 2), "%s: disparities differ", what);
  ck_assert_msg(!memcmp(rd[0], rd[1], n * 2), "%s: right view differs", what);
  ck_assert_msg(!memcmp(cf[0], cf[1], n), "%s: confidence differs", what);
  for (int b = 0; b < 2; b++) {
    free(d[b]);
    free(rd[b]);
    free(cf[b]);
  }
}

START_TEST(backends_are_bit_identical) {
  /* the CPU backend and the OpenCL device on one grid of 9 tiles */
  tsr_image *l = tt_load(MB "/im0.png"), *r = tt_load(MB "/im1.png");
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 64;
  o.tile_w = 320;
  o.tile_h = 300;
  tsr_stereo_stats st[2];
  backends_match(l, r, &o, "motorcycle", st);
  printf("  %s and %s: %dx%d tiles\n", st[0].device, st[1].device, st[1].tiles_x, st[1].tiles_y);
  ck_assert_int_eq(st[0].tiles_x * st[0].tiles_y, 9);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

START_TEST(threads_do_not_change_output) {
  scene s = {300, 160, 9, 21, 0, 100, 200, 40, 120, 3};
  tsr_image *l, *r;
  make_scene(&s, &l, &r, NULL);
  size_t n = (size_t)s.w * (size_t)s.h;
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 37; /* not a multiple of 16: the vector loops' padding */
  o.min_disp = -3;
  int16_t *a = malloc(n * 2), *b = malloc(n * 2);
  ck_assert_int_eq(match("cpu", 0, 1, l, r, &o, a, NULL, NULL, NULL), TSR_OK);
  ck_assert_int_eq(match("cpu", 0, 2, l, r, &o, b, NULL, NULL, NULL), TSR_OK);
  ck_assert_mem_eq(a, b, n * 2);
  free(a);
  free(b);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* A tile of a scene for the CPU loops: P1 10, the check at 1 px, the
 * right columns it reads. */
static tsr_stereo_desc scene_tile(const scene *s, int x0, int y0, int w, int h, int dmin, int nd, int p2, int uq,
                                  int paths) {
  int rx0 = x0 - (dmin + nd - 1) < 0 ? 0 : x0 - (dmin + nd - 1), rx1 = x0 + w - dmin > s->w ? s->w : x0 + w - dmin;
  tsr_stereo_desc d = {.width = s->w, .height = s->h, .x0 = x0, .y0 = y0, .w = w, .h = h, .dmin = dmin, .nd = nd,
                       .ndp = (nd + 15) / 16 * 16, .p1 = 10, .p2 = p2, .uniqueness = uq, .lr_max = 1, .paths = paths,
                       .rx0 = rx0, .rw = rx1 - rx0};
  return d;
}

/* The vector loops against the scalar ones, which call the shared header:
 * every output of a tile, on each route the CPU has (AVX2 with 16-bit
 * path values; AVX-512 with 8-bit ones where P2 lets them fit, else
 * AVX2), with 1 to 3 threads. */
START_TEST(vector_loops_equal_scalar) {
  scene s = {203, 97, 5, 17, 30, 60, 140, 20, 80, 9};
  tsr_image *l, *r;
  make_scene(&s, &l, &r, NULL);
  static const int ranges[4][2] = {{0, 37}, {-9, 64}, {2, 16}, {-20, 130}};
  int routes_seen[3] = {0, 0, 0};
  for (int ri = 0; ri < 4; ri++)
    for (int paths = 4; paths <= 8; paths += 4)
      for (int uq = 0; uq <= 15; uq += 15)
        for (int p2 = 120; p2 <= 300; p2 += 180)
          for (int tw = 128; tw <= 150; tw += 22) { /* widths of whole and of part vectors */
          /* an odd height: a last row without a pair */
          tsr_stereo_desc d = scene_tile(&s, 11, 7, tw, 79, ranges[ri][0], ranges[ri][1], p2, uq, paths);
          /* the scalar loops, AVX2 at most (2 threads), every route (2 and 3 threads) */
          static const int simd[4] = {0, 1, -1, -1}, threads[4] = {2, 2, 2, 3};
          tsr__stereo_work w[4];
          for (int k = 0; k < 4; k++) {
            ck_assert_int_eq(tsr__stereo_work_alloc(&w[k], d.w, d.h, d.rw, d.nd, 0), TSR_OK);
            tsr__stereo_tile_cpu(&w[k], &d, l->data, r->data, (int)l->stride, threads[k], simd[k]);
          }
          const char *route = tsr__stereo_cpu_route(&d, -1);
          routes_seen[route[0] == '8' ? 2 : route[0] == 'A' ? 1 : 0]++;
          size_t px = (size_t)d.w * (size_t)d.h;
          for (int k = 1; k < 4; k++) {
            ck_assert_mem_eq(w[0].raw, w[k].raw, px * 2);
            ck_assert_mem_eq(w[0].disp, w[k].disp, px * 2);
            ck_assert_mem_eq(w[0].conf, w[k].conf, px);
            ck_assert_mem_eq(w[0].dispr, w[k].dispr, (size_t)d.rw * (size_t)d.h * 2);
          }
          int valid = 0;
          for (size_t i = 0; i < px; i++) valid += w[0].disp[i] != TSR_DISP_INVALID;
          ck_assert_int_gt(valid, (int)(px / 2)); /* a real result, not all invalid */
          for (int k = 0; k < 4; k++) tsr__stereo_work_free(&w[k]);
        }
  printf("  vector loops equal the scalar ones: %d tiles on the 8-bit route, %d on AVX2, %d scalar only\n",
         routes_seen[2], routes_seen[1], routes_seen[0]);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* Small, edge and reused-scratch tiles (from a second reader's list):
 * widths of 1 and below one vector, heights of 2 and 3, ranges below 16
 * and between 64 and 128, tiles at the image's corner, a large positive
 * minimum, P2 at the 8-bit route's limit, more threads than chunks,
 * ranges that take every form of the horizontal chains, and
 * one scratch reused by narrower tiles, against fresh scalar runs; the
 * winners' indices and sums too. */
START_TEST(vector_loops_equal_scalar_on_edge_tiles) {
  scene s = {203, 97, 5, 17, 30, 60, 140, 20, 80, 9};
  tsr_image *l, *r;
  make_scene(&s, &l, &r, NULL);
  static const int tiles[][8] = {
      /* w, h, x0, y0, dmin, nd, p2, threads */
      {1, 5, 64, 3, -2, 5, 120, 2},    {1, 20, 0, 0, 0, 16, 120, 2},    {37, 2, 0, 0, 0, 5, 120, 3},
      {64, 3, 100, 90, 3, 80, 120, 2}, {203, 97, 0, 0, 50, 40, 120, 2}, {150, 30, 11, 7, -9, 64, 193, 2},
      {2, 4, 201, 93, -30, 30, 120, 1},
      /* chains of 2 to 4 registers (one or both directions at a time),
       * and past 256 disparities, their state in memory */
      {150, 40, 11, 7, -20, 224, 120, 2}, {203, 30, 0, 0, 0, 150, 120, 1}, {3, 12, 50, 40, 0, 200, 120, 2},
      {120, 33, 30, 20, -40, 300, 120, 3}, {1, 9, 100, 10, -5, 260, 120, 2}, {77, 21, 5, 60, 10, 100, 193, 3}};
  size_t nt = sizeof tiles / sizeof tiles[0];
  tsr__stereo_work reused;
  ck_assert_int_eq(tsr__stereo_work_alloc(&reused, 203, 97, 203, 300, 0), TSR_OK);
  for (size_t i = 0; i < nt; i++)
    for (int paths = 4; paths <= 8; paths += 4) {
      const int *t = tiles[i];
      tsr_stereo_desc d = scene_tile(&s, t[2], t[3], t[0], t[1], t[4], t[5], t[6], 10, paths);
      tsr__stereo_work ref;
      ck_assert_int_eq(tsr__stereo_work_alloc(&ref, d.w, d.h, d.rw, d.nd, 0), TSR_OK);
      tsr__stereo_tile_cpu(&ref, &d, l->data, r->data, (int)l->stride, 1, 0);
      tsr__stereo_work_range(&reused, d.nd);
      tsr__stereo_tile_cpu(&reused, &d, l->data, r->data, (int)l->stride, t[7], -1);
      for (int y = 0; y < d.h; y++) { /* rows of the tile's own width */
        size_t a = (size_t)y * (size_t)d.w, n = (size_t)d.w;
        ck_assert_mem_eq(ref.raw + a, reused.raw + a, n * 2);
        ck_assert_mem_eq(ref.disp + a, reused.disp + a, n * 2);
        ck_assert_mem_eq(ref.conf + a, reused.conf + a, n);
        ck_assert_mem_eq(ref.wbest + a, reused.wbest + a, n * 2);
        ck_assert_mem_eq(ref.wsmin + a, reused.wsmin + a, n * 2);
        if (d.rw > 0)
          ck_assert_mem_eq(ref.dispr + (size_t)y * (size_t)d.rw, reused.dispr + (size_t)y * (size_t)d.rw,
                           (size_t)d.rw * 2);
      }
      tsr__stereo_work_free(&ref);
    }
  tsr__stereo_work_free(&reused);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* Two unrelated noise images, where path values run up to cost + P2':
 * the largest forward sums, on both sides of the bound under which the
 * 8-bit route packs each cost into its forward sum (P2 142 packs with 8
 * paths, 143 and up only with 4). */
START_TEST(vector_loops_equal_scalar_on_noise) {
  tsr_image *l, *r;
  ck_assert_int_eq(tsr_image_create(160, 40, 1, 8, &l), TSR_OK);
  ck_assert_int_eq(tsr_image_create(160, 40, 1, 8, &r), TSR_OK);
  uint32_t st = 12345;
  for (int y = 0; y < 40; y++)
    for (int x = 0; x < 160; x++) {
      st = st * 1664525u + 1013904223u;
      l->data[(size_t)y * l->stride + (size_t)x] = (uint8_t)(st >> 24);
      st = st * 1664525u + 1013904223u;
      r->data[(size_t)y * r->stride + (size_t)x] = (uint8_t)(st >> 24);
    }
  scene s = {160, 40, 0, 0, 0, 0, 0, 0, 0, 0};
  static const int p2s[3] = {142, 143, 193};
  for (int i = 0; i < 3; i++)
    for (int paths = 4; paths <= 8; paths += 4) {
      tsr_stereo_desc d = scene_tile(&s, 0, 0, 160, 40, 0, 64, p2s[i], 0, paths);
      d.p1 = 3;
      /* the bound: 5 (62 + P2') <= 1023 with 8 paths, 3 (62 + P2') with 4 */
      const char *route = tsr__stereo_cpu_route(&d, -1);
      if (route[0] == '8') ck_assert_int_eq((strstr(route, "packed") != NULL), (paths == 4 || p2s[i] <= 142));
      tsr__stereo_work ref, vec;
      ck_assert_int_eq(tsr__stereo_work_alloc(&ref, d.w, d.h, d.rw, d.nd, 0), TSR_OK);
      ck_assert_int_eq(tsr__stereo_work_alloc(&vec, d.w, d.h, d.rw, d.nd, 0), TSR_OK);
      tsr__stereo_tile_cpu(&ref, &d, l->data, r->data, (int)l->stride, 1, 0);
      tsr__stereo_tile_cpu(&vec, &d, l->data, r->data, (int)l->stride, 2, -1);
      size_t px = (size_t)d.w * (size_t)d.h;
      ck_assert_mem_eq(ref.wbest, vec.wbest, px * 2);
      ck_assert_mem_eq(ref.wsmin, vec.wsmin, px * 2);
      ck_assert_mem_eq(ref.raw, vec.raw, px * 2);
      ck_assert_mem_eq(ref.conf, vec.conf, px);
      tsr__stereo_work_free(&ref);
      tsr__stereo_work_free(&vec);
    }
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* ---- the shared header's pieces against references written here -------------------- */
START_TEST(penalties_and_confidence_match_references) {
  /* P2 falls across intensity edges: P2 * 16 / (16 + |a - b|), never
   * below P1 + 1 */
  for (int a = 0; a < 256; a += 5)
    for (int b = 0; b < 256; b += 7) {
      int diff = abs(a - b), want = 120 * 16 / (16 + diff);
      if (want <= 10) want = 11;
      ck_assert_int_eq(tsr_sgm_p2(10, 120, a, b), want);
    }
  ck_assert_int_eq(tsr_sgm_p2(10, 120, 50, 50), 120);
  ck_assert_int_eq(tsr_sgm_p2(10, 120, 50, 66), 60);
  /* confidence: 255 (s2 - smin) / s2; 255 when no other sum exists */
  tsr_stereo_win w = {3, 40, 100, 1};
  ck_assert_int_eq(tsr_stereo_conf(w), 153);
  w.s2 = 0xFFFF;
  ck_assert_int_eq(tsr_stereo_conf(w), 255);
  w.s2 = 40;
  ck_assert_int_eq(tsr_stereo_conf(w), 0);
  /* the cell: min(lm, lp) + P1, l0, mprev + P2, plus the cost less mprev */
  ck_assert_int_eq(tsr_sgm_cell(7, 30, 20, 25, 18, 10, 120), 7 + 20 - 18);
  ck_assert_int_eq(tsr_sgm_cell(7, 19, 40, 25, 18, 10, 120), 7 + 29 - 18);
  ck_assert_int_eq(tsr_sgm_cell(7, 300, 400, 500, 18, 10, 120), 7 + 138 - 18);
}
END_TEST

/* 8-bit RGB to gray: the vector rows against tsr_luma8, on a width of
 * whole blocks and a tail. */
START_TEST(gray_matches_luma) {
  tsr_image *img = NULL, *g = NULL;
  ck_assert_int_eq(tsr_image_create(203, 7, 3, 8, &img), TSR_OK);
  uint32_t s = 12345;
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < 3 * img->width; x++) {
      s = s * 1664525u + 1013904223u;
      img->data[(size_t)y * img->stride + (size_t)x] = (uint8_t)(s >> 24);
    }
  ck_assert_int_eq(tsr_image_gray8(NULL, img, &g), TSR_OK);
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++) {
      const uint8_t *p = img->data + (size_t)y * img->stride + 3 * (size_t)x;
      ck_assert_int_eq(g->data[(size_t)y * g->stride + (size_t)x], tsr_luma8(p[0], p[1], p[2]));
    }
  tsr_image_free(img);
  tsr_image_free(g);
}
END_TEST

START_TEST(census_and_subpixel_match_references) {
  /* census: bit 9 r + i for the pixel at (x + i - 4, y + r - 3), edges
   * replicated, set where darker than the centre */
  uint8_t img[12 * 9];
  for (int i = 0; i < 12 * 9; i++) img[i] = (uint8_t)((i * 37 + (i / 12) * 11) % 251);
  for (int y = 0; y < 9; y++)
    for (int x = 0; x < 12; x++) {
      uint64_t ref = 0;
      for (int r = 0; r < 7; r++)
        for (int i = 0; i < 9; i++) {
          int yy = y + r - 3, xx = x + i - 4;
          yy = yy < 0 ? 0 : yy > 8 ? 8 : yy;
          xx = xx < 0 ? 0 : xx > 11 ? 11 : xx;
          if (img[yy * 12 + xx] < img[y * 12 + x]) ref |= (uint64_t)1 << (9 * r + i);
        }
      ck_assert_uint_eq(tsr_census(img, 12, 9, 12, x, y), ref);
    }
  /* subpixel: the parabola's vertex through (-1, a), (0, b), (1, c) in
   * 1/16 px, rounded half away from zero */
  for (int a = 0; a < 60; a += 3)
    for (int b = 0; b <= a; b += 2)
      for (int c = b; c < 60; c += 5) {
        int den = a + c - 2 * b;
        double v = den > 0 ? 16.0 * (a - c) / (2.0 * den) : 0.0;
        int want = den > 0 ? (int)(v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5)) : 0;
        ck_assert_int_eq(tsr_subpixel16(a, b, c), want);
        ck_assert_int_le(abs(want), 8);
      }
}
END_TEST

/* The left-right check invalidates what the right view cannot see: the
 * background strip the box hides in the right view. */
START_TEST(lr_check_rejects_occlusions) {
  scene s = {320, 200, 12, 28, 0, 110, 210, 50, 150, 7};
  tsr_image *l, *r;
  size_t n = (size_t)s.w * (size_t)s.h;
  float *gt = malloc(n * sizeof *gt);
  make_scene(&s, &l, &r, gt);
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 48;
  int16_t *on = malloc(n * 2), *off = malloc(n * 2);
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, on, NULL, NULL, NULL), TSR_OK);
  o.lr_max = -1;
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, off, NULL, NULL, NULL), TSR_OK);
  int occ = 0, occ_on = 0, occ_off = 0;
  for (int y = s.ay + 5; y < s.by - 5; y++)
    for (int x = s.ax - (s.df - s.db); x < s.ax; x++) { /* left of the box: hidden in the right view */
      size_t i = (size_t)y * (size_t)s.w + (size_t)x;
      if (!isnan(gt[i])) continue;
      occ++;
      occ_on += on[i] == TSR_STEREO_INVALID;
      occ_off += off[i] == TSR_STEREO_INVALID;
    }
  printf("  occluded strip: %d px, invalid with the check %d, without %d\n", occ, occ_on, occ_off);
  ck_assert_int_gt(occ, 500);
  ck_assert_int_ge(occ_on * 10, occ * 6);
  ck_assert_int_lt(occ_off * 10, occ * 4);
  free(on);
  free(off);
  free(gt);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* 16-bit and RGBA inputs match as their 8-bit luma; a winner whose match
 * lies outside the right image is invalid; --overlap 0 means none. */
START_TEST(inputs_and_edges) {
  scene s = {200, 96, 8, 20, 0, 70, 140, 20, 70, 17};
  tsr_image *l, *r;
  make_scene(&s, &l, &r, NULL);
  size_t n = (size_t)s.w * (size_t)s.h;
  tsr_image *l16, *r4;
  ck_assert_int_eq(tsr_image_create(s.w, s.h, 1, 16, &l16), TSR_OK);
  ck_assert_int_eq(tsr_image_create(s.w, s.h, 4, 8, &r4), TSR_OK);
  for (int y = 0; y < s.h; y++)
    for (int x = 0; x < s.w; x++) {
      uint8_t g = l->data[(size_t)y * l->stride + (size_t)x], h = r->data[(size_t)y * r->stride + (size_t)x];
      ((uint16_t *)(l16->data + (size_t)y * l16->stride))[x] = (uint16_t)(g * 256 + (x * 37 + y) % 256);
      uint8_t *p = r4->data + (size_t)y * r4->stride + 4 * (size_t)x;
      p[0] = p[1] = p[2] = h;
      p[3] = (uint8_t)(x * 13);
    }
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 32;
  int16_t *a = malloc(n * 2), *b = malloc(n * 2);
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, a, NULL, NULL, NULL), TSR_OK);
  ck_assert_int_eq(match("cpu", 0, 0, l16, r4, &o, b, NULL, NULL, NULL), TSR_OK);
  ck_assert_mem_eq(a, b, n * 2);
  /* the leftmost columns' matches would lie left of the image: invalid */
  o.min_disp = 150;
  o.num_disp = 16;
  o.uniqueness = -1;
  o.lr_max = -1;
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, a, NULL, NULL, NULL), TSR_OK);
  for (int y = 0; y < s.h; y++)
    for (int x = 0; x < 150; x++) ck_assert_int_eq(a[(size_t)y * (size_t)s.w + (size_t)x], TSR_STEREO_INVALID);
  /* no overlap at all */
  tsr_stereo_options_init(&o);
  o.num_disp = 32;
  o.tile_w = 50;
  o.tile_h = 48;
  o.overlap = -1;
  tsr_stereo_stats st;
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, a, NULL, NULL, &st), TSR_OK);
  ck_assert_int_eq(st.margin, 0);
  ck_assert_int_eq(st.core_w, 50);
  ck_assert_int_eq(st.tiles_x * st.tiles_y, 4 * 2);
  free(a);
  free(b);
  tsr_image_free(l);
  tsr_image_free(r);
  tsr_image_free(l16);
  tsr_image_free(r4);
}
END_TEST

/* CPU and OpenCL over the options that change the loops: ranges not a
 * multiple of 16, negative ranges, 4 paths, no median, no check, no
 * uniqueness, P2 at its largest, odd tiles. */
START_TEST(backends_agree_on_every_option) {
  scene s = {230, 90, -6, 12, 0, 80, 150, 20, 70, 41};
  tsr_image *l, *r;
  make_scene(&s, &l, &r, NULL);
  struct {
    int dmin, nd, paths, median, lr, uq, p2, tw, th, overlap;
  } cases[] = {{-10, 37, 8, 0, 1, 0, 0, 0, 0, 0},  {-16, 33, 4, 0, 1, 0, 0, 0, 0, 0},
               {-10, 30, 8, -1, -1, -1, 0, 0, 0, 0}, {-8, 24, 8, 0, 2, 30, 4000, 0, 0, 0},
               {-10, 37, 8, 0, 1, 0, 0, 101, 57, 14}, {-12, 1, 4, 0, 1, 0, 0, 0, 0, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    tsr_stereo_options o;
    tsr_stereo_options_init(&o);
    o.min_disp = cases[c].dmin;
    o.num_disp = cases[c].nd;
    o.paths = cases[c].paths;
    o.median = cases[c].median;
    o.lr_max = cases[c].lr;
    o.uniqueness = cases[c].uq;
    o.p2 = cases[c].p2;
    o.tile_w = cases[c].tw;
    o.tile_h = cases[c].th;
    o.overlap = cases[c].overlap;
    char what[32];
    snprintf(what, sizeof what, "case %zu", c);
    tsr_stereo_stats st[2];
    backends_match(l, r, &o, what, st);
  }
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* ---- tiles -------------------------------------------------------------------------- */
START_TEST(tiles_agree_with_the_untiled_run) {
  tsr_image *l = tt_load(MB "/im0.png"), *r = tt_load(MB "/im1.png");
  size_t n = (size_t)l->width * (size_t)l->height;
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 64;
  int16_t *whole = malloc(n * 2), *tiled = malloc(n * 2), *rw = malloc(n * 2), *rt = malloc(n * 2);
  tsr_stereo_stats s1, s2;
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, whole, rw, NULL, &s1), TSR_OK);
  ck_assert_int_eq(s1.tiles_x * s1.tiles_y, 1);
  /* a budget that needs a grid */
  ck_assert_int_eq(match("cpu", (uint64_t)10 << 20, 0, l, r, &o, tiled, rt, NULL, &s2), TSR_OK);
  ck_assert_int_ge(s2.tiles_x * s2.tiles_y, 4);
  ck_assert_uint_le(s2.tile_bytes, (uint64_t)10 << 20);
  size_t agree = 0;
  for (size_t i = 0; i < n; i++) {
    int a = whole[i], b = tiled[i];
    if (a == TSR_STEREO_INVALID || b == TSR_STEREO_INVALID) agree += a == b;
    else agree += abs(a - b) <= TSR_STEREO_SCALE;
  }
  double pct = 100.0 * (double)agree / (double)n;
  printf("  %dx%d tiles of %dx%d: %.3f%% of pixels within 1 px of the untiled run\n", s2.tiles_x, s2.tiles_y,
         s2.core_w, s2.core_h, pct);
  ck_assert_double_ge(pct, 99.5);
  /* the right view's map too: each right pixel from the best left winner
   * landing on it, over every tile */
  size_t ragree = 0, rvalid = 0;
  for (size_t i = 0; i < n; i++) {
    rvalid += rw[i] != TSR_STEREO_INVALID;
    if (rw[i] == TSR_STEREO_INVALID || rt[i] == TSR_STEREO_INVALID) ragree += rw[i] == rt[i];
    else ragree += abs(rw[i] - rt[i]) <= TSR_STEREO_SCALE;
  }
  printf("  right view: %.1f%% of pixels with a disparity, %.3f%% agree within 1 px\n", 100.0 * (double)rvalid / (double)n,
         100.0 * (double)ragree / (double)n);
  ck_assert_uint_gt(rvalid, n * 3 / 4);
  ck_assert_double_ge(100.0 * (double)ragree / (double)n, 99.0);
  free(rw);
  free(rt);
  free(whole);
  free(tiled);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

START_TEST(planner_tiles) {
  tsr_tile_need need;
  memset(&need, 0, sizeof need);
  need.pixel_bytes = 2400;
  need.row_bytes = 8000;
  need.column_bytes = 19200;
  need.fixed_bytes = 4096;
  need.largest_pixel_bytes = 1600;
  need.margin = 32;
  tsr_tile_plan p;
  /* 6000 x 4000 with 800 disparities in 1 GiB */
  uint64_t budget = (uint64_t)1 << 30;
  ck_assert_int_eq(tsr_plan_tiles(&need, 6000, 4000, budget, 0, 0, 0, &p), TSR_OK);
  ck_assert_uint_le(p.bytes, budget);
  ck_assert_int_ge(p.nx * p.core_w, 6000);
  ck_assert_int_ge(p.ny * p.core_h, 4000);
  ck_assert_int_lt((p.nx - 1) * p.core_w, 6000);
  ck_assert_int_lt((p.ny - 1) * p.core_h, 4000);
  /* the same inputs give the same grid */
  tsr_tile_plan q;
  ck_assert_int_eq(tsr_plan_tiles(&need, 6000, 4000, budget, 0, 0, 0, &q), TSR_OK);
  ck_assert_mem_eq(&p, &q, sizeof p);
  /* a grid whose region would be larger than max_alloc allows is not taken */
  ck_assert_int_eq(tsr_plan_tiles(&need, 6000, 4000, budget, (uint64_t)256 << 20, 0, 0, &q), TSR_OK);
  ck_assert_uint_le((uint64_t)q.region_w * (uint64_t)q.region_h * need.largest_pixel_bytes, (uint64_t)256 << 20);
  /* everything fits: one tile */
  ck_assert_int_eq(tsr_plan_tiles(&need, 100, 80, budget, 0, 0, 0, &q), TSR_OK);
  ck_assert_int_eq(q.nx * q.ny, 1);
  ck_assert_int_eq(q.region_w, 100);
  /* cores given: that grid, checked for fit */
  ck_assert_int_eq(tsr_plan_tiles(&need, 1000, 700, budget, 0, 300, 200, &q), TSR_OK);
  ck_assert_int_eq(q.nx, 4);
  ck_assert_int_eq(q.ny, 4);
  ck_assert_int_eq(q.region_w, 364);
  ck_assert_int_eq(tsr_plan_tiles(&need, 6000, 4000, 64 << 20, 0, 3000, 3000, &q), TSR_E_BUDGET);
  /* nothing fits */
  ck_assert_int_eq(tsr_plan_tiles(&need, 6000, 4000, 1 << 20, 0, 0, 0, &q), TSR_E_BUDGET);
}
END_TEST

/* The planner fits the CPU scratch's declared bytes with a model bilinear
 * in the region's size: the declaration must be bilinear (for every
 * range), and the run's peak resident memory must stay near the budget
 * (checked by bench/stereo_memory.sh; here the model itself). */
START_TEST(scratch_bytes_are_bilinear) {
  static const int nds[4] = {16, 64, 130, 800};
  for (int i = 0; i < 4; i++) {
    int ndp = (nds[i] + 15) / 16 * 16;
#define B(w, h) (int64_t) tsr__stereo_work_bytes((w), (h), (w) + nds[i] - 1, ndp)
    int64_t px = B(3, 3) - B(2, 3) - B(3, 2) + B(2, 2);
    for (int w = 2; w < 300; w++)
      for (int h = 2; h < 300; h += 29) {
        ck_assert_int_eq(B(w + 1, h + 1) - B(w, h + 1) - B(w + 1, h) + B(w, h), px);
        ck_assert_int_eq(B(w + 1, h) - B(w, h), B(3, h) - B(2, h));
        ck_assert_int_eq(B(w, h + 1) - B(w, h), B(w, 3) - B(w, 2));
      }
#undef B
  }
}
END_TEST

START_TEST(guide_narrows_the_ranges) {
  /* a wide range, locally narrow: two planes far apart, each tile sees one */
  scene s = {640, 480, 20, 180, 0, 320, 640, 0, 480, 13};
  tsr_image *l, *r;
  size_t n = (size_t)s.w * (size_t)s.h;
  float *gt = malloc(n * sizeof *gt);
  make_scene(&s, &l, &r, gt);
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 256;
  o.tile_w = 256;
  o.tile_h = 256;
  int16_t *a = malloc(n * 2), *b = malloc(n * 2);
  tsr_stereo_stats sa, sb;
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, a, NULL, NULL, &sa), TSR_OK);
  o.guide = 1;
  ck_assert_int_eq(match("cpu", 0, 0, l, r, &o, b, NULL, NULL, &sb), TSR_OK);
  double ba = bad1(a, gt, s.w, s.h), bb = bad1(b, gt, s.w, s.h);
  printf("  guide: %d of %d tiles narrowed (%d..%d disparities), cells %.1fM -> %.1fM, bad-1 %.2f%% -> %.2f%%\n",
         sb.guided_tiles, sb.tiles_x * sb.tiles_y, sb.min_tile_ndisp, sb.max_tile_ndisp, (double)sa.cells / 1e6,
         (double)sb.cells / 1e6, ba, bb);
  ck_assert_int_gt(sb.guided_tiles, 0);
  ck_assert_uint_lt(sb.cells * 2, sa.cells);
  ck_assert_double_le(bb, ba + 0.5);
  free(a);
  free(b);
  free(gt);
  tsr_image_free(l);
  tsr_image_free(r);
}
END_TEST

/* ---- files and evaluation ------------------------------------------------------------ */
START_TEST(pfm_and_png_conventions) {
  char *dir = tt_tempdir(), p[4200];
  tsr_context *ctx = tt_context("cpu");
  int16_t d[6] = {16 * 5, TSR_STEREO_INVALID, 8, 16 * 300 + 4, 0, -16};
  snprintf(p, sizeof p, "%s/d.pfm", dir);
  ck_assert_int_eq(tsr_disp_write_pfm(ctx, p, d, 3, 2), TSR_OK);
  float *f;
  int w, h;
  ck_assert_int_eq(tsr_pfm_read(ctx, p, &f, &w, &h), TSR_OK);
  ck_assert_int_eq(w, 3);
  ck_assert_int_eq(h, 2);
  ck_assert(f[0] == 5.0f && isinf(f[1]) && f[2] == 0.5f && f[3] == 300.25f && f[4] == 0.0f && f[5] == -1.0f);
  free(f);
  /* rows are stored bottom to top, little-endian, scale -1 */
  FILE *fp = fopen(p, "rb");
  char hdr[16] = {0};
  ck_assert_uint_eq(fread(hdr, 1, 10, fp), 10);
  ck_assert_str_eq(hdr, "Pf\n3 2\n-1\n");
  float first;
  ck_assert_uint_eq(fread(&first, 4, 1, fp), 1);
  ck_assert(first == 300.25f); /* the bottom row first */
  fclose(fp);
  snprintf(p, sizeof p, "%s/d.png", dir);
  ck_assert_int_eq(tsr_disp_write_png16(ctx, p, d, 3, 2), TSR_OK);
  tsr_image *img = tt_load(p);
  ck_assert_int_eq(img->depth, 16);
  const uint16_t *r0 = (const uint16_t *)img->data, *r1 = (const uint16_t *)(img->data + img->stride);
  ck_assert_uint_eq(r0[0], 5 * 256);
  ck_assert_uint_eq(r0[1], 0);
  ck_assert_uint_eq(r0[2], 128);
  ck_assert_uint_eq(r1[0], 65535); /* 300.25 x 256 does not fit: clamped */
  ck_assert_uint_eq(r1[1], 0);     /* 0 and negative: KITTI cannot hold them */
  ck_assert_uint_eq(r1[2], 0);
  tsr_image_free(img);
  /* big-endian (positive scale) reads the same */
  snprintf(p, sizeof p, "%s/be.pfm", dir);
  {
    uint8_t buf[64];
    size_t k = (size_t)snprintf((char *)buf, sizeof buf, "Pf\n2 1\n1.0\n");
    float v[2] = {1.5f, -2.25f};
    for (int i = 0; i < 2; i++) {
      uint32_t u;
      memcpy(&u, &v[i], 4);
      for (int b = 0; b < 4; b++) buf[k++] = (uint8_t)(u >> (24 - 8 * b));
    }
    tt_write_file(p, buf, k);
  }
  ck_assert_int_eq(tsr_pfm_read(ctx, p, &f, &w, &h), TSR_OK);
  ck_assert(w == 2 && h == 1 && f[0] == 1.5f && f[1] == -2.25f);
  free(f);
  /* a truncated PFM is refused by name */
  snprintf(p, sizeof p, "%s/bad.pfm", dir);
  tt_write_file(p, "Pf\n4 4\n-1\n\x01\x02", 13);
  ck_assert_int_eq(tsr_pfm_read(ctx, p, &f, &w, &h), TSR_E_CORRUPT);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "bad.pfm"));
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(evaluation_rules) {
  /* 8 pixels: unknown ground truth (inf, NaN) skipped, one masked out,
   * an invalid disparity bad at every threshold */
  float gt[8] = {10, 10, 10, 10, INFINITY, NAN, 10, 10};
  float d[8] = {10.2f, 10.7f, 11.5f, 13.0f, 99, 99, INFINITY, 50};
  uint8_t mask[8] = {255, 255, 255, 255, 255, 255, 255, 128}; /* only 255 counts */
  tsr_stereo_eval ev;
  tsr_stereo_evaluate(d, gt, mask, 8, 1, 0, &ev);
  ck_assert_uint_eq(ev.known, 5);
  ck_assert_uint_eq(ev.invalid, 1);
  ck_assert_double_eq_tol(ev.bad05, 100.0 * 4 / 5, 1e-9); /* 0.7, 1.5, 3.0, invalid */
  ck_assert_double_eq_tol(ev.bad1, 100.0 * 3 / 5, 1e-9);
  ck_assert_double_eq_tol(ev.bad2, 100.0 * 2 / 5, 1e-9);
  ck_assert_double_eq_tol(ev.bad4, 100.0 * 1 / 5, 1e-9);
  ck_assert_double_eq_tol(ev.avgerr, (0.2 + 0.7 + 1.5 + 3.0) / 4, 1e-6);
  ck_assert_double_eq_tol(ev.invalid_pct, 20.0, 1e-9);
  /* KITTI: 0 means unknown */
  float gk[2] = {0, 5}, dk[2] = {3, 5};
  tsr_stereo_evaluate(dk, gk, NULL, 2, 1, 1, &ev);
  ck_assert_uint_eq(ev.known, 1);
  ck_assert_double_eq_tol(ev.bad05, 0.0, 1e-9);
}
END_TEST

/* ---- batches and bad input ----------------------------------------------------------- */

static void write_scene_dir(const char *dir, const scene *s, const char *calib) {
  char p[4200];
  mkdir(dir, 0755);
  tsr_image *l, *r;
  make_scene(s, &l, &r, NULL);
  tsr_context *ctx = tt_context("cpu");
  snprintf(p, sizeof p, "%s/im0.png", dir);
  ck_assert_int_eq(tsr_image_write(ctx, l, p, NULL), TSR_OK);
  snprintf(p, sizeof p, "%s/im1.png", dir);
  ck_assert_int_eq(tsr_image_write(ctx, r, p, NULL), TSR_OK);
  snprintf(p, sizeof p, "%s/calib.txt", dir);
  tt_write_file(p, calib, strlen(calib));
  tsr_context_destroy(ctx);
  tsr_image_free(l);
  tsr_image_free(r);
}

START_TEST(batch_reports_bad_pairs_and_finishes_the_rest) {
  char *dir = tt_tempdir(), good[4200], good2[4200], size[4200], calib[4200], unread[4200], out[4200],
                           err[8192], p[4300];
  char *args2 = malloc(40000);
  const size_t args2_len = 40000;
  scene s = {160, 96, 6, 14, 0, 50, 110, 20, 70, 21};
  snprintf(good, sizeof good, "%s/good", dir);
  snprintf(good2, sizeof good2, "%s/good2", dir);
  snprintf(size, sizeof size, "%s/sizes", dir);
  snprintf(calib, sizeof calib, "%s/calib", dir);
  snprintf(unread, sizeof unread, "%s/unread", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  write_scene_dir(good, &s, "cam0=[1 0 0; 0 1 0; 0 0 1]\nwidth=160\nheight=96\nndisp=32\nvmin=5\nvmax=15\n");
  write_scene_dir(good2, &s, "ndisp=32\n");
  write_scene_dir(size, &s, "ndisp=32\n");
  scene small = s;
  small.w = 150;
  {
    tsr_image *l, *r;
    make_scene(&small, &l, &r, NULL);
    tsr_context *ctx = tt_context("cpu");
    snprintf(p, sizeof p, "%s/im1.png", size);
    ck_assert_int_eq(tsr_image_write(ctx, r, p, NULL), TSR_OK);
    tsr_context_destroy(ctx);
    tsr_image_free(l);
    tsr_image_free(r);
  }
  write_scene_dir(calib, &s, "width=160\nheight=96\nndisp=banana\n");
  char calib2[4200], calib3[4200];
  snprintf(calib2, sizeof calib2, "%s/calib2", dir);
  snprintf(calib3, sizeof calib3, "%s/calib3", dir);
  write_scene_dir(calib2, &s, "ndisp=64px\n");
  write_scene_dir(calib3, &s, "ndisp=32\nwidth=161\nheight=96\n");
  write_scene_dir(unread, &s, "ndisp=32\n");
  snprintf(p, sizeof p, "%s/im0.png", unread);
  tt_write_file(p, "not a png", 9);
  snprintf(args2, args2_len,
           "stereo '%s' '%s' '%s' '%s' '%s' '%s' '%s/no-such-scene' '%s' -o '%s' --device cpu --extras vis", good,
           size, calib, calib2, calib3, unread, dir, good2, out);
  int rc = tt_cli(args2, err, sizeof err);
  ck_assert_int_ne(rc, 0);
  /* one line each, naming the file and the reason */
  ck_assert_msg(strstr(err, "sizes/im0.png is 160x96 but") && strstr(err, "sizes/im1.png is 150x96"), "%s", err);
  ck_assert_msg(strstr(err, "calib/calib.txt:3: ndisp must be a positive integer"), "%s", err);
  ck_assert_msg(strstr(err, "calib2/calib.txt:1: ndisp must be a positive integer"), "%s", err);
  ck_assert_msg(strstr(err, "calib3/calib.txt says 161x96 but"), "%s", err);
  ck_assert_msg(strstr(err, "unread/im0.png"), "%s", err);
  ck_assert_msg(strstr(err, "no-such-scene: not a folder"), "%s", err);
  snprintf(p, sizeof p, "%s/good/disp0.pfm", out);
  ck_assert(tt_file_exists(p));
  snprintf(p, sizeof p, "%s/good/disp0_vis.png", out);
  ck_assert(tt_file_exists(p));
  snprintf(p, sizeof p, "%s/good2/disp0.pfm", out);
  ck_assert(tt_file_exists(p)); /* after the failures */
  snprintf(p, sizeof p, "%s/sizes", out);
  ck_assert(!tt_file_exists(p));
  /* a re-run resumes: the good pairs are not matched again (their file is
   * untouched), the bad ones fail again */
  struct stat before, after;
  snprintf(p, sizeof p, "%s/good/disp0.pfm", out);
  ck_assert_int_eq(stat(p, &before), 0);
  rc = tt_cli(args2, err, sizeof err);
  ck_assert_int_ne(rc, 0);
  ck_assert_int_eq(stat(p, &after), 0);
  ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
  ck_assert_msg(strstr(err, "sizes/im0.png is 160x96 but"), "%s", err);
  /* other options into the same folder are refused */
  /* nothing is written through a link inside the output folder */
  char out2[4000], elsewhere[4000];
  snprintf(out2, sizeof out2, "%s/out2", dir);
  snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
  mkdir(out2, 0755);
  mkdir(elsewhere, 0755);
  snprintf(p, sizeof p, "%.4000s/good", out2);
  ck_assert_int_eq(symlink(elsewhere, p), 0);
  snprintf(args2, args2_len, "stereo '%s' -o '%s' --device cpu", good, out2);
  ck_assert_int_ne(tt_cli(args2, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "good is a symbolic link"), "%s", err);
  ck_assert_int_eq(tt_dir_entries(elsewhere), 0);
  snprintf(args2, args2_len, "stereo '%s' -o '%s' --device cpu --paths 4", good, out);
  rc = tt_cli(args2, err, sizeof err);
  ck_assert_int_ne(rc, 0);
  ck_assert_msg(strstr(err, "paths"), "%s", err);
  free(args2);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(kitti_folders) {
  char *dir = tt_tempdir(), k[4200], p[4300], out[4200], err[8192];
  char *args = malloc(20000);
  snprintf(k, sizeof k, "%s/kitti", dir);
  snprintf(out, sizeof out, "%s/out", dir);
  mkdir(k, 0755);
  snprintf(p, sizeof p, "%s/image_2", k);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/image_3", k);
  mkdir(p, 0755);
  tsr_context *ctx = tt_context("cpu");
  for (int f = 0; f < 2; f++) {
    scene s = {200, 80, 5 + f, 15, 0, 60, 120, 20, 60, 30 + (unsigned)f};
    tsr_image *l, *r;
    make_scene(&s, &l, &r, NULL);
    snprintf(p, sizeof p, "%s/image_2/%06d_10.png", k, f);
    ck_assert_int_eq(tsr_image_write(ctx, l, p, NULL), TSR_OK);
    snprintf(p, sizeof p, "%s/image_3/%06d_10.png", k, f);
    ck_assert_int_eq(tsr_image_write(ctx, r, p, NULL), TSR_OK);
    tsr_image_free(l);
    tsr_image_free(r);
  }
  /* a third frame whose right image is missing */
  snprintf(p, sizeof p, "%s/image_2/000002_10.png", k);
  tt_write_file(p, "x", 1);
  snprintf(args, 20000, "stereo '%s' -o '%s' --device cpu --ndisp 32 --extras vis,right,confidence", k, out);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "000002_10.png"), "%s", err);
  for (int f = 0; f < 2; f++) {
    static const char *sub[4] = {"disp_0", "vis", "disp_1", "conf"};
    for (int i = 0; i < 4; i++) {
      snprintf(p, sizeof p, "%s/kitti/%s/%06d_10.png", out, sub[i], f);
      ck_assert_msg(tt_file_exists(p), "%s", p);
    }
  }
  /* KITTI's 16-bit convention, read back by stereo-eval against itself */
  snprintf(args, 20000, "stereo-eval '%s/kitti/disp_0/000000_10.png' '%s/kitti/disp_0/000000_10.png'", out, out);
  ck_assert_int_eq(tt_cli(args, err, sizeof err), 0);
  tsr_image *d = tt_load((snprintf(p, sizeof p, "%s/kitti/disp_0/000000_10.png", out), p));
  ck_assert_int_eq(d->depth, 16);
  ck_assert_int_eq(d->channels, 1);
  /* the background (5 px) reads 5 x 256 somewhere in the middle row */
  const uint16_t *row = (const uint16_t *)(d->data + 40 * d->stride);
  ck_assert_uint_eq(row[30], 5 * 256);
  tsr_image_free(d);
  tsr_context_destroy(ctx);
  free(args);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(pair_errors_name_the_file) {
  char *dir = tt_tempdir(), a[4200], b[4200], args[9000], err[8192];
  scene s = {64, 48, 4, 8, 0, 20, 40, 10, 30, 1};
  snprintf(a, sizeof a, "%s/s", dir);
  write_scene_dir(a, &s, "ndisp=16\n");
  snprintf(b, sizeof b, "%s/nope.png", dir);
  snprintf(args, sizeof args, "stereo '%s/im0.png' '%s' -o '%s/d.pfm' --device cpu", a, b, dir);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "nope.png"), "%s", err);
  snprintf(args, sizeof args, "stereo '%s/im0.png' '%s/im1.png' -o '%s/d.pfm' --device cpu --ndisp 5000", a, a, dir);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "--ndisp"), "%s", err);
  snprintf(args, sizeof args, "stereo '%s/im0.png' '%s/im1.png' -o '%s/d.pfm' --device cpu --tile 40x40 --overlap 64", a,
           a, dir);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "no core"), "%s", err);
  snprintf(args, sizeof args, "stereo '%s/im0.png' '%s/im1.png' -o '%s/d.pfm' --device cpu --tile kitti --ndisp 16", a,
           a, dir);
  ck_assert_int_eq(tt_cli(args, err, sizeof err), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

int main(void) {
  int nb = 1;
  tt_backend_count("stereo", &nb);
  Suite *s = suite_create("stereo");
  TCase *tc = tcase_create("stereo");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, synthetic_planes_meet_bad1, 0, nb);
  tcase_add_loop_test(tc, wide_and_negative_ranges, 0, nb);
  tcase_add_test(tc, motorcycle_bad2);
  if (nb == 2) tcase_add_test(tc, backends_are_bit_identical);
  tcase_add_test(tc, threads_do_not_change_output);
  tcase_add_test(tc, vector_loops_equal_scalar);
  tcase_add_test(tc, vector_loops_equal_scalar_on_edge_tiles);
  tcase_add_test(tc, vector_loops_equal_scalar_on_noise);
  tcase_add_test(tc, tiles_agree_with_the_untiled_run);
  tcase_add_test(tc, planner_tiles);
  tcase_add_test(tc, scratch_bytes_are_bilinear);
  tcase_add_test(tc, census_and_subpixel_match_references);
  tcase_add_test(tc, gray_matches_luma);
  tcase_add_test(tc, penalties_and_confidence_match_references);
  tcase_add_test(tc, inputs_and_edges);
  if (nb == 2) tcase_add_test(tc, backends_agree_on_every_option);
  tcase_add_test(tc, lr_check_rejects_occlusions);
  tcase_add_test(tc, guide_narrows_the_ranges);
  tcase_add_test(tc, pfm_and_png_conventions);
  tcase_add_test(tc, evaluation_rules);
  tcase_add_test(tc, batch_reports_bad_pairs_and_finishes_the_rest);
  tcase_add_test(tc, pair_errors_name_the_file);
  tcase_add_test(tc, kitti_folders);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
