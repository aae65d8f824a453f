/* The generic warp on every backend present, against a double-precision
 * reference written here, on random sources: within 1 LSB at 8 bits, 347
 * LSB at 16 bits (a position stored to 1/256 pixel moves a sample by up to
 * 1/512 of the full range per axis, times 1.35 for the negative lobes of
 * bicubic and Lanczos-3: 65535 x 2 x 1.35 / 512 = 346; test_geometry holds
 * smooth 16-bit sources to 6 LSB). Also
 * batch-size invariance, allocation-failure halving, and fallback to the CPU
 * when the device fails or its kernels do not build. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/warp_impl.h"
#include "warp.h"
#include "testutil.h"

static int sample(const tsr_image *img, int x, int y, int c) {
  size_t i = (size_t)y * img->width * img->channels + (size_t)x * img->channels + (size_t)c;
  return img->depth == 8 ? img->data[i] : ((uint16_t *)img->data)[i];
}

/* Checks out = warp(src) for one affine view; returns the max error. Source
 * positions are stored to 1/256 pixel: for nearest, a coordinate within
 * 1/512 of a pixel edge may round either way. */
static double check_against_reference(const tsr_image *src, const tsr_image *out, const double a[6], int interp,
                                      int border) {
  double worst = 0, maxv = src->depth == 8 ? 255 : 65535;
  for (int y = 0; y < out->height; y++)
    for (int x = 0; x < out->width; x++) {
      double X = x + 0.5, Y = y + 0.5, u = a[0] * X + a[1] * Y + a[2], v = a[3] * X + a[4] * Y + a[5];
      for (int c = 0; c < src->channels; c++) {
        double got = sample(out, x, y, c), err;
        if (interp != TSR_INTERP_NEAREST) {
          /* A colour under less than 1/8 alpha rests on little and is all
           * but hidden: not compared (its ratio is ill-conditioned). */
          if ((src->channels == 2 || src->channels == 4) && c < src->channels - 1 &&
              tt_ref_interp(src, interp, border, u, v, src->channels - 1) < maxv / 8)
            continue;
          double want = fmin(fmax(floor(tt_ref_interp_alpha(src, interp, border, u, v, c) + 0.5), 0), maxv);
          err = fabs(got - want);
        } else {
          err = 1e9;
          for (int dy = -1; dy <= 1; dy += 2)
            for (int dx = -1; dx <= 1; dx += 2) {
              double e = fabs(got - tt_ref_fetch(src, border, (long)floor(u + dx / 512.0), (long)floor(v + dy / 512.0), c));
              if (e < err) err = e;
            }
        }
        if (err > worst) worst = err;
      }
    }
  return worst;
}

/* ---- helpers ------------------------------------------------------------- */
static tsr_image *img_new(int w, int h, int ch, int depth) {
  tsr_image *i;
  ck_assert_int_eq(tsr_image_create(w, h, ch, depth, &i), TSR_OK);
  memset(i->data, 0xEE, i->stride * (size_t)i->height);
  return i;
}

static const double k_affine[6] = {1.1 * 0.956, -1.1 * 0.292, 7.3, 1.1 * 0.292, 1.1 * 0.956, -9.1};

START_TEST(matches_reference) {
  const char *dev = tt_backend(_i);
  tsr_context *ctx = tt_context(dev);
  tsr_warp_view view;
  tsr_view_affine(&view, 53, 41, k_affine);
  int cases = 0;
  for (int depth = 8; depth <= 16; depth += 8)
    for (int ch = 1; ch <= 4; ch++) {
      tsr_image *src = img_new(61, 47, ch, depth), *out = img_new(53, 41, ch, depth);
      tt_fill_random(src, (unsigned)(depth * 10 + ch));
      if (ch == 2 || ch == 4) /* alpha at least half: where little alpha reaches a sample, a colour rests on few */
        for (size_t i = (size_t)ch - 1; i < (size_t)61 * 47 * (size_t)ch; i += (size_t)ch) {
          if (depth == 8) src->data[i] = (uint8_t)(128 + (src->data[i] >> 1));
          else ((uint16_t *)src->data)[i] = (uint16_t)(32768 + (((uint16_t *)src->data)[i] >> 1));
        }
      for (int interp = 0; interp <= 3; interp++)
        for (int border = 0; border <= 3; border++) {
          tsr_warp_stats st;
          tsr_status s = tsr_warp(ctx, (const tsr_image *const *)&src, 1, &view, 1, interp, border, &out, &st);
          ck_assert_msg(s == TSR_OK, "%s: %s", dev, tsr_context_error(ctx));
          ck_assert_int_eq(st.backend, strcmp(dev, "cpu") ? TSR_BACKEND_OPENCL : TSR_BACKEND_CPU);
          ck_assert_int_eq(st.fell_back, 0);
          double err = check_against_reference(src, out, k_affine, interp, border);
          ck_assert_msg(err <= (depth == 8 ? 1 : 347), "%s depth %d ch %d interp %d border %d: error %.0f", dev, depth,
                        ch, interp, border, err);
          cases++;
        }
      tsr_image_free(src);
      tsr_image_free(out);
    }
  printf("warp[%s]: %d cases within tolerance of the double reference\n", tsr_context_device(ctx)->name, cases);
  tsr_context_destroy(ctx);
}
END_TEST

