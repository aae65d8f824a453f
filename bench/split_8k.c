/* bench split-8k: the split of 8K equirectangular JPEG frames into ring8
 * (8 views of 1920x1080, 90 deg), JPEG q95, against its codec floor: the
 * same pipeline (decoder, row band, encoder, threads, queues) with the warp
 * replaced by a copy of an equally sized region of each frame.
 *
 * Each measurement runs in a child process, so peak RSS is that run's own.
 * Runs alternate warp / floor to share the machine's noise; medians are
 * quoted. If ffmpeg is on PATH, the same frames also go through one split
 * into 8 v360=e:flat filters, and tessera's speedup over it is printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs/bench/bench.h"

typedef struct {
  double wall_s, plan_s;
  double peak_rss;
  int views, ok, batch, denom, rows;
} result;

/* Median of n values (sorted in place, so v[0] and v[n - 1] are min and max). */
static double median(double *v, int n) {
  tsr__bench_figure f;
  tsr__bench_summarize(v, n, &f);
  return f.median;
}

/* Runs one split in a child; the result comes back through a pipe. */
static result run_child(const char *device, int threads, const char *indir, int nframes, const char *outdir,
                        int copy_only) {
  result r = {0};
  int fd[2];
  if (pipe(fd)) return r;
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    result c = {0};
    tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = device, .threads = threads, .quiet = 1};
    tsr_context *ctx = NULL;
    if (tsr_context_create(&co, &ctx) == TSR_OK) {
      char **in = calloc((size_t)nframes, sizeof *in);
      for (int i = 0; i < nframes; i++) {
        in[i] = malloc(strlen(indir) + 32);
        sprintf(in[i], "%s/frame_%04d.jpg", indir, i + 1);
      }
      tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = outdir, .rig = "ring8", .interp = TSR_INTERP_BILINEAR, .quality = 95,
                             .copy_only = copy_only};
      tsr_split_stats s;
      tsr_status st = tsr_split(ctx, &o, (const char *const *)in, nframes, &s);
      if (st) fprintf(stderr, "bench: split failed: %s\n", tsr_context_error(ctx));
      c.ok = st == TSR_OK;
      c.wall_s = s.wall_s;
      c.plan_s = s.plan_s;
      c.peak_rss = (double)s.peak_rss;
      c.views = (int)s.views_written;
      c.batch = s.batch;
      c.denom = s.dct_denom;
      c.rows = s.band_rows;
    } else {
      fprintf(stderr, "bench: %s\n", tsr_context_error(ctx));
    }
    tsr_context_destroy(ctx);
    if (write(fd[1], &c, sizeof c) != (ssize_t)sizeof c) _exit(1);
    _exit(0);
  }
  close(fd[1]);
  if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) r.ok = 0;
  close(fd[0]);
  waitpid(pid, NULL, 0);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", outdir);
  if (system(cmd)) fprintf(stderr, "bench: could not remove %s\n", outdir);
  return r;
}

static int have_ffmpeg(void) { return system("command -v ffmpeg >/dev/null 2>&1") == 0; }

/* FFmpeg: one split into 8 v360 filters, same frames, same JPEG quality
 * scale roughly (q:v 2), all threads. Returns wall seconds or -1. */
static double run_ffmpeg(const char *indir, const char *outdir, int nframes) {
  char graph[4096] = "[0:v]split=8";
  for (int v = 0; v < 8; v++) snprintf(graph + strlen(graph), sizeof graph - strlen(graph), "[i%d]", v);
  for (int v = 0; v < 8; v++)
    snprintf(graph + strlen(graph), sizeof graph - strlen(graph),
             ";[i%d]v360=input=e:output=flat:yaw=%d:h_fov=90:v_fov=58.7155:w=1920:h=1080[o%d]", v,
             v * 45 > 180 ? v * 45 - 360 : v * 45, v); /* v360 takes yaw in [-180, 180] */
  char cmd[16384];
  int n = snprintf(cmd, sizeof cmd, "mkdir -p '%s' && ffmpeg -loglevel error -y -i '%s/frame_%%04d.jpg' -frames:v %d "
                   "-filter_complex '%s'", outdir, indir, nframes, graph);
  for (int v = 0; v < 8; v++)
    n += snprintf(cmd + n, sizeof cmd - (size_t)n, " -map '[o%d]' -q:v 2 '%s/v%d_%%04d.jpg'", v, outdir, v);
  double t = tsr__now();
  int rc = system(cmd);
  double el = tsr__now() - t;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", outdir);
  if (system(cmd)) fprintf(stderr, "bench: could not remove %s\n", outdir);
  return rc == 0 ? el : -1;
}

