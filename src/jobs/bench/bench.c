/* tessera bench: runs each workload on each device the same way and checks
 * each device's output against the CPU backend's.
 *
 * Method, for every timed figure: one first launch (timed on its own: it
 * includes lazy allocation and, on some drivers, compilation), one warm-up
 * call that also calibrates the iteration count so one measurement lasts
 * about the suite's target time, then `repeat` measurements; the figure is
 * their median, min and max. Kernel times come from OpenCL profiling
 * events, everything else from the wall clock. */
#include <ftw.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "jobs/bench/bench.h"
#include "tsr_git.h"
#include "ops/augment_ops.h"
#include "ops/warp_impl.h"

#define MIB ((size_t)1 << 20)

/* ---- figures, parity, host --------------------------------------------- */
static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void tsr__bench_summarize(double *v, int n, tsr__bench_figure *f) {
  f->n = n;
  if (n < 1) return;
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  f->min = v[0];
  f->max = v[n - 1];
  f->median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double tsr__bench_max_diff(const void *a, const void *b, size_t n, int bytes) {
  int worst = 0;
  if (bytes == 2) {
    const uint16_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
      int d = abs((int)x[i] - (int)y[i]);
      if (d > worst) worst = d;
    }
  } else {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
      int d = abs((int)x[i] - (int)y[i]);
      if (d > worst) worst = d;
    }
  }
  return worst;
}

void tsr__bench_set_parity(tsr__bench_workload *w, double diff, double tolerance) {
  w->parity_diff = diff;
  w->tolerance = tolerance;
  if (diff > tolerance && w->state == TSR_BENCH_OK) {
    w->state = TSR_BENCH_FAILED;
    snprintf(w->message, sizeof w->message, "output differs from the CPU backend's by %g, above the tolerance %g",
             diff, tolerance);
  }
}

void tsr__bench_host_probe(tsr__bench_host *h) {
  memset(h, 0, sizeof *h);
  snprintf(h->cpu, sizeof h->cpu, "%.159s", tsr__cpu_device()->name); /* the registry read /proc/cpuinfo */
  h->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
  h->ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  char pretty[128] = "", line[512];
  FILE *f = fopen("/etc/os-release", "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "PRETTY_NAME=\"%127[^\"]\"", pretty) == 1) break;
  if (f) fclose(f);
  struct utsname u;
  if (uname(&u) == 0)
    snprintf(h->os, sizeof h->os, "%.60s%s%.20s %.40s %.20s", pretty, *pretty ? ", " : "", u.sysname, u.release, u.machine);
  else
    snprintf(h->os, sizeof h->os, "%s", pretty);
}

/* Warp parity, in 8-bit levels: every backend samples the same fixed-point
 * data in integer arithmetic (cl/warp.h), so any difference is a wrong
 * result. */
#define TSR_BENCH_WARP_TOLERANCE 0

/* ---- the run ------------------------------------------------------------- */
typedef double (*bench_fn)(void *arg, int iters);

typedef struct {
  const tsr__bench_options *o;
  int quick, repeat;
  double target_s;
  char dir[64];       /* scratch folder for the split */
  uint8_t *pattern;   /* copy and transfer data */
  size_t pattern_bytes;
  tsr_image *src;     /* the frame at the suite's size */
  int view_w, view_h;
  tsr_warp_view views[16];
  char view_names[16][64]; /* ring8's, the split's output folders */
  int nviews;
  uint8_t *warp_ref[2];        /* CPU backend output per interpolation (bilinear, Lanczos-3) */
  tsr_image *split_ref[16];    /* CPU backend's views of the parity frame */
  char err[512];
  int tty;                      /* progress in place on a terminal */
  const char *cur_dev, *cur_wl; /* what is being measured, for tick() */
  double cur_t0;
} runner;

/* On a terminal, the measurement under way, rewritten in place: a full
 * suite on a slow device runs for minutes inside one workload. */
static void tick(runner *r, const char *what, int k, int n) {
  if (!r->tty) return;
  fprintf(stderr, "\rbench: %s: %s: %s %d/%d, %.0f s   ", r->cur_dev, r->cur_wl, what, k, n, tsr__now() - r->cur_t0);
  fflush(stderr);
}

static const tsr_interp k_interp[2] = {TSR_INTERP_BILINEAR, TSR_INTERP_LANCZOS3};
static const char *const k_interp_name[2] = {"bilinear", "lanczos3"};
static const char *const k_interp_label[2] = {"bilinear", "Lanczos-3"};

/* A deterministic byte pattern; any prefix is the same, so devices with
 * different copy sizes compare with the same reference. */
static const uint8_t *pattern(runner *r, size_t bytes) {
  if (bytes <= r->pattern_bytes) return r->pattern;
  uint8_t *p = realloc(r->pattern, bytes);
  if (!p) return NULL;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (uint8_t)(x >> 24);
  }
  r->pattern = p;
  r->pattern_bytes = bytes;
  return p;
}

/* First launch, warm-up and calibration, then the measurements: s[k] is
 * seconds per iteration of measurement k. Returns 0, or -1 on failure. */