START_TEST(border_semantics) {
  /* Nearest sampling one row above the top edge and one column left of it. */
  tsr_context *ctx = tt_context(tt_backend(_i));
  tsr_image *src = img_new(8, 4, 1, 8), *out = img_new(8, 1, 1, 8);
  for (int i = 0; i < 32; i++) src->data[i] = (uint8_t)i;
  const double above[6] = {1, 0, 0, 0, 0, -0.5}; /* v = -0.5: row -1 */
  tsr_warp_view v;
  tsr_view_affine(&v, 8, 1, above);
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_NEAREST, TSR_BORDER_SPHERE,
                            &out, NULL), TSR_OK);
  for (int x = 0; x < 8; x++) ck_assert_int_eq(out->data[x], (x + 4) % 8); /* row 0, half a turn away */
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_NEAREST, TSR_BORDER_WRAP,
                            &out, NULL), TSR_OK);
  for (int x = 0; x < 8; x++) ck_assert_int_eq(out->data[x], 24 + x); /* last row */
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_NEAREST, TSR_BORDER_CLAMP,
                            &out, NULL), TSR_OK);
  for (int x = 0; x < 8; x++) ck_assert_int_eq(out->data[x], x); /* first row */
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_NEAREST, TSR_BORDER_CONSTANT,
                            &out, NULL), TSR_OK);
  for (int x = 0; x < 8; x++) ck_assert_int_eq(out->data[x], 0);
  const double left[6] = {1, 0, -1, 0, 0, 1.5}; /* u = x - 0.5: column x - 1 of row 1 */
  tsr_view_affine(&v, 8, 1, left);
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_NEAREST, TSR_BORDER_SPHERE,
                            &out, NULL), TSR_OK);
  ck_assert_int_eq(out->data[0], 15); /* wraps to the last column of row 1 */
  ck_assert_int_eq(out->data[1], 8);
  tsr_image_free(src);
  tsr_image_free(out);
  tsr_context_destroy(ctx);
}
END_TEST

/* A job of 5 sources x 3 views of different sizes. */
enum { NSRC = 5, NVIEW = 3 };
typedef struct {
  tsr_image *src[NSRC], *dst[NSRC * NVIEW];
  tsr_warp_view views[NVIEW];
} job;

static void job_init(job *j) {
  for (int i = 0; i < NSRC; i++) {
    j->src[i] = img_new(96, 48, 3, 8);
    tt_fill_random(j->src[i], 100u + (unsigned)i);
  }
  const double a0[6] = {0.5, 0.1, 3, -0.1, 0.5, 2}, a1[6] = {1, 0, 40, 0, 1, 0}, a2[6] = {-0.7, 0.3, 90, 0.2, 0.9, 1};
  tsr_view_affine(&j->views[0], 31, 17, a0);
  tsr_view_affine(&j->views[1], 64, 48, a1);
  tsr_view_affine(&j->views[2], 20, 33, a2);
  for (int i = 0; i < NSRC; i++)
    for (int v = 0; v < NVIEW; v++)
      j->dst[i * NVIEW + v] = img_new(j->views[v].width, j->views[v].height, 3, 8);
}

static void job_free(job *j) {
  for (int i = 0; i < NSRC; i++) tsr_image_free(j->src[i]);
  for (int i = 0; i < NSRC * NVIEW; i++) tsr_image_free(j->dst[i]);
}