int main(int argc, char **argv) {
  const char *frame = TSR_BENCH_FRAME, *device = "cpu";
  int nframes = 16, repeat = 3, threads = 0, rss_check = 1, ffmpeg = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--frames") && i + 1 < argc) nframes = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--frame") && i + 1 < argc) frame = argv[++i];
    else if (!strcmp(argv[i], "--no-rss")) rss_check = 0;
    else if (!strcmp(argv[i], "--no-ffmpeg")) ffmpeg = 0;
    else {
      fprintf(stderr,
              "usage: bench_split_8k [--frames N (16)] [--repeat N (3)] [--device cpu|cl|...] [--threads N]\n"
              "                      [--frame PATH (bundled 8K frame)] [--no-rss] [--no-ffmpeg]\n");
      return 1;
    }
  }
  if (nframes < 1 || repeat < 1) return 1;
  char tmpl[] = "/tmp/tsrbench.XXXXXX";
  char *dir = mkdtemp(tmpl);
  if (!dir) return 1;
  char indir[4096], outdir[4200];
  snprintf(indir, sizeof indir, "%s/in", dir);
  mkdir(indir, 0755);
  int maxf = nframes > 64 ? nframes : 64;
  for (int i = 0; i < maxf; i++) {
    char link[4200];
    snprintf(link, sizeof link, "%s/frame_%04d.jpg", indir, i + 1);
    char abs[4096];
    if (!realpath(frame, abs) || symlink(abs, link)) {
      fprintf(stderr, "bench: cannot use %s\n", frame);
      return 1;
    }
  }
  snprintf(outdir, sizeof outdir, "%s/out", dir);
  printf("split-8k: %d frames of %s -> ring8 (8 x 1920x1080, bilinear), JPEG q95, device %s, %d repeats\n",
         nframes, frame, device, repeat);
  double *w = calloc((size_t)repeat, sizeof *w), *c = calloc((size_t)repeat, sizeof *c),
         *ratio = calloc((size_t)repeat, sizeof *ratio), *plan = calloc((size_t)repeat, sizeof *plan);
  double rss16 = 0;
  result last = {0};
  for (int r = 0; r < repeat; r++) {
    result a = run_child(device, threads, indir, nframes, outdir, 0);
    result b = run_child(device, threads, indir, nframes, outdir, 1);
    if (!a.ok || !b.ok || !a.views || !b.views) {
      fprintf(stderr, "bench: a run failed\n");
      return 1;
    }
    w[r] = a.wall_s * 1e3 / a.views;
    c[r] = b.wall_s * 1e3 / b.views;
    ratio[r] = w[r] / c[r];
    plan[r] = a.plan_s * 1e3;
    if (a.peak_rss > rss16) rss16 = a.peak_rss;
    last = a;
    printf("  run %d: split %.2f ms/view, codec floor %.2f ms/view, ratio %.2f (plan and maps %.0f ms, peak RSS %.0f MiB)\n",
           r + 1, w[r], c[r], ratio[r], plan[r], a.peak_rss / 1048576.0);
  }
  double mw = median(w, repeat), mc = median(c, repeat), mr = median(ratio, repeat);
  printf("split:       %.2f ms/view (median; min %.2f, max %.2f)\n", mw, w[0], w[repeat - 1]);
  printf("codec floor: %.2f ms/view (median; min %.2f, max %.2f)\n", mc, c[0], c[repeat - 1]);
  printf("ratio:       %.2f (median of per-run ratios; target <= 1.5)\n", mr);
  printf("decode plan: DCT scale 1/%d, %d rows of the frame; batch %d\n", last.denom, last.rows, last.batch);
  printf("peak RSS:    %.0f MiB at %d frames (target <= 1024)\n", rss16 / 1048576.0, nframes);
  if (rss_check && nframes < 64) {
    result a = run_child(device, threads, indir, 64, outdir, 0);
    printf("peak RSS:    %.0f MiB at 64 frames: %+.1f%% (target < +10%%); %.2f ms/view\n", a.peak_rss / 1048576.0,
           100.0 * (a.peak_rss - rss16) / rss16, a.wall_s * 1e3 / a.views);
  }
  if (ffmpeg && have_ffmpeg()) {
    double t = run_ffmpeg(indir, outdir, nframes);
    if (t > 0)
      printf("ffmpeg v360: %.2f ms/view (one run, set-up included); tessera is %.1fx faster\n",
             t * 1e3 / (nframes * 8), t * 1e3 / (nframes * 8) / mw);
    else
      printf("ffmpeg v360: failed to run\n");
  } else {
    printf("ffmpeg v360: not measured (%s)\n", ffmpeg ? "ffmpeg not installed" : "--no-ffmpeg");
  }
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) fprintf(stderr, "bench: could not remove %s\n", dir);
  free(w);
  free(c);
  free(ratio);
  free(plan);
  return 0;
}