static int measure(runner *r, tsr__bench_workload *w, bench_fn fn, void *arg, double *s) {
  tick(r, "warm-up", 0, r->repeat);
  double t0 = tsr__now(), t = fn(arg, 1);
  if (t < 0) return -1;
  if (w->first_launch_s < 0) w->first_launch_s = tsr__now() - t0;
  if ((t = fn(arg, 1)) < 0) return -1;
  double it = t > 0 ? ceil(r->target_s / t) : 1000;
  int iters = it < 1 ? 1 : it > 100000 ? 100000 : (int)it;
  if (iters > w->iterations) w->iterations = iters;
  for (int k = 0; k < r->repeat; k++) {
    tick(r, "measurement", k + 1, r->repeat);
    if ((t = fn(arg, iters)) < 0) return -1;
    s[k] = t / iters;
  }
  return 0;
}

static tsr__bench_figure *add_fig(tsr__bench_workload *w, const char *name, const char *label, const char *unit,
                                  int higher) {
  if (w->nfig >= TSR_BENCH_MAX_FIGURES) return NULL;
  tsr__bench_figure *f = &w->fig[w->nfig++];
  memset(f, 0, sizeof *f);
  snprintf(f->name, sizeof f->name, "%s", name);
  snprintf(f->label, sizeof f->label, "%s", label);
  snprintf(f->unit, sizeof f->unit, "%s", unit);
  f->higher_is_better = higher;
  return f;
}

/* A figure of `work / seconds` (scaled) from per-iteration seconds. */
static void rate_fig(runner *r, tsr__bench_workload *w, const char *name, const char *label, const char *unit,
                     double work, const double *s) {
  double v[TSR_BENCH_MAX_SAMPLES];
  for (int k = 0; k < r->repeat; k++) v[k] = work / s[k];
  tsr__bench_figure *f = add_fig(w, name, label, unit, 1);
  if (f) tsr__bench_summarize(v, r->repeat, f);
}

static void set_error(tsr__bench_workload *w, tsr_context *ctx, const char *what) {
  w->state = TSR_BENCH_ERROR;
  snprintf(w->message, sizeof w->message, "%s: %s", what, ctx && *tsr_context_error(ctx) ? tsr_context_error(ctx) : "failed");
}

static const tsr__bench_figure *find_fig(const tsr__bench_device *d, const char *wl, const char *fig) {
  for (int i = 0; i < d->nwl; i++)
    if (!strcmp(d->wl[i].name, wl))
      for (int k = 0; k < d->wl[i].nfig; k++)
        if (!strcmp(d->wl[i].fig[k].name, fig)) return &d->wl[i].fig[k];
  return NULL;
}

/* A copy or transfer buffer: a quarter of the device's max allocation,
 * capped, whole MiB; recorded as the workload's size. */
static size_t buffer_bytes(const tsr_device_info *d, size_t cap, tsr__bench_workload *w) {
  size_t bytes = d->max_alloc / 4 < cap ? d->max_alloc / 4 : cap;
  bytes &= ~(size_t)(MIB - 1);
  if (bytes < MIB) bytes = MIB;
  snprintf(w->size, sizeof w->size, "%zu MiB", bytes / MIB);
  return bytes;
}

/* ---- copy ------------------------------------------------------------------ */
typedef struct {
  const uint8_t *src;
  uint8_t *dst;
  size_t bytes;
  int threads;
} cpu_copy;

static double cpu_copy_run(void *arg, int iters) {
  cpu_copy *c = arg;
  size_t chunk = 4 * MIB, n = (c->bytes + chunk - 1) / chunk;
  double t = tsr__now();
  for (int i = 0; i < iters; i++) {
#pragma omp parallel for num_threads(c->threads) schedule(static)
    for (size_t k = 0; k < n; k++) {
      size_t off = k * chunk, len = off + chunk > c->bytes ? c->bytes - off : chunk;
      memcpy(c->dst + off, c->src + off, len);
    }
  }
  return tsr__now() - t;
}

static double cl_copy_run(void *arg, int iters) { return tsr__bench_cl_copy(arg, iters); }

static void wl_copy(runner *r, tsr_context *ctx, tsr__bench_workload *w) {
  const tsr_device_info *d = tsr_context_device(ctx);
  size_t cap = r->quick ? 32 * MIB : 512 * MIB;
  size_t bytes = buffer_bytes(d, cap, w);
  w->batch = 1;
  const uint8_t *p = pattern(r, bytes);
  uint8_t *out = malloc(bytes);
  if (!p || !out) {
    free(out);
    w->state = TSR_BENCH_ERROR;
    snprintf(w->message, sizeof w->message, "out of host memory");
    return;
  }
  double s[TSR_BENCH_MAX_SAMPLES];
  if (d->backend == TSR_BACKEND_CPU) {
    snprintf(w->timing, sizeof w->timing, "wall");
    cpu_copy c = {p, out, bytes, tsr_context_threads(ctx)};
    w->device_bytes = 2 * (uint64_t)bytes;
    measure(r, w, cpu_copy_run, &c, s);
  } else {
    tsr__bench_cl *b;
    if (tsr__bench_cl_copy_open(ctx, p, bytes, w, &b)) {
      set_error(w, ctx, "copy");
      free(out);
      return;
    }
    int bad = measure(r, w, cl_copy_run, b, s) || tsr__bench_cl_read(b, out);
    snprintf(w->timing, sizeof w->timing, "%s", tsr__bench_cl_timing(b));
    tsr__bench_cl_close(b);
    if (bad) {
      set_error(w, ctx, "copy");
      free(out);
      return;
    }
    tsr__bench_set_parity(w, tsr__bench_max_diff(out, p, bytes, 1), 0);
  }
  rate_fig(r, w, "bandwidth", "bandwidth, read + write", "GB/s", 2.0 * (double)bytes / 1e9, s);
  free(out);
}