static tsr_warp_stats job_run(tsr_context *ctx, job *j) {
  tsr_warp_stats st;
  tsr_status s = tsr_warp(ctx, (const tsr_image *const *)j->src, NSRC, j->views, NVIEW, TSR_INTERP_BILINEAR,
                          TSR_BORDER_SPHERE, j->dst, &st);
  ck_assert_msg(s == TSR_OK, "%s", tsr_context_error(ctx));
  return st;
}

static int job_diff(const job *a, const job *b) {
  int m = 0;
  for (int i = 0; i < NSRC * NVIEW; i++) {
    int d = tt_max_diff(a->dst[i], b->dst[i]);
    if (d > m) m = d;
  }
  return m;
}

static tsr_context *ctx_budget(const char *dev, uint64_t budget, int threads) {
  tsr_context_options o = {.struct_size = sizeof(tsr_context_options), .device = dev, .mem_budget = budget, .threads = threads, .quiet = 1};
  tsr_context *ctx = NULL;
  ck_assert_int_eq(tsr_context_create(&o, &ctx), TSR_OK);
  return ctx;
}

START_TEST(batch_and_threads_do_not_change_output) {
  const char *dev = tt_backend(_i);
  job cpu, big, small;
  job_init(&cpu);
  job_init(&big);
  job_init(&small);
  tsr_context *c1 = ctx_budget("cpu", 0, 1), *c2 = ctx_budget(dev, 0, 2);
  job_run(c1, &cpu);
  tsr_warp_stats sb = job_run(c2, &big);
  ck_assert_int_eq(sb.batch, NSRC);
  /* A budget that fits two items: the planner's batch 2 gives the same pixels. */
  tsr_mem_need need = tsr_warp_mem_need(96, 48, 3, 8, big.views, NVIEW);
  uint64_t item = need.item_bytes[0] + need.item_bytes[1];
  tsr_context *c3 = ctx_budget(dev, need.fixed_bytes + 8 * item + 4096, 2); /* 2 items x 2 sets x (buffer + staging) */
  tsr_warp_stats ss = job_run(c3, &small);
  if (!strcmp(dev, "cl")) {
    ck_assert_int_eq(ss.batch, 2);
    /* Two sets of one item alternate over five items through pinned
     * staging; the queues' profiling gives the device times. */
    ck_assert_int_eq(ss.pinned, 1);
    ck_assert(ss.kernel_s > 0 && ss.upload_s > 0 && ss.download_s > 0);
    printf("warp[cl]: batch 2 over two buffer sets, pinned staging; upload %.3f ms, kernel %.3f ms, download %.3f ms\n",
           ss.upload_s * 1e3, ss.kernel_s * 1e3, ss.download_s * 1e3);
  }
  ck_assert_int_eq(job_diff(&big, &small), 0);
  /* Threads (CPU) or device (OpenCL) against one CPU thread: the same bytes. */
  ck_assert_int_eq(job_diff(&cpu, &big), 0);
  tsr_context_destroy(c1);
  tsr_context_destroy(c2);
  tsr_context_destroy(c3);
  job_free(&cpu);
  job_free(&big);
  job_free(&small);
}
END_TEST

START_TEST(allocation_failure_halves_then_falls_back) {
  job ref, halved, fell;
  job_init(&ref);
  job_init(&halved);
  job_init(&fell);
  tsr_context *cpu = ctx_budget("cpu", 0, 0);
  job_run(cpu, &ref);
  /* Allocations above 2.5 source images fail: batch 5 -> 2. */
  setenv("TESSERA_FAULT_ALLOC_ABOVE", "34560", 1);
  tsr_context *cl = ctx_budget("cl", 0, 0);
  tsr_warp_stats st = job_run(cl, &halved);
  ck_assert_int_eq(st.backend, TSR_BACKEND_OPENCL);
  ck_assert_int_eq(st.retries, 1);
  ck_assert_int_eq(st.batch, 2);
  ck_assert_int_eq(st.fell_back, 0);
  ck_assert_int_eq(job_diff(&ref, &halved), 0);
  tsr_context_destroy(cl);
  /* No source buffer fits, even of one image: the CPU backend finishes,
   * same pixels. */
  setenv("TESSERA_FAULT_ALLOC_ABOVE", "1000", 1);
  cl = ctx_budget("cl", 0, 0);
  st = job_run(cl, &fell);
  ck_assert_int_eq(st.fell_back, 1);
  ck_assert_int_eq(st.backend, TSR_BACKEND_CPU);
  ck_assert_int_eq(st.retries, 2); /* 5 -> 2 -> 1 */
  ck_assert_int_eq(job_diff(&ref, &fell), 0);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(cl), "out of device memory"));
  tsr_context_destroy(cl);
  tsr_context_destroy(cpu);
  job_free(&ref);
  job_free(&halved);
  job_free(&fell);
}
END_TEST

