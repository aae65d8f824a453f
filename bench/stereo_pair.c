/* Times tessera's stereo matcher on one pair, in one process: the median
 * of N matches after a first one (which faults the scratch in, as a first
 * call does; its time is printed apart), so that it compares with tools
 * timed the same way (bench/stereo_opencv.py times OpenCV's compute()
 * calls). Writes the disparities as PFM for tessera stereo-eval.
 *
 * usage: bench_stereo_pair LEFT RIGHT NDISP OUT.pfm [--runs N] [--paths 4|8]
 *        [--device D] [--threads N] [--mem-budget BYTES] [--guide] [--min-disp N] [--tile WxH]
 * Prints one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/tessera.h"

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench_stereo_pair LEFT RIGHT NDISP OUT.pfm [--runs N] [--paths 4|8] [--device D] "
                    "[--threads N] [--mem-budget BYTES] [--guide] [--min-disp N] [--tile WxH]\n");
    return 2;
  }
  int runs = 5;
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  o.num_disp = atoi(argv[3]);
  tsr_context_options co;
  tsr_context_options_init(&co);
  co.device = "cpu";
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--paths") && i + 1 < argc) o.paths = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--device") && i + 1 < argc) co.device = argv[++i];
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) co.threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--min-disp") && i + 1 < argc) o.min_disp = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--guide")) o.guide = 1;
    else if (!strcmp(argv[i], "--tile") && i + 1 < argc) {
      if (sscanf(argv[++i], "%dx%d", &o.tile_w, &o.tile_h) != 2) return 2;
    }
    else if (!strcmp(argv[i], "--mem-budget") && i + 1 < argc) {
      if (tsr_parse_bytes(argv[++i], &co.mem_budget)) return 2;
    } else {
      fprintf(stderr, "bench_stereo_pair: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (runs < 1 || runs > 100) runs = 5;
  tsr_context *ctx = NULL;
  tsr_image *l = NULL, *r = NULL;
  tsr_status st = tsr_context_create(&co, &ctx);
  if (!st) st = tsr_image_read(ctx, argv[1], 0, &l);
  if (!st) st = tsr_image_read(ctx, argv[2], 0, &r);
  if (st) {
    fprintf(stderr, "bench_stereo_pair: %s\n", ctx ? tsr_context_error(ctx) : tsr_strerror(st));
    return 1;
  }
  int16_t *d = malloc((size_t)l->width * (size_t)l->height * 2);
  double t[101];
  tsr_stereo_stats s;
  for (int k = 0; k <= runs && !st; k++) {
    st = tsr_stereo_match(ctx, l, r, &o, d, NULL, NULL, &s);
    t[k] = s.seconds;
  }
  if (!st) st = tsr_disp_write_pfm(ctx, argv[4], d, l->width, l->height);
  if (st) {
    fprintf(stderr, "bench_stereo_pair: %s\n", tsr_context_error(ctx));
    return 1;
  }
  double first = t[0];
  qsort(t + 1, (size_t)runs, sizeof t[0], cmp);
  printf("{\"tool\": \"tessera\", \"paths\": %d, \"guide\": %d, \"device\": \"%s\", \"threads\": %d, "
         "\"seconds_median\": %.6f, \"seconds_first\": %.6f, \"runs\": %d, \"tiles\": %d, \"cells\": %llu, "
         "\"pfm\": \"%s\"}\n",
         o.paths ? o.paths : 8, o.guide, s.device, tsr_context_threads(ctx), t[1 + runs / 2], first, runs,
         s.tiles_x * s.tiles_y, (unsigned long long)s.cells, argv[4]);
  free(d);
  tsr_image_free(l);
  tsr_image_free(r);
  tsr_context_destroy(ctx);
  return 0;
}