/* ---- transfer ---------------------------------------------------------------- */
typedef struct {
  tsr__bench_cl *b;
  int to_host, pinned;
} xfer;

static double cl_xfer_run(void *arg, int iters) {
  xfer *x = arg;
  return tsr__bench_cl_transfer(x->b, x->to_host, x->pinned, iters);
}

static void wl_transfer(runner *r, tsr_context *ctx, tsr__bench_workload *w) {
  const tsr_device_info *d = tsr_context_device(ctx);
  if (d->backend == TSR_BACKEND_CPU) {
    w->state = TSR_BENCH_NA;
    snprintf(w->message, sizeof w->message, "the CPU backend works in host memory");
    return;
  }
  size_t cap = r->quick ? 16 * MIB : 256 * MIB;
  size_t bytes = buffer_bytes(d, cap, w);
  snprintf(w->timing, sizeof w->timing, "wall");
  w->batch = 1;
  tsr__bench_cl *b;
  const uint8_t *p = pattern(r, bytes);
  if (!p || tsr__bench_cl_transfer_open(ctx, bytes, w, &b)) {
    set_error(w, ctx, "transfer");
    return;
  }
  static const char *names[4] = {"h2d_pageable", "h2d_pinned", "d2h_pageable", "d2h_pinned"};
  static const char *labels[4] = {"host to device, pageable", "host to device, pinned", "device to host, pageable",
                                  "device to host, pinned"};
  for (int k = 0; k < 4; k++) {
    xfer x = {b, k >= 2, k % 2};
    double s[TSR_BENCH_MAX_SAMPLES];
    if (measure(r, w, cl_xfer_run, &x, s)) {
      set_error(w, ctx, "transfer");
      tsr__bench_cl_close(b);
      return;
    }
    rate_fig(r, w, names[k], labels[k], "GB/s", (double)bytes / 1e9, s);
  }
  double diff = tsr__bench_cl_transfer_check(b, p);
  tsr__bench_cl_close(b);
  if (diff < 0) set_error(w, ctx, "transfer check");
  else tsr__bench_set_parity(w, diff, 0);
}

/* ---- warp (data resident) ----------------------------------------------------- */
typedef struct {
  const tsr__warp_plan *plan;
  const uint8_t *src;
  uint8_t *levels;
  uint8_t *dst;
  int threads;
} cpu_warp;

static double cpu_warp_run(void *arg, int iters) {
  cpu_warp *c = arg;
  double t = tsr__now();
  for (int i = 0; i < iters; i++) {
    if (c->levels) tsr__warp_levels_cpu(c->plan, c->src, c->levels, c->threads);
    for (int v = 0; v < c->plan->s.nviews; v++)
      tsr__warp_view_cpu(c->plan, v, c->src, c->levels, c->dst + c->plan->vd[v].dst_offset, c->threads);
  }
  return tsr__now() - t;
}

static double cl_warp_run(void *arg, int iters) { return tsr__bench_cl_warp(arg, iters); }

/* The CPU backend's warp of one frame, the way the split runs it, through
 * the plan's sampling data (built once: its time counts in the first
 * launch). With s == NULL, runs once into dst (the parity reference). */
static int cpu_warp_measure(runner *r, tsr_context *ctx, tsr__bench_workload *w, const tsr__warp_plan *plan,
                            double build, uint8_t *dst, double *s) {
  int threads = ctx ? tsr_context_threads(ctx) : omp_get_num_procs();
  uint8_t *levels = plan->level_bytes ? malloc(plan->level_bytes) : NULL;
  if (plan->level_bytes && !levels) return 1;
  cpu_warp c = {plan, r->src->data, levels, dst, threads};
  int rc = 0;
  if (s) {
    rc = measure(r, w, cpu_warp_run, &c, s);
    if (w->first_launch_s >= 0) w->first_launch_s += build;
    uint64_t bytes = plan->s.item_bytes + plan->s.dst_item_bytes + tsr__warp_plan_data_bytes(plan);
    if (bytes > w->device_bytes) w->device_bytes = bytes;
  } else {
    cpu_warp_run(&c, 1);
  }
  free(levels);
  return rc;
}