START_TEST(build_failure_falls_back) {
  char *kdir = tt_tempdir(), p[4200];
  snprintf(p, sizeof p, "%s/warp.cl", kdir);
  const char *broken = "__kernel void tsr_warp(__global int *x) { this is not C; }\n";
  tt_write_file(p, broken, strlen(broken));
  setenv("TESSERA_KERNEL_DIR", kdir, 1);
  setenv("TESSERA_NO_CACHE", "1", 1);
  printf("warp: a deliberately broken kernel follows; the OpenCL compiler's error lines below are expected\n");
  fflush(stdout);
  job ref, got;
  job_init(&ref);
  job_init(&got);
  tsr_context *cpu = ctx_budget("cpu", 0, 0), *cl = ctx_budget("cl", 0, 0);
  job_run(cpu, &ref);
  tsr_warp_stats st = job_run(cl, &got);
  ck_assert_int_eq(st.fell_back, 1);
  ck_assert_int_eq(job_diff(&ref, &got), 0);
  const char *msg = tsr_context_error(cl);
  ck_assert_msg(strstr(msg, "building warp.cl failed") && strstr(msg, "CL_BUILD_PROGRAM_FAILURE"), "%s", msg);
  tsr_context_destroy(cpu);
  tsr_context_destroy(cl);
  job_free(&ref);
  job_free(&got);
  tt_rmtree(kdir);
  free(kdir);
}
END_TEST

/* A budget too small for the views' sampling data beside a batch: the
 * stream cuts the data into tiles of rows, uploads them per batch, and
 * writes the same bytes as the CPU backend (the same algorithm, not
 * another one), positions and footprints alike. */
START_TEST(sampling_data_in_tiles) {
  unsetenv("TESSERA_KERNEL_DIR");
  unsetenv("TESSERA_FAULT_ALLOC_ABOVE");
  job ref, got;
  job_init(&ref);
  job_init(&got);
  for (int v = 0; v < NVIEW; v++) ref.views[v].supersample = got.views[v].supersample = v == 1 ? 2 : 1; /* footprints too */
  tsr_context *cpu = ctx_budget("cpu", 0, 0);
  job_run(cpu, &ref);
  tsr_mem_need need = tsr_warp_mem_need(96, 48, 3, 8, got.views, NVIEW);
  uint64_t per_set = 2 * (need.item_bytes[0] + need.item_bytes[1]); /* buffer + staging */
  /* Room for one item in both sets and a third of the data. */
  tsr_context *cl = ctx_budget("cl", 2 * per_set + need.fixed_bytes / 3, 0);
  tsr__warp_plan plan;
  ck_assert_int_eq(tsr__warp_plan_make(cl, 96, 48, 3, 8, got.views, NVIEW, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE, 1,
                                       &plan), TSR_OK);
  tsr__warp_stream *w;
  int retries;
  tsr_status st = tsr__warp_stream_open(cl, &plan, NSRC, &w, &retries);
  ck_assert_msg(st == TSR_OK, "%s", tsr_context_error(cl));
  int tiles = tsr__warp_stream_tiles(w), batch = tsr__warp_stream_batch(w);
  ck_assert_int_gt(tiles, 1);
  void *done;
  for (int first = 0; first < NSRC; first += batch) {
    int n = NSRC - first < batch ? NSRC - first : batch;
    ck_assert_int_eq(tsr__warp_stream_submit(w, (const tsr_image *const *)got.src + first, n,
                                             got.dst + first * NVIEW, NULL, &done), TSR_OK);
  }
  for (int k = 0; k < 2; k++) ck_assert_int_eq(tsr__warp_stream_collect(w, &done), TSR_OK);
  tsr__warp_stream_close(w, 1);
  ck_assert_int_eq(job_diff(&ref, &got), 0);
  printf("warp[cl]: sampling data of %llu bytes in %d tiles at batch %d, bytes identical to the CPU backend's\n",
         (unsigned long long)tsr__warp_plan_data_bytes(&plan), tiles, batch);
  tsr__warp_plan_free(&plan);
  tsr_context_destroy(cpu);
  tsr_context_destroy(cl);
  job_free(&ref);
  job_free(&got);
}
END_TEST