static void wl_warp(runner *r, tsr_context *ctx, tsr__bench_workload *w, const tsr__bench_device *dev) {
  const tsr_device_info *d = tsr_context_device(ctx);
  int cpu = d->backend == TSR_BACKEND_CPU;
  snprintf(w->size, sizeof w->size, "%dx%d RGB8 -> ring8 %dx%d", r->src->width, r->src->height, r->view_w, r->view_h);
  snprintf(w->timing, sizeof w->timing, "wall");
  double out_px = 0;
  for (int v = 0; v < r->nviews; v++) out_px += (double)r->views[v].width * r->views[v].height;
  int batch = 1;
  if (!cpu) {
    tsr_mem_need need = tsr_warp_mem_need(r->src->width, r->src->height, r->src->channels, r->src->depth, r->views,
                                          r->nviews);
    tsr_plan plan;
    if (tsr_plan_batch(&need, tsr_context_budget(ctx), d->max_alloc, r->quick ? 2 : 4, &plan)) {
      w->state = TSR_BENCH_ERROR;
      snprintf(w->message, sizeof w->message, "one frame and its views do not fit the device budget");
      return;
    }
    batch = plan.batch;
  }
  w->batch = batch;
  const tsr__bench_figure *copy = find_fig(dev, "copy", "bandwidth");
  double worst = 0;
  for (int k = 0; k < 2; k++) {
    tsr__warp_plan plan;
    double t0 = tsr__now();
    if (tsr__warp_plan_make(ctx, r->src->width, r->src->height, r->src->channels, r->src->depth, r->views, r->nviews,
                            k_interp[k], TSR_BORDER_SPHERE, tsr_context_threads(ctx), &plan)) {
      set_error(w, ctx, "warp");
      return;
    }
    double build = tsr__now() - t0;
    const tsr_warp_src sd = plan.s;
    uint8_t *out = malloc(sd.dst_item_bytes);
    if (!out) {
      tsr__warp_plan_free(&plan);
      w->state = TSR_BENCH_ERROR;
      snprintf(w->message, sizeof w->message, "out of host memory");
      return;
    }
    double s[TSR_BENCH_MAX_SAMPLES];
    int bad;
    if (cpu) {
      bad = cpu_warp_measure(r, ctx, w, &plan, build, out, s);
    } else {
      tsr__bench_cl *b;
      bad = tsr__bench_cl_warp_open(ctx, r->src, batch, &plan, w, &b) != TSR_OK;
      if (!bad) {
        bad = measure(r, w, cl_warp_run, b, s) || tsr__bench_cl_read(b, out);
        snprintf(w->timing, sizeof w->timing, "%s", tsr__bench_cl_timing(b));
        tsr__bench_cl_close(b);
      }
    }
    if (bad) {
      free(out);
      tsr__warp_plan_free(&plan);
      set_error(w, ctx, k_interp_name[k]);
      return;
    }
    char name[40], label[64];
    snprintf(name, sizeof name, "%s_mpix", k_interp_name[k]);
    snprintf(label, sizeof label, "%s output", k_interp_label[k]);
    rate_fig(r, w, name, label, "Mpix/s", batch * out_px / 1e6, s);
    if (copy && copy->n) {
      /* Effective bandwidth: each frame read once, each view written once. */
      double bytes = (double)batch * (double)(sd.item_bytes + sd.dst_item_bytes) / 1e9, v[TSR_BENCH_MAX_SAMPLES];
      for (int i = 0; i < r->repeat; i++) v[i] = bytes / s[i] / copy->median;
      snprintf(name, sizeof name, "%s_of_copy", k_interp_name[k]);
      snprintf(label, sizeof label, "%s bandwidth / copy", k_interp_label[k]);
      tsr__bench_figure *f = add_fig(w, name, label, "fraction", 1);
      if (f) tsr__bench_summarize(v, r->repeat, f);
    }
    if (!cpu) {
      if (!r->warp_ref[k] && (r->warp_ref[k] = malloc(sd.dst_item_bytes)))
        cpu_warp_measure(r, NULL, w, &plan, 0, r->warp_ref[k], NULL);
      if (r->warp_ref[k]) {
        double dd = tsr__bench_max_diff(out, r->warp_ref[k], sd.dst_item_bytes, 1);
        if (dd > worst) worst = dd;
      }
    }
    free(out);
    tsr__warp_plan_free(&plan);
  }
  if (!cpu) tsr__bench_set_parity(w, worst, TSR_BENCH_WARP_TOLERANCE);
}

/* ---- split-8k ------------------------------------------------------------------ */
static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int split_frames(runner *r) { return r->quick ? 4 : 16; }

static tsr_status split_once(runner *r, tsr_context *ctx, int nframes, int copy_only, const char *format,
                             const char *out, tsr_split_stats *st) {
  char **in = calloc((size_t)nframes, sizeof *in);
  if (!in) return TSR_E_NOMEM;
  for (int i = 0; i < nframes; i++)
    if ((in[i] = malloc(128))) snprintf(in[i], 128, "%s/in/frame_%04d.jpg", r->dir, i + 1);
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "ring8", .width = r->view_w, .height = r->view_h,
                         .interp = TSR_INTERP_BILINEAR, .quality = 95, .copy_only = copy_only, .format = format};
  rm_tree(out);
  tsr_status s = tsr_split(ctx, &o, (const char *const *)in, nframes, st);
  for (int i = 0; i < nframes; i++) free(in[i]);
  free(in);
  return s;
}

/* The views of the first frame as PNG (lossless), for parity. */
static tsr_status split_views(runner *r, tsr_context *ctx, tsr_image **views) {
  char out[128];
  snprintf(out, sizeof out, "%s/parity", r->dir);
  tsr_split_stats st;
  tsr_status s = split_once(r, ctx, 1, 0, "png", out, &st);
  for (int v = 0; v < r->nviews && !s; v++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s/frame_0001.png", out, r->view_names[v]);
    s = tsr_image_read(ctx, path, 0, &views[v]);
  }
  rm_tree(out);
  return s;
}

static void wl_split(runner *r, tsr_context *ctx, tsr__bench_workload *w) {
  const tsr_device_info *d = tsr_context_device(ctx);
  int nframes = split_frames(r);
  snprintf(w->size, sizeof w->size, "%d x %dx%d JPEG -> ring8 %dx%d, bilinear, q95", nframes, r->src->width,
           r->src->height, r->view_w, r->view_h);
  snprintf(w->timing, sizeof w->timing, "wall");
  w->iterations = nframes;
  char out[128];
  snprintf(out, sizeof out, "%s/out", r->dir);
  tsr_split_stats st;
  double t0 = tsr__now();
  if (split_once(r, ctx, nframes, 0, NULL, out, &st)) {
    set_error(w, ctx, "split");
    rm_tree(out);
    return;
  }
  w->first_launch_s = tsr__now() - t0;
  w->batch = st.batch;
  w->device_bytes = st.device_bytes;
  double a[TSR_BENCH_MAX_SAMPLES], b[TSR_BENCH_MAX_SAMPLES], q[TSR_BENCH_MAX_SAMPLES];
  for (int k = 0; k < r->repeat; k++) {
    tick(r, "measurement", k + 1, r->repeat);
    tsr_split_stats s1, s2;
    /* Split and floor alternate, so both see the same machine noise. */
    if (split_once(r, ctx, nframes, 0, NULL, out, &s1) || split_once(r, ctx, nframes, 1, NULL, out, &s2) ||
        !s1.views_written || !s2.views_written) {
      set_error(w, ctx, "split");
      rm_tree(out);
      return;
    }
    if (s1.device_bytes > w->device_bytes) w->device_bytes = s1.device_bytes;
    a[k] = s1.wall_s * 1e3 / (double)s1.views_written;
    b[k] = s2.wall_s * 1e3 / (double)s2.views_written;
    q[k] = a[k] / b[k];
  }
  rm_tree(out);
  tsr__bench_figure *f;
  if ((f = add_fig(w, "split_ms_per_view", "split: decode, warp, encode", "ms/view", 0)))
    tsr__bench_summarize(a, r->repeat, f);
  if ((f = add_fig(w, "floor_ms_per_view", "codec floor (a copy for the warp)", "ms/view", 0)))
    tsr__bench_summarize(b, r->repeat, f);
  if ((f = add_fig(w, "ratio", "split / codec floor", "ratio", 0))) tsr__bench_summarize(q, r->repeat, f);

  if (d->backend == TSR_BACKEND_CPU) return;
  if (!r->split_ref[0]) { /* the CPU backend's views, once */
    tsr_context *cctx = NULL;
    tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .threads = r->o->threads, .quiet = 1};
    if (tsr_context_create(&co, &cctx) || split_views(r, cctx, r->split_ref)) {
      tsr_context_destroy(cctx);
      w->state = TSR_BENCH_ERROR;
      snprintf(w->message, sizeof w->message, "the CPU backend's reference split failed");
      return;
    }
    tsr_context_destroy(cctx);
  }
  tsr_image *mine[16] = {0};
  double worst = 0;
  if (split_views(r, ctx, mine)) {
    set_error(w, ctx, "parity split");
  } else {
    for (int v = 0; v < r->nviews; v++) {
      const tsr_image *x = mine[v], *y = r->split_ref[v];
      double dd = x->width == y->width && x->height == y->height && x->channels == y->channels
                      ? tsr__bench_max_diff(x->data, y->data, x->stride * (size_t)x->height, 1)
                      : 255;
      if (dd > worst) worst = dd;
    }
    tsr__bench_set_parity(w, worst, TSR_BENCH_WARP_TOLERANCE);
  }
  for (int v = 0; v < r->nviews; v++) tsr_image_free(mine[v]);
}

/* ---- stereo -------------------------------------------------------------------- */
/* A synthetic rectified pair (quick 640x360, full 1280x720, 128
 * disparities, as OpenCV's often-quoted StereoSGBM figure): a textured
 * background plane at 20..60 px (slanted) and a textured box at 100 px. */
static tsr_status stereo_pair(runner *r, tsr_image **l, tsr_image **rr) {
  int w = r->quick ? 640 : 1280, h = r->quick ? 360 : 720;
  tsr_status st = tsr_image_create(w, h, 1, 8, l);
  if (!st) st = tsr_image_create(w, h, 1, 8, rr);
  if (st) return st;
  for (int y = 0; y < h; y++) {
    int db = 20 + 40 * y / h;
    for (int x = 0; x < w; x++) {
      int fg_l = x >= w / 2 && x < w * 3 / 4 && y >= h / 4 && y < h * 3 / 4;
      int xf = x + 100, fg_r = xf >= w / 2 && xf < w * 3 / 4 && y >= h / 4 && y < h * 3 / 4;
      unsigned a = (unsigned)x * 2654435761u ^ (unsigned)y * 40503u ^ (fg_l ? 0x5bd1e995u : 0);
      unsigned b = fg_r ? (unsigned)xf * 2654435761u ^ (unsigned)y * 40503u ^ 0x5bd1e995u
                        : (unsigned)(x + db) * 2654435761u ^ (unsigned)y * 40503u;
      (*l)->data[(size_t)y * (*l)->stride + (size_t)x] = (uint8_t)((a ^ (a >> 15)) * 2246822519u >> 24);
      (*rr)->data[(size_t)y * (*rr)->stride + (size_t)x] = (uint8_t)((b ^ (b >> 15)) * 2246822519u >> 24);
    }
  }
  return TSR_OK;
}

typedef struct {
  tsr_context *ctx;
  const tsr_image *l, *r;
  const tsr_stereo_options *o;
  int16_t *disp;
  tsr_stereo_stats st;
} stereo_arg;

static double stereo_run(void *arg, int iters) {
  stereo_arg *a = arg;
  double t = tsr__now();
  for (int i = 0; i < iters; i++)
    if (tsr_stereo_match(a->ctx, a->l, a->r, a->o, a->disp, NULL, NULL, &a->st)) return -1;
  return tsr__now() - t;
}