START_TEST(rejects_mismatched_outputs) {
  tsr_context *ctx = tt_context("cpu");
  tsr_image *src = img_new(16, 16, 3, 8), *out = img_new(8, 8, 1, 8);
  tsr_warp_view v;
  tsr_view_affine(&v, 8, 8, k_affine);
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, 1, 0, &out, NULL), TSR_E_INVALID);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "output 0"));
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, 7, 0, &out, NULL), TSR_E_INVALID);
  tsr_image_free(src);
  tsr_image_free(out);
  tsr_context_destroy(ctx);
}
END_TEST

/* Resampling RGBA weights colours by alpha (premultiplied, then divided
 * back): a transparent red half beside an opaque blue half gives no red in
 * any pixel that shows (alpha above 0), for every interpolation,
 * antialiased or not, at 8 and 16 bits (with straight alpha the edge
 * pixels turned purple). */
START_TEST(transparent_colour_does_not_bleed) {
  tsr_context *ctx = tt_context(tt_backend(_i));
  for (int depth = 8; depth <= 16; depth += 8) {
    int maxv = depth == 8 ? 255 : 65535;
    tsr_image *src = img_new(64, 32, 4, depth), *out = img_new(37, 19, 4, depth);
    for (int y = 0; y < 32; y++)
      for (int x = 0; x < 64; x++) {
        int left = x < 31; /* transparent red | opaque blue, the edge off the middle */
        int px[4] = {left ? maxv : 0, 0, left ? 0 : maxv, left ? 0 : maxv};
        for (int c = 0; c < 4; c++) {
          size_t i = ((size_t)y * 64 + (size_t)x) * 4 + (size_t)c;
          if (depth == 8) src->data[i] = (uint8_t)px[c];
          else ((uint16_t *)src->data)[i] = (uint16_t)px[c];
        }
      }
    for (int aa = 0; aa <= 1; aa++)
      for (int interp = 0; interp <= 3; interp++) {
        /* a slight rotation and a 1.7x shrink, so the edge falls between taps */
        const double a[6] = {1.7 * 0.99, -1.7 * 0.12, 0.3, 1.7 * 0.12, 1.7 * 0.99, -2.1};
        tsr_warp_view v;
        tsr_view_affine(&v, 37, 19, a);
        if (aa) tsr_view_antialias(&v, 64, 32);
        ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, interp, TSR_BORDER_CLAMP, &out, NULL),
                         TSR_OK);
        int seen_edge = 0;
        for (int y = 0; y < 19; y++)
          for (int x = 0; x < 37; x++) {
            double r = sample(out, x, y, 0), al = sample(out, x, y, 3);
            ck_assert_msg(r == 0 || al == 0, "%d-bit, interp %d, aa %d: red %.0f at %d,%d (alpha %.0f)", depth,
                          interp, aa, r, x, y, al);
            if (al > 0 && al < maxv) seen_edge = 1;
          }
        ck_assert_msg(seen_edge || interp == TSR_INTERP_NEAREST, "no partly transparent pixel: the edge was missed");
      }
    tsr_image_free(src);
    tsr_image_free(out);
  }
  printf("warp[%s]: no colour bleeds from transparent pixels\n", tsr_context_device(ctx)->name);
  tsr_context_destroy(ctx);
}
END_TEST

/* The CPU loops' reciprocal of a footprint's area (one double division)
 * equals the shared header's integer one for every footprint a plan can
 * make: sides of 1 to 7 pixels in 1/256, at every level. */