static void wl_stereo(runner *r, tsr_context *ctx, tsr__bench_workload *w) {
  int cpu = tsr_context_device(ctx)->backend == TSR_BACKEND_CPU;
  tsr_image *l = NULL, *rr = NULL;
  if (stereo_pair(r, &l, &rr)) {
    set_error(w, ctx, "stereo");
    return;
  }
  size_t n = (size_t)l->width * (size_t)l->height;
  int16_t *disp = malloc(n * 2), *ref = malloc(n * 2);
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = 128;
  snprintf(w->size, sizeof w->size, "%dx%d, %d disparities, 8 paths", l->width, l->height, o.num_disp);
  snprintf(w->timing, sizeof w->timing, "wall");
  stereo_arg a = {ctx, l, rr, &o, disp, {0}};
  double s[TSR_BENCH_MAX_SAMPLES];
  if (!disp || !ref || measure(r, w, stereo_run, &a, s)) {
    set_error(w, ctx, "stereo");
  } else {
    w->device_bytes = a.st.tile_bytes;
    w->batch = 1; /* one pair at a time, tile by tile */
    rate_fig(r, w, "mdisp", "pixels x disparities", "M/s", (double)n * o.num_disp / 1e6, s);
    rate_fig(r, w, "pairs", "pairs", "pairs/s", 1.0, s);
    if (!cpu) {
      /* the CPU backend on the device's grid: the same integers */
      tsr_stereo_options co = o;
      if (a.st.tiles_x > 1) co.tile_w = a.st.core_w + 2 * a.st.margin;
      if (a.st.tiles_y > 1) co.tile_h = a.st.core_h + 2 * a.st.margin;
      co.overlap = 2 * a.st.margin;
      tsr_context_options po = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
      tsr_context *cctx = NULL;
      double worst = -1;
      if (!tsr_context_create(&po, &cctx) && !tsr_stereo_match(cctx, l, rr, &co, ref, NULL, NULL, NULL)) {
        worst = 0;
        for (size_t i = 0; i < n; i++) {
          double dd = disp[i] == ref[i] ? 0
                      : disp[i] == TSR_STEREO_INVALID || ref[i] == TSR_STEREO_INVALID
                          ? 1e9
                          : fabs((double)(disp[i] - ref[i])) / TSR_STEREO_SCALE;
          if (dd > worst) worst = dd;
        }
      }
      tsr_context_destroy(cctx);
      if (worst >= 0) tsr__bench_set_parity(w, worst, 0);
    }
  }
  free(disp);
  free(ref);
  tsr_image_free(l);
  tsr_image_free(rr);
}

/* ---- augment ------------------------------------------------------------------- */
/* Eight synthetic photos (quick 640x480, full 1024x768) through the
 * ImageNet training ops, one copy each, decoded already: the augment
 * compute alone, images per second. Parity: every output byte against the
 * CPU backend's (tolerance 0). */
#define AUG_BENCH_OPS "rrc(size=224); hflip; jitter(brightness=0.4,contrast=0.4,saturation=0.4,hue=0.1)"
#define AUG_BENCH_N 8

typedef struct {
  tsr_context *ctx;
  int cpu, threads;
  tsr__aug_ops ops;
  tsr_image *src[AUG_BENCH_N];
  uint8_t *out[AUG_BENCH_N];
  int iter;
} aug_arg;

static int aug_once(aug_arg *a, int it, uint8_t **outs) {
  int bad = 0;
  if (a->cpu) {
#pragma omp parallel for num_threads(a->threads) schedule(dynamic) reduction(+ : bad)
    for (int i = 0; i < AUG_BENCH_N; i++) {
      const tsr_image *s = a->src[i];
      tsr__aug_plan plan;
      tsr__aug_exec e;
      tsr__aug_plan_item(&a->ops, 1, (uint64_t)i, (uint32_t)it, s->width, s->height, &plan);
      tsr__aug_exec_make(&a->ops, &plan, s->width, s->height, 3, 1, 0, 0, &e);
      tsr__aug_scratch wk = {0};
      bad += tsr__aug_run_cpu(&e, s->data, outs[i], &wk) != TSR_OK;
      free(wk.buf);
    }
    return bad;
  }
  for (int i = 0; i < AUG_BENCH_N && !bad; i++) {
    const tsr_image *s = a->src[i];
    tsr__aug_plan plan;
    tsr__aug_exec e;
    tsr__aug_plan_item(&a->ops, 1, (uint64_t)i, (uint32_t)it, s->width, s->height, &plan);
    tsr__aug_exec_make(&a->ops, &plan, s->width, s->height, 3, 1, 0, 0, &e);
    if (tsr__aug_run_cl(a->ctx, &e, s->data, outs[i])) return 1;
  }
  return bad;
}

static double aug_run(void *arg, int iters) {
  aug_arg *a = arg;
  double t = tsr__now();
  for (int i = 0; i < iters; i++)
    if (aug_once(a, a->iter++ % 4, a->out)) return -1;
  return tsr__now() - t;
}