START_TEST(area_reciprocal_is_exact) {
  long checked = 0;
  for (int32_t ew = 256; ew <= 7 * 256; ew++)
    for (int32_t eh = ew; eh <= 7 * 256; eh++) {
      uint64_t area = (uint64_t)ew * (uint64_t)eh, exact = ((UINT64_C(1) << 40) + area / 2) / area;
      if (tsr__area_recip_fast(ew, eh) != exact || tsr__area_recip_fast(eh, ew) != exact)
        ck_abort_msg("footprint %d x %d: %llu, not %llu", ew, eh,
                     (unsigned long long)tsr__area_recip_fast(ew, eh), (unsigned long long)exact);
      checked++;
    }
  /* and below a pixel a side, where it takes the integer division */
  for (int32_t e = 1; e < 256; e++) {
    uint64_t area = (uint64_t)e * 3u;
    ck_assert_uint_eq(tsr__area_recip_fast(e, 3), ((UINT64_C(1) << 40) + area / 2) / area);
  }
  printf("warp: area reciprocal exact for %ld footprints\n", checked);
}
END_TEST

/* The plan's vector path for area footprints gives the same positions and
 * footprints as the scalar one, bit for bit: views across the seam, over
 * both poles, rolled, of odd widths, at several pyramid levels. */
START_TEST(area_plan_vector_matches_scalar) {
#if defined(__x86_64__)
  if (!__builtin_cpu_supports("avx")) {
    printf("warp: no AVX on this CPU: the plan's vector path is never taken here, nothing to compare\n");
    return;
  }
#endif
  static const double vp[][5] = {/* w, yaw, pitch, roll, hfov */
                                 {97, 180, 0, 0, 100},  {64, 10, 89, 0, 120}, {61, -30, -85, 20, 150},
                                 {33, 90, 30, 45, 60}, {128, 0, 0, 0, 170}, {17, 179.9, -10, 5, 20},
                                 {400, 0, 0, 0, 90}};
  int n = (int)(sizeof vp / sizeof vp[0]);
  tsr_warp_view views[7];
  for (int i = 0; i < n; i++) {
    tsr_view_equirect(&views[i], (int)vp[i][0], (int)vp[i][0] * 3 / 4 + 1, vp[i][1], vp[i][2], vp[i][3], vp[i][4]);
    views[i].supersample = 2; /* area mode whatever the density */
  }
  tsr_context *ctx = ctx_budget("cpu", 0, 0);
  tsr__warp_plan a, b;
  tsr__warp_plan_vector = 0;
  ck_assert_int_eq(tsr__warp_plan_make(ctx, 2001, 1000, 3, 8, views, n, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE, 2, &a),
                   TSR_OK);
  tsr__warp_plan_vector = 1;
  ck_assert_int_eq(tsr__warp_plan_make(ctx, 2001, 1000, 3, 8, views, n, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE, 2, &b),
                   TSR_OK);
  tsr__warp_plan_vector = -1;
  int levels = 0;
  for (int i = 0; i < n; i++) levels |= 1 << a.vd[i].level;
  ck_assert_int_gt(__builtin_popcount((unsigned)levels), 1);
  ck_assert_uint_eq(a.npos, b.npos);
  ck_assert_int_eq(memcmp(a.pos, b.pos, sizeof *a.pos * 2 * (size_t)a.npos), 0);
  ck_assert_int_eq(memcmp(a.ext, b.ext, sizeof *a.ext * 2 * (size_t)a.next), 0);
  printf("warp: area plan, vector and scalar paths identical over %llu footprints (levels mask %#x)\n",
         (unsigned long long)a.next, (unsigned)levels);
  tsr__warp_plan_free(&a);
  tsr__warp_plan_free(&b);
  tsr_context_destroy(ctx);
}
END_TEST

static double rnd01(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return (double)(*x >> 11) / 9007199254740992.0;
}

/* The plan's positions (interpolated on a grid where the map is smooth
 * enough) agree with the exactly rounded ones to 1/256 pixel, for views of
 * every orientation and size over sources of several sizes (60 seeded
 * random views, and one that an earlier centre-only check let through at
 * 6/256); and on a noise source, where any position error shows, bilinear
 * output stays within 1.5 LSB of a double-precision reference. */