static void wl_augment(runner *r, tsr_context *ctx, tsr__bench_workload *w) {
  aug_arg a;
  memset(&a, 0, sizeof a);
  a.ctx = ctx;
  a.cpu = tsr_context_device(ctx)->backend == TSR_BACKEND_CPU;
  a.threads = tsr_context_threads(ctx);
  int iw = r->quick ? 640 : 1024, ih = r->quick ? 480 : 768, ok = !tsr__aug_parse(ctx, AUG_BENCH_OPS, &a.ops);
  for (int i = 0; i < AUG_BENCH_N && ok; i++) {
    ok = !tsr_image_create(iw, ih, 3, 8, &a.src[i]) && (a.out[i] = malloc((size_t)224 * 224 * 3));
    for (int y = 0; ok && y < ih; y++)
      for (int x = 0; x < iw * 3; x++) {
        unsigned v = (unsigned)(x / 3) * 2654435761u ^ (unsigned)y * 40503u ^ (unsigned)(x % 3) * 0x5bd1e995u;
        /* smooth gradients with a little noise: photo-like colour content */
        a.src[i]->data[(size_t)y * a.src[i]->stride + x] =
            (uint8_t)(((x / 3) * 255 / iw + y * 255 / ih * (x % 3) + i * 37 + ((v >> 28) & 15)) & 255);
      }
  }
  snprintf(w->size, sizeof w->size, "%d images %dx%d -> 224x224 (rrc, hflip, jitter)", AUG_BENCH_N, iw, ih);
  snprintf(w->timing, sizeof w->timing, "wall");
  double s[TSR_BENCH_MAX_SAMPLES];
  if (!ok || measure(r, w, aug_run, &a, s)) {
    set_error(w, ctx, "augment");
  } else {
    w->batch = 1; /* one image at a time on a device */
    rate_fig(r, w, "images", "images", "images/s", AUG_BENCH_N, s);
    if (!a.cpu) {
      /* the CPU backend's bytes for the same draws */
      aug_arg c = a;
      c.cpu = 1;
      c.threads = 1;
      uint8_t *ref[AUG_BENCH_N] = {0};
      int good = 1;
      for (int i = 0; i < AUG_BENCH_N; i++) good &= (ref[i] = malloc((size_t)224 * 224 * 3)) != NULL;
      double worst = -1;
      if (good && !aug_once(&a, 0, a.out) && !aug_once(&c, 0, ref)) {
        worst = 0;
        for (int i = 0; i < AUG_BENCH_N; i++) {
          double d = tsr__bench_max_diff(a.out[i], ref[i], (size_t)224 * 224 * 3, 1);
          if (d > worst) worst = d;
        }
      }
      for (int i = 0; i < AUG_BENCH_N; i++) free(ref[i]);
      if (worst >= 0) tsr__bench_set_parity(w, worst, 0);
    }
  }
  for (int i = 0; i < AUG_BENCH_N; i++) {
    tsr_image_free(a.src[i]);
    free(a.out[i]);
  }
}

/* ---- set-up ----------------------------------------------------------------- */
static int has_workload(const char *list, const char *name) {
  if (!list) return 1;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && !strncmp(p, name, n)) return 1;
    p += len;
    if (*p == ',') p++;
  }
  return 0;
}

/* The frame at the suite's size (quick: DCT scale 1/4), the views, and the
 * split's input folder (quick: the scaled frame written as JPEG q95). */
static tsr_status prepare(runner *r, tsr_context *ctx, int need_split) {
  uint8_t *buf;
  size_t size;
  tsr_status st = tsr__read_file(ctx, r->o->frame, &buf, &size);
  if (st) return st;
  int w, h, ch, denom = r->quick ? 4 : 1;
  if (!(st = tsr__jpeg_info(ctx, buf, size, r->o->frame, &w, &h, &ch)))
    st = tsr__jpeg_decode_band(ctx, buf, size, r->o->frame, denom, 0, (h + denom - 1) / denom, &r->src);
  free(buf);
  if (st) return st;
  if (r->src->channels != 3 || r->src->width != 2 * r->src->height)
    return tsr__fail(ctx, TSR_E_FORMAT, "%s: the bench frame must be an RGB equirectangular (2:1) JPEG", r->o->frame);
  tsr_rig *rig;
  if ((st = tsr_rig_get(ctx, "ring8", &rig))) return st;
  /* ring8's views are 1920x1080 at 90 deg for a 7680-wide frame: the same
   * density (1 source px per output px) at every frame size. */
  r->view_w = (int)lround(1920.0 * r->src->width / 7680.0);
  r->view_h = (int)lround(1080.0 * r->src->width / 7680.0);
  r->nviews = rig->nviews < 16 ? rig->nviews : 16;
  for (int v = 0; v < r->nviews; v++) {
    const tsr_rig_view *rv = &rig->views[v];
    memcpy(r->view_names[v], rv->name, sizeof r->view_names[v]);
    tsr_view_equirect(&r->views[v], r->view_w, r->view_h, rv->yaw, rv->pitch, rv->roll, rv->hfov);
    tsr_view_antialias(&r->views[v], r->src->width, r->src->height);
  }
  tsr_rig_free(rig);
  if (!need_split) return TSR_OK;
  char in[128], frame[160], abs[4096];
  snprintf(in, sizeof in, "%s/in", r->dir);
  if (mkdir(in, 0755)) return tsr__fail(ctx, TSR_E_IO, "cannot create %s", in);
  snprintf(frame, sizeof frame, "%s/frame_0001.jpg", in);
  if (r->quick) {
    tsr_write_options wo = {.struct_size = sizeof(tsr_write_options), .quality = 95};
    if ((st = tsr_image_write(ctx, r->src, frame, &wo))) return st;
  } else if (!realpath(r->o->frame, abs) || symlink(abs, frame)) {
    return tsr__fail(ctx, TSR_E_IO, "cannot link %s into %s", r->o->frame, in);
  }
  for (int i = 2; i <= split_frames(r); i++) {
    char link[160];
    snprintf(link, sizeof link, "%s/frame_%04d.jpg", in, i);
    if (symlink(r->quick ? "frame_0001.jpg" : abs, link)) return tsr__fail(ctx, TSR_E_IO, "cannot link %s", link);
  }
  return TSR_OK;
}