START_TEST(plan_positions_are_exact) {
  uint64_t x = 0x2545F4914F6CDD1Dull;
#define RND() rnd01(&x)
  int worst = 0;
  long n = 0;
  for (int k = 0; k < 61; k++) {
    int sw, sh, w, h;
    tsr_warp_view v;
    if (k == 60) { /* the view the centre-only check got wrong */
      sw = 3991, sh = 1995, w = 149, h = 326;
      tsr_view_equirect(&v, w, h, -69.33168, 44.38314, -77.83596, 118.7946);
    } else {
      sw = 1000 + (int)(RND() * 3000);
      sh = sw / 2 + (int)(RND() * 3);
      w = 8 + (int)(RND() * 200);
      h = 8 + (int)(RND() * 330);
      double yaw = RND() * 360 - 180, pitch = RND() * 180 - 90, roll = RND() * 360 - 180, hfov = 20 + RND() * 130;
      tsr_view_equirect(&v, w, h, yaw, pitch, roll, hfov);
    }
    v.supersample = 1;
    tsr_context *ctx = tt_context("cpu");
    tsr__warp_plan p;
    ck_assert_int_eq(tsr__warp_plan_make(ctx, sw, sh, 3, 8, &v, 1, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE, 2, &p),
                     TSR_OK);
    for (int y = 0; y < h; y++)
      for (int xx = 0; xx < w; xx++) {
        double u, vv;
        tsr_view_coord(v.p, v.kind, sw, sh, xx + 0.5, y + 0.5, &u, &vv);
        long eu = (long)floor((u - 0.5) * 256 + 0.5), ev = (long)floor((vv - 0.5) * 256 + 0.5);
        const int32_t *q = p.pos + 2 * ((size_t)y * (size_t)w + (size_t)xx);
        int d = (int)fmax(labs(q[0] - eu), labs(q[1] - ev));
        if (d > worst) worst = d;
        n++;
      }
    tsr__warp_plan_free(&p);
    tsr_context_destroy(ctx);
  }
#undef RND
  printf("warp: plan positions of %ld pixels within %d/256 pixel of the exactly rounded ones\n", n, worst);
  ck_assert_int_le(worst, 1);

  tsr_image *src, *out;
  ck_assert_int_eq(tsr_image_create(3991, 1995, 1, 8, &src), TSR_OK);
  tt_fill_random(src, 7);
  ck_assert_int_eq(tsr_image_create(149, 326, 1, 8, &out), TSR_OK);
  tsr_warp_view v;
  tsr_view_equirect(&v, 149, 326, -69.33168, 44.38314, -77.83596, 118.7946);
  tsr_context *ctx = tt_context("cpu");
  ck_assert_int_eq(tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE, &out,
                            NULL), TSR_OK);
  double err = 0;
  for (int y = 0; y < 326; y++)
    for (int xx = 0; xx < 149; xx++) {
      double u, vv;
      tsr_view_coord(v.p, v.kind, 3991, 1995, xx + 0.5, y + 0.5, &u, &vv);
      double e = fabs(out->data[(size_t)y * out->stride + (size_t)xx] - tt_ref_bilinear(src, TSR_BORDER_SPHERE, u, vv, 0));
      if (e > err) err = e;
    }
  printf("warp: bilinear on a noise source within %.2f LSB of the reference\n", err);
  /* 1/512 pixel of position rounding times a noise gradient of up to 255
   * per pixel, plus the output's rounding: 1.5 LSB (a position 6/256 off,
   * as the centre-only check allowed, gave 3) */
  ck_assert_double_le(err, 1.5);
  tsr_image_free(src);
  tsr_image_free(out);
  tsr_context_destroy(ctx);
}
END_TEST

int main(void) {
  int nb;
  tt_backend_count("warp", &nb);
  Suite *s = suite_create("warp");
  TCase *tc = tcase_create("warp");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, matches_reference, 0, nb);
  tcase_add_loop_test(tc, border_semantics, 0, nb);
  tcase_add_loop_test(tc, transparent_colour_does_not_bleed, 0, nb);
  tcase_add_loop_test(tc, batch_and_threads_do_not_change_output, 0, nb);
  tcase_add_test(tc, rejects_mismatched_outputs);
  tcase_add_test(tc, area_reciprocal_is_exact);
  tcase_add_test(tc, area_plan_vector_matches_scalar);
  tcase_add_test(tc, plan_positions_are_exact);
  if (nb == 2) {
    tcase_add_test(tc, allocation_failure_halves_then_falls_back);
    tcase_add_test(tc, build_failure_falls_back);
    tcase_add_test(tc, sampling_data_in_tiles);
  }
  suite_add_tcase(s, tc);
  return tt_run(s);
}