static void init_workload(tsr__bench_workload *w, const char *name) {
  memset(w, 0, sizeof *w);
  snprintf(w->name, sizeof w->name, "%s", name);
  w->build_s = -1;
  w->first_launch_s = -1;
  w->parity_diff = -1;
  w->tolerance = -1;
}

tsr_status tsr__bench_run(const tsr__bench_options *o, const tsr_device_info *const *devs, int ndev,
                          tsr__bench_report *rep, char *err, size_t errlen) {
  memset(rep, 0, sizeof *rep);
  runner r = {0};
  r.o = o;
  r.quick = !o->suite || strcmp(o->suite, "full") != 0;
  r.repeat = o->repeat > 0 ? o->repeat : r.quick ? 3 : 5;
  r.tty = o->progress && isatty(STDERR_FILENO);
  if (r.repeat > TSR_BENCH_MAX_SAMPLES) r.repeat = TSR_BENCH_MAX_SAMPLES;
  r.target_s = r.quick ? 0.05 : 0.5;
  rep->schema_version = TSR_BENCH_SCHEMA_VERSION;
  snprintf(rep->tessera_version, sizeof rep->tessera_version, "%s", TSR_VERSION);
  snprintf(rep->git, sizeof rep->git, "%s", TSR_GIT_REVISION);
  snprintf(rep->suite, sizeof rep->suite, "%s", r.quick ? "quick" : "full");
  rep->repeat = r.repeat;
  rep->target_s = r.target_s;
  rep->threads = o->threads > 0 ? o->threads : omp_get_num_procs();
  tsr__bench_host_probe(&rep->host);
  time_t t = time(NULL);
  struct tm tmv;
  strftime(rep->created, sizeof rep->created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tmv));
  rep->dev = calloc((size_t)ndev, sizeof *rep->dev);
  if (!rep->dev) return TSR_E_NOMEM;

  const char *wl[] = {"copy", "transfer", "warp", "split-8k", "stereo", "augment"};
  int need_frame = has_workload(o->workloads, "warp") || has_workload(o->workloads, "split-8k");
  tsr_status st = TSR_OK;
  tsr_context *pctx = NULL;
  tsr_context_options po = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
  snprintf(r.dir, sizeof r.dir, "/tmp/tessera-bench.XXXXXX");
  if (!mkdtemp(r.dir)) {
    snprintf(err, errlen, "cannot create a scratch folder in /tmp");
    return TSR_E_IO;
  }
  if (need_frame && !o->frame) {
    rm_tree(r.dir);
    snprintf(err, errlen, "the warp and split-8k workloads need an 8K equirectangular JPEG frame (--frame)");
    return TSR_E_INVALID;
  }
  if (need_frame) {
    if ((st = tsr_context_create(&po, &pctx)) == TSR_OK) st = prepare(&r, pctx, has_workload(o->workloads, "split-8k"));
    if (st) snprintf(err, errlen, "%s", tsr_context_error(pctx));
    tsr_context_destroy(pctx);
  }
  for (int i = 0; i < ndev && !st; i++) {
    tsr__bench_device *bd = &rep->dev[rep->ndev++];
    bd->dev = *devs[i];
    tsr_context *ctx = NULL;
    tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = devs[i]->id, .threads = o->threads, .mem_budget = o->mem_budget, .quiet = 1};
    tsr_status cst = tsr_context_create(&co, &ctx);
    for (int k = 0; k < 6; k++) {
      if (!has_workload(o->workloads, wl[k])) continue;
      tsr__bench_workload *w = &bd->wl[bd->nwl++];
      init_workload(w, wl[k]);
      if (cst) {
        set_error(w, ctx, "device");
        continue;
      }
      if (o->progress) fprintf(stderr, "bench: %s (%s): %s ...\n", devs[i]->id, devs[i]->name, wl[k]);
      double t0 = tsr__now();
      r.cur_dev = devs[i]->id;
      r.cur_wl = wl[k];
      r.cur_t0 = t0;
      if (k == 0) wl_copy(&r, ctx, w);
      else if (k == 1) wl_transfer(&r, ctx, w);
      else if (k == 2) wl_warp(&r, ctx, w, bd);
      else if (k == 3) wl_split(&r, ctx, w);
      else if (k == 4) wl_stereo(&r, ctx, w);
      else wl_augment(&r, ctx, w);
      if (r.tty) fprintf(stderr, "\r\033[K"); /* the tick line */
      if (o->progress)
        fprintf(stderr, "bench: %s: %s %s in %.1f s\n", devs[i]->id, wl[k],
                w->state == TSR_BENCH_OK ? "done" : w->state == TSR_BENCH_NA ? "not applicable"
                : w->state == TSR_BENCH_FAILED ? "FAILED parity" : "error", tsr__now() - t0);
    }
    tsr_context_destroy(ctx);
  }
  rm_tree(r.dir);
  free(r.pattern);
  tsr_image_free(r.src);
  for (int k = 0; k < 2; k++) free(r.warp_ref[k]);
  for (int v = 0; v < 16; v++) tsr_image_free(r.split_ref[v]);
  return st;
}

void tsr__bench_report_free(tsr__bench_report *rep) {
  free(rep->dev);
  rep->dev = NULL;
  rep->ndev = 0;
}
