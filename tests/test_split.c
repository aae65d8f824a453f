/* tessera split end to end: backends and batch sizes agree, the row-band
 * and DCT-scaled decode equal a full decode, bit depth and channels are
 * kept, resume after an interruption, bad frames, the stdin stream, the
 * COLMAP rotations and the nadir masks. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io/codec.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;
static int g_backends; /* 2 when an OpenCL device is present */

static tsr_image *pano(int w, int h, int ch, int depth, unsigned seed) {
  tsr_image *im;
  ck_assert_int_eq(tsr_image_create(w, h, ch, depth, &im), TSR_OK);
  tt_fill_smooth(im, seed);
  return im;
}

static void save(tsr_image *im, const char *path) {
  tsr_context *ctx = tt_context("cpu");
  tsr_write_options wo = {.struct_size = sizeof(tsr_write_options), .quality = 92};
  ck_assert_msg(tsr_image_write(ctx, im, path, &wo) == TSR_OK, "%s", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
}

static tsr_status run_split(const char *device, tsr_split_options *o, const char **in, int n, tsr_split_stats *s,
                            int threads) {
  char err[1024];
  tsr_status st = tt_split(device, threads, o, in, n, s, err, sizeof err);
  if (st) printf("split[%s]: %s\n", device, err);
  return st;
}

static int count_lines(const char *path, int *torn) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int n = 0, c, last = '\n';
  while ((c = fgetc(f)) != EOF) {
    if (c == '\n') n++;
    last = c;
  }
  fclose(f);
  *torn = last != '\n';
  return n;
}

/* Every manifest line parses and (frame, view) pairs are unique. */
static int manifest_unique(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char line[2048], keys[512][160];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    cJSON *j = cJSON_Parse(line);
    ck_assert_msg(j != NULL, "manifest line does not parse: %s", line);
    const char *fr = cJSON_GetObjectItem(j, "frame")->valuestring, *vw = cJSON_GetObjectItem(j, "view")->valuestring;
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "fx"));
    char k[160];
    snprintf(k, sizeof k, "%s/%s", fr, vw);
    for (int i = 0; i < n; i++) ck_assert_msg(strcmp(keys[i], k), "duplicated manifest line for %s", k);
    ck_assert_int_lt(n, 512);
    snprintf(keys[n++], sizeof keys[0], "%s", k);
    cJSON_Delete(j);
  }
  fclose(f);
  return n;
}

/* ---- the tests ------------------------------------------------------------- */
START_TEST(backends_batches_threads_agree) {
  char *dir = tt_tempdir(), in[4][4200], out[5][4200];
  const char *inputs[4];
  for (int i = 0; i < 4; i++) {
    snprintf(in[i], sizeof in[i], "%s/f%d.png", dir, i);
    tsr_image *p = pano(720, 360, 3, 8, 11 + i);
    save(p, in[i]);
    tsr_image_free(p);
    inputs[i] = in[i];
  }
  for (int k = 0; k < 5; k++) snprintf(out[k], sizeof out[k], "%s/out%d", dir, k);
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .rig = "dome16", .width = 120, .height = 90, .interp = TSR_INTERP_BILINEAR, .format = "png"};
  tsr_split_stats s;
  o.outdir = out[0];
  ck_assert_int_eq(run_split("cpu", &o, inputs, 4, &s, 2), TSR_OK);
  ck_assert_int_eq(s.frames_done, 4);
  ck_assert_int_eq(s.views_written, 64);
  o.outdir = out[1];
  ck_assert_int_eq(run_split("cpu", &o, inputs, 4, &s, 1), TSR_OK);
  for (int i = 0; i < 4; i++) {
    char stem[8];
    snprintf(stem, sizeof stem, "f%d", i);
    ck_assert_int_eq(tt_split_diff(out[0], out[1], "dome16", stem, "png"), 0);
  }
  if (g_backends > 1) {
    /* The planned default: one frame per launch on an OpenCL CPU device
     * (it shares the host's cores), more on others. */
    o.outdir = out[4];
    ck_assert_int_eq(run_split("cl", &o, inputs, 4, &s, 2), TSR_OK);
    tsr_context *ctx = tt_context("cl");
    int cl_cpu = tsr_context_device(ctx)->type == TSR_DEVTYPE_CL_CPU;
    tsr_context_destroy(ctx);
    printf("split[cl]: planned batch %d (%s), device memory %llu bytes\n", s.batch,
           cl_cpu ? "an OpenCL CPU device" : "not a CPU device", (unsigned long long)s.device_bytes);
    if (cl_cpu) ck_assert_int_eq(s.batch, 1);
    else ck_assert_int_gt(s.batch, 1);
    /* Batches of 3 of the 4 frames: a full batch and a partial one. */
    o.outdir = out[2];
    o.batch = 3;
    ck_assert_int_eq(run_split("cl", &o, inputs, 4, &s, 2), TSR_OK);
    ck_assert_int_eq(s.batch, 3);
    o.outdir = out[3];
    o.batch = 1;
    ck_assert_int_eq(run_split("cl", &o, inputs, 4, &s, 2), TSR_OK);
    ck_assert_int_eq(s.batch, 1);
    int cpu_cl = 0;
    for (int i = 0; i < 4; i++) {
      char stem[8];
      snprintf(stem, sizeof stem, "f%d", i);
      ck_assert_int_eq(tt_split_diff(out[2], out[3], "dome16", stem, "png"), 0);
      ck_assert_int_eq(tt_split_diff(out[2], out[4], "dome16", stem, "png"), 0);
      int d = tt_split_diff(out[0], out[2], "dome16", stem, "png");
      if (d > cpu_cl) cpu_cl = d;
    }
    printf("split: CPU backend vs OpenCL max difference %d LSB\n", cpu_cl);
    ck_assert_int_eq(cpu_cl, 0);
  }
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* The band decoder returns exactly the rows of a whole decode at the same
 * scale, and the split with a band equals the split of whole frames. */
START_TEST(band_decode_is_exact) {
  char *dir = tt_tempdir(), path[4200];
  snprintf(path, sizeof path, "%s/p.jpg", dir);
  tsr_image *p = pano(1440, 720, 3, 8, 5);
  tt_fill_random(p, 9); /* noise: every DCT coefficient matters */
  save(p, path);
  tsr_image_free(p);
  tsr_context *ctx = tt_context("cpu");
  uint8_t *buf;
  size_t n;
  ck_assert_int_eq(tsr__read_file(ctx, path, &buf, &n), TSR_OK);
  tsr_image *tj;
  ck_assert_int_eq(tsr__jpeg_decode(ctx, buf, n, "p", 0, &tj), TSR_OK);
  for (int denom = 1; denom <= 8; denom *= 2) {
    int h = (720 + denom - 1) / denom;
    tsr_image *whole = NULL, *band = NULL;
    ck_assert_int_eq(tsr__jpeg_decode_band(ctx, buf, n, "p", denom, 0, h, &whole), TSR_OK);
    if (denom == 1) ck_assert_int_eq(tt_max_diff(whole, tj), 0);
    int r0 = h / 3 + 1, rows = h / 3;
    ck_assert_int_eq(tsr__jpeg_decode_band(ctx, buf, n, "p", denom, r0, rows, &band), TSR_OK);
    ck_assert_int_eq(band->width, whole->width);
    ck_assert_int_eq(memcmp(band->data, whole->data + (size_t)r0 * whole->stride, (size_t)rows * band->stride), 0);
    tsr_image_free(whole);
    tsr_image_free(band);
  }
  tsr_image_free(tj);
  free(buf);
  tsr_context_destroy(ctx);

  char a[4200], b[4200];
  snprintf(a, sizeof a, "%s/band", dir);
  snprintf(b, sizeof b, "%s/full", dir);
  const char *in[1] = {path};
  /* 320 wide at 90 deg: 1.4 source pixels per output pixel, no DCT scale. */
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .rig = "ring8", .width = 320, .height = 180, .interp = TSR_INTERP_BICUBIC, .format = "png"};
  tsr_split_stats s;
  o.outdir = a;
  ck_assert_int_eq(run_split("cpu", &o, in, 1, &s, 2), TSR_OK);
  ck_assert_int_eq(s.dct_denom, 1);
  ck_assert_msg(s.band_rows < 720 / 2, "ring8 at 90 deg hfov needs about a third of the rows, got %d", s.band_rows);
  o.outdir = b;
  o.full_decode = 1;
  ck_assert_int_eq(run_split("cpu", &o, in, 1, &s, 2), TSR_OK);
  ck_assert_int_eq(s.band_rows, 720);
  ck_assert_int_eq(tt_split_diff(a, b, "ring8", "p", "png"), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(depth_and_channels_kept) {
  char *dir = tt_tempdir(), path[4200], out[4200 - 64];
  struct {
    int ch, depth;
    const char *ext;
  } k[] = {{3, 16, "png"}, {1, 8, "jpg"}, {4, 8, "png"}, {2, 16, "png"}};
  for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
    snprintf(path, sizeof path, "%s/in%zu.%s", dir, i, k[i].ext);
    tsr_image *p = pano(400, 200, k[i].ch, k[i].depth, 3 + (unsigned)i);
    save(p, path);
    tsr_image_free(p);
    snprintf(out, sizeof out, "%s/out%zu", dir, i);
    const char *in[1] = {path};
    tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "cube", .width = 64, .height = 64, .interp = TSR_INTERP_BILINEAR};
    ck_assert_int_eq(run_split("cpu", &o, in, 1, NULL, 2), TSR_OK);
    char view[4200];
    const char *ext = k[i].depth == 8 && k[i].ch != 2 && k[i].ch != 4 ? "jpg" : "png";
    snprintf(view, sizeof view, "%s/front/in%zu.%s", out, i, ext);
    tsr_image *v = tt_load(view);
    ck_assert_int_eq(v->channels, k[i].ch);
    ck_assert_int_eq(v->depth, k[i].depth);
    tsr_image_free(v);
  }
  /* JPEG output cannot hold 16 bits: an error, not a silent conversion. */
  snprintf(path, sizeof path, "%s/in0.png", dir);
  snprintf(out, sizeof out, "%s/bad", dir);
  const char *in[1] = {path};
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "cube", .width = 32, .height = 32, .format = "jpg"};
  ck_assert_int_eq(run_split("cpu", &o, in, 1, NULL, 2), TSR_E_UNSUPPORTED);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(resume_after_partial_run) {
  char *dir = tt_tempdir(), in[3][4200], out[4200], p[4400];
  const char *inputs[3];
  for (int i = 0; i < 3; i++) {
    snprintf(in[i], sizeof in[i], "%s/frame%d.jpg", dir, i);
    tsr_image *im = pano(512, 256, 3, 8, 20 + i);
    save(im, in[i]);
    tsr_image_free(im);
    inputs[i] = in[i];
  }
  snprintf(out, sizeof out, "%s/out", dir);
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "ring8", .width = 80, .height = 60, .interp = TSR_INTERP_BILINEAR};
  tsr_split_stats s;
  ck_assert_int_eq(run_split("cpu", &o, inputs, 3, &s, 2), TSR_OK);
  snprintf(p, sizeof p, "%s/manifest.jsonl", out);
  int torn;
  ck_assert_int_eq(count_lines(p, &torn), 24);
  /* Simulate an interruption: one view of frame1 missing, a torn line. */
  char victim[4400];
  snprintf(victim, sizeof victim, "%s/y090_p+00/frame1.jpg", out);
  ck_assert_int_eq(unlink(victim), 0);
  FILE *f = fopen(p, "ab");
  fputs("{\"frame\":\"frame2\",\"vi", f);
  fclose(f);
  ck_assert_int_eq(run_split("cpu", &o, inputs, 3, &s, 2), TSR_OK);
  ck_assert_int_eq(s.frames_skipped, 2);
  ck_assert_int_eq(s.frames_done, 1);
  ck_assert(tt_file_exists(victim));
  ck_assert_int_eq(count_lines(p, &torn), 24);
  ck_assert(!torn);
  ck_assert_int_eq(manifest_unique(p), 24);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* The CLI killed (SIGKILL) at several moments of a multi-frame run, each
 * time once outputs exist and more are due, and re-run after each kill
 * with the same arguments: the manifest's lines stay unique throughout,
 * every output left is whole (decodable), and the last run completes. */
static pid_t split_child(const char *dir, const char *out) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(TSR_CLI_PATH, "tessera", "split", dir, "-o", out, "--rig", "cube", "--size", "512x512", "-q", "--threads",
          "1", (char *)NULL);
    _exit(127);
  }
  return pid;
}

START_TEST(killed_run_resumes) {
  char *dir = tt_tempdir(), out[4200], cmd[16384];
  const int nf = 12;
  static const char *const faces[] = {"front", "right", "back", "left", "up", "down"};
  for (int i = 0; i < nf; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/k%02d.jpg", dir, i);
    tsr_image *im = pano(2048, 1024, 3, 8, 40 + (unsigned)i);
    save(im, path);
    tsr_image_free(im);
  }
  snprintf(out, sizeof out, "%s/out", dir);
  /* Kills once frame 1's, then 5's, then 9's first view exists (not after a
   * fixed delay, which on a fast machine can come before anything was
   * written), each in a new run resuming the last. */
  static const int kill_at[] = {1, 5, 9};
  for (int k = 0; k < 3; k++) {
    pid_t pid = split_child(dir, out);
    char mark[4400], p[4400];
    snprintf(mark, sizeof mark, "%s/front/k%02d.jpg", out, kill_at[k]);
    double t0 = tsr__now();
    while (!tt_file_exists(mark) && tsr__now() - t0 < 60) usleep(1000);
    ck_assert(tt_file_exists(mark));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status), "run %d finished before it was killed", k); /* killed, not finished */
    snprintf(p, sizeof p, "%s/manifest.jsonl", out);
    int torn = 0, lines = count_lines(p, &torn);
    ck_assert(!torn); /* each line goes out in one write */
    ck_assert_int_eq(manifest_unique(p), lines);
    /* every view written so far is whole: the temporary name is renamed
     * only once the file is complete */
    for (int i = 0; i < nf; i++)
      for (int v = 0; v < 6; v++) {
        snprintf(p, sizeof p, "%s/%s/k%02d.jpg", out, faces[v], i);
        if (!tt_file_exists(p)) continue;
        tsr_image *im = tt_load(p);
        ck_assert_int_eq(im->width, 512);
        tsr_image_free(im);
      }
  }
  snprintf(cmd, sizeof cmd, "'%s' split '%s' -o '%s' --rig cube --size 512x512 -q", TSR_CLI_PATH, dir, out);
  ck_assert_int_eq(system(cmd), 0);
  char p[4400];
  snprintf(p, sizeof p, "%s/manifest.jsonl", out);
  ck_assert_int_eq(manifest_unique(p), nf * 6);
  for (int i = 0; i < nf; i++)
    for (int v = 0; v < 6; v++) {
      snprintf(p, sizeof p, "%s/%s/k%02d.jpg", out, faces[v], i);
      tsr_image *im = tt_load(p);
      ck_assert_int_eq(im->width, 512);
      tsr_image_free(im);
    }
  snprintf(cmd, sizeof cmd, "find '%s' -name '.*.tmp.*' | grep -q .", out);
  ck_assert_int_ne(system(cmd), 0); /* no temporary file left */
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Decoded frames are kept for reuse only as JPEG bands: on PPM (and PNG,
 * stdin, --full-decode) input none is held, so memory does not grow with
 * the frames (the list once held up to 8 full frames never reused: RSS
 * 108 -> 330 MB for 12 frames of 4096x2048). Read from --stats. */
static int bands_kept(const char *dir, const char *ext, int full_decode) {
  char in[4][4300], out[4300], stats[4400];
  const char *inputs[4];
  for (int i = 0; i < 4; i++) {
    snprintf(in[i], sizeof in[i], "%s/%s%d.%s", dir, ext, i, ext);
    tsr_image *im = pano(512, 256, 3, 8, 90 + (unsigned)i);
    save(im, in[i]);
    tsr_image_free(im);
    inputs[i] = in[i];
  }
  snprintf(out, sizeof out, "%s/out_%s%d", dir, ext, full_decode);
  snprintf(stats, sizeof stats, "%s.json", out);
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "ring8", .width = 64,
                         .height = 48, .interp = TSR_INTERP_BILINEAR, .stats_path = stats, .full_decode = full_decode};
  ck_assert_int_eq(run_split("cpu", &o, inputs, 4, NULL, 1), TSR_OK);
  FILE *f = fopen(stats, "r");
  ck_assert_ptr_nonnull(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  cJSON *j = cJSON_Parse(buf);
  ck_assert_ptr_nonnull(j);
  int kept = cJSON_GetObjectItem(j, "decode_bands_kept_max")->valueint;
  cJSON_Delete(j);
  return kept;
}

START_TEST(only_jpeg_bands_are_kept) {
  char *dir = tt_tempdir();
  int jpg = bands_kept(dir, "jpg", 0), ppm = bands_kept(dir, "ppm", 0), png = bands_kept(dir, "png", 0),
      full = bands_kept(dir, "jpg", 1);
  printf("split: decoded bands held for reuse: JPEG %d, PPM %d, PNG %d, JPEG --full-decode %d\n", jpg, ppm, png, full);
  ck_assert_int_gt(jpg, 0); /* the counter counts */
  ck_assert_int_eq(ppm, 0);
  ck_assert_int_eq(png, 0);
  ck_assert_int_eq(full, 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(bad_frames_are_skipped) {
  char *dir = tt_tempdir(), in[4][4200], out[4200];
  const char *inputs[4];
  for (int i = 0; i < 4; i++) {
    snprintf(in[i], sizeof in[i], "%s/b%d.jpg", dir, i);
    tsr_image *im = pano(i == 2 ? 400 : 512, i == 2 ? 200 : 256, 3, 8, 60 + (unsigned)i);
    save(im, in[i]);
    tsr_image_free(im);
    inputs[i] = in[i];
  }
  /* b1: cut in half. b2: empty. (A frame of another size is no longer
   * bad: it gets its own plan, see test_pipeline.) */
  uint8_t *buf;
  size_t n;
  tsr_context *ctx = tt_context("cpu");
  ck_assert_int_eq(tsr__read_file(ctx, in[1], &buf, &n), TSR_OK);
  tt_write_file(in[1], buf, n / 2);
  free(buf);
  tt_write_file(in[2], "", 0);
  tsr_context_destroy(ctx);
  snprintf(out, sizeof out, "%s/out", dir);
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "ring8", .width = 64, .height = 48, .interp = TSR_INTERP_BILINEAR};
  tsr_split_stats s;
  tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
  ck_assert_int_eq(tsr_context_create(&co, &ctx), TSR_OK);
  tsr_status st = tsr_split(ctx, &o, inputs, 4, &s);
  ck_assert_int_ne(st, TSR_OK);
  ck_assert_int_eq(s.frames_done, 2);
  ck_assert_int_eq(s.frames_failed, 2);
  /* each frame counted once: written, already complete or failed */
  ck_assert_int_eq(s.frames_done + s.frames_skipped + s.frames_failed, 4);
  ck_assert_int_eq(s.frames_total, 4);
  ck_assert_msg(strstr(tsr_context_error(ctx), "b1.jpg") != NULL, "%s", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  char p[4400];
  snprintf(p, sizeof p, "%s/y000_p+00/b3.jpg", out);
  ck_assert(tt_file_exists(p));
  snprintf(p, sizeof p, "%s/y000_p+00/b1.jpg", out);
  ck_assert(!tt_file_exists(p));
  snprintf(p, sizeof p, "%s/y000_p+00", out);
  ck_assert_int_eq(tt_dir_entries(p), 2); /* no half-written or temporary files */
  /* A run where every frame fails leaves no empty view folder and no empty
   * manifest behind. */
  char out2[4300];
  snprintf(out2, sizeof out2, "%s/out2", dir);
  o.outdir = out2;
  ck_assert_int_eq(tsr_context_create(&co, &ctx), TSR_OK);
  ck_assert_int_ne(tsr_split(ctx, &o, inputs + 1, 2, &s), TSR_OK);
  ck_assert_int_eq(s.frames_failed, 2);
  tsr_context_destroy(ctx);
  snprintf(p, sizeof p, "%s/y000_p+00", out2);
  ck_assert_msg(!tt_file_exists(p), "%s left behind", p);
  snprintf(p, sizeof p, "%s/manifest.jsonl", out2);
  ck_assert_msg(!tt_file_exists(p), "%s left behind", p);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Frames piped as concatenated PPM/PAM give the same views as the files. */
START_TEST(stdin_stream) {
  char *dir = tt_tempdir(), cmd[16384];
  for (int i = 0; i < 3; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/s%d.%s", dir, i, i == 1 ? "pam" : "ppm");
    tsr_image *im = pano(360, 180, 3, 8, 80 + (unsigned)i);
    save(im, path);
    tsr_image_free(im);
  }
  snprintf(cmd, sizeof cmd,
           "cat '%s/s0.ppm' '%s/s1.pam' '%s/s2.ppm' | '%s' split - -o '%s/pipe' --rig cube --size 48x48 --format png -q "
           "&& '%s' split '%s/s0.ppm' '%s/s1.pam' '%s/s2.ppm' -o '%s/files' --rig cube --size 48x48 --format png -q",
           dir, dir, dir, TSR_CLI_PATH, dir, TSR_CLI_PATH, dir, dir, dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  for (int i = 0; i < 3; i++) {
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/pipe/left/frame_%06d.png", dir, i + 1);
    snprintf(b, sizeof b, "%s/files/left/s%d.png", dir, i);
    tsr_image *x = tt_load(a), *y = tt_load(b);
    ck_assert_int_eq(tt_max_diff(x, y), 0);
    tsr_image_free(x);
    tsr_image_free(y);
  }
  /* Garbage on stdin: a clear error, non-zero exit. */
  snprintf(cmd, sizeof cmd, "echo hello | '%s' split - -o '%s/junk' -q 2>/dev/null", TSR_CLI_PATH, dir);
  ck_assert_int_ne(system(cmd), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* rig_config.json: each camera's rotation maps its optical axis (and its
 * down axis) to the view's direction on the sphere, computed here from yaw,
 * pitch and roll alone. */
START_TEST(colmap_rotations) {
  char *dir = tt_tempdir(), rigpath[4200], out[4200], p[4400], in[4200];
  snprintf(rigpath, sizeof rigpath, "%s/rig.json", dir);
  const char *rig = "{\"views\": [{\"name\": \"a\", \"yaw\": 20, \"pitch\": -10, \"roll\": 5, \"hfov\": 80, \"width\": 64, \"height\": 48},"
                    "{\"name\": \"b\", \"yaw\": 110, \"pitch\": 30, \"roll\": -20, \"hfov\": 90, \"width\": 64, \"height\": 64},"
                    "{\"name\": \"c\", \"yaw\": -150, \"pitch\": -60, \"roll\": 0, \"hfov\": 70, \"width\": 40, \"height\": 40},"
                    "{\"name\": \"d\", \"yaw\": 0, \"pitch\": 89, \"roll\": 90, \"hfov\": 60, \"width\": 40, \"height\": 30}]}";
  tt_write_file(rigpath, rig, strlen(rig));
  snprintf(in, sizeof in, "%s/x.png", dir);
  tsr_image *im = pano(256, 128, 3, 8, 1);
  save(im, in);
  tsr_image_free(im);
  snprintf(out, sizeof out, "%s/out", dir);
  const char *inputs[1] = {in};
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = rigpath, .interp = TSR_INTERP_BILINEAR};
  ck_assert_int_eq(run_split("cpu", &o, inputs, 1, NULL, 1), TSR_OK);
  snprintf(p, sizeof p, "%s/rig_config.json", out);
  tsr_context *ctx = tt_context("cpu");
  uint8_t *buf;
  size_t n;
  ck_assert_int_eq(tsr__read_file(ctx, p, &buf, &n), TSR_OK);
  tsr_context_destroy(ctx);
  cJSON *root = cJSON_ParseWithLength((const char *)buf, n);
  free(buf);
  ck_assert(cJSON_IsArray(root) && cJSON_GetArraySize(root) == 1);
  cJSON *cams = cJSON_GetObjectItem(cJSON_GetArrayItem(root, 0), "cameras");
  ck_assert_int_eq(cJSON_GetArraySize(cams), 4);
  const double ang[4][3] = {{20, -10, 5}, {110, 30, -20}, {-150, -60, 0}, {0, 89, 90}};
  /* Camera axes in the world (x right, y up, z forward), from the angles:
   * forward from yaw/pitch; right level before roll; a clockwise roll turns
   * the camera's up toward the world's right of the view. */
  double fw[4][3], dn[4][3], rt[4][3];
  for (int i = 0; i < 4; i++) {
    double y = ang[i][0] * PI / 180, pt = ang[i][1] * PI / 180, r = ang[i][2] * PI / 180;
    double f[3] = {sin(y) * cos(pt), sin(pt), cos(y) * cos(pt)};
    double r0[3] = {cos(y), 0, -sin(y)};
    double u0[3] = {f[1] * r0[2] - f[2] * r0[1], f[2] * r0[0] - f[0] * r0[2], f[0] * r0[1] - f[1] * r0[0]};
    for (int k = 0; k < 3; k++) {
      fw[i][k] = f[k];
      double up = u0[k] * cos(r) + r0[k] * sin(r), right = r0[k] * cos(r) - u0[k] * sin(r);
      dn[i][k] = -up;
      rt[i][k] = right;
    }
  }
  for (int i = 0; i < 4; i++) {
    cJSON *c = cJSON_GetArrayItem(cams, i);
    char prefix[8];
    snprintf(prefix, sizeof prefix, "%c/", 'a' + i);
    ck_assert_str_eq(cJSON_GetObjectItem(c, "image_prefix")->valuestring, prefix);
    ck_assert_str_eq(cJSON_GetObjectItem(c, "camera_model_name")->valuestring, "PINHOLE");
    double q[4] = {1, 0, 0, 0};
    if (i == 0) {
      ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(c, "ref_sensor")));
    } else {
      cJSON *jq = cJSON_GetObjectItem(c, "cam_from_rig_rotation");
      for (int k = 0; k < 4; k++) q[k] = cJSON_GetArrayItem(jq, k)->valuedouble;
    }
    double w = q[0], x = q[1], y = q[2], z = q[3];
    double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                   2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                   2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)};
    /* Camera i's axis k in rig coordinates is row k of cam_from_rig; the
     * rig frame is camera a's COLMAP frame: x = right, y = down, z = forward. */
    for (int axis = 0; axis < 3; axis++) {
      double world[3];
      for (int k = 0; k < 3; k++)
        world[k] = R[axis * 3 + 0] * rt[0][k] + R[axis * 3 + 1] * dn[0][k] + R[axis * 3 + 2] * fw[0][k];
      const double *want = axis == 0 ? rt[i] : axis == 1 ? dn[i] : fw[i];
      for (int k = 0; k < 3; k++)
        ck_assert_msg(fabs(world[k] - want[k]) < 1e-9, "camera %d axis %d component %d: %f vs %f", i, axis, k,
                      world[k], want[k]);
    }
    /* PINHOLE fx fy cx cy from hfov and size. */
    cJSON *kp = cJSON_GetObjectItem(c, "camera_params");
    const int wdt[4] = {64, 64, 40, 40}, hfov[4] = {80, 90, 70, 60};
    double fx = wdt[i] / 2.0 / tan(hfov[i] * PI / 360);
    ck_assert(fabs(cJSON_GetArrayItem(kp, 0)->valuedouble - fx) < 1e-9);
    ck_assert(fabs(cJSON_GetArrayItem(kp, 2)->valuedouble - wdt[i] / 2.0) < 1e-12);
  }
  cJSON_Delete(root);
  snprintf(p, sizeof p, "%s/cameras.txt", out);
  ck_assert(tt_file_exists(p));
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(nadir_masks) {
  char *dir = tt_tempdir(), in[4200], out[4200], p[4400];
  snprintf(in, sizeof in, "%s/m.jpg", dir);
  tsr_image *im = pano(512, 256, 3, 8, 2);
  save(im, in);
  tsr_image_free(im);
  snprintf(out, sizeof out, "%s/out", dir);
  const char *inputs[1] = {in};
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "colmap12", .width = 96, .height = 54, .mask_nadir = 30,
                         .interp = TSR_INTERP_BILINEAR};
  ck_assert_int_eq(run_split("cpu", &o, inputs, 1, NULL, 1), TSR_OK);
  tsr_context *ctx = tt_context("cpu");
  tsr_rig *rig;
  ck_assert_int_eq(tsr_rig_get(ctx, "colmap12", &rig), TSR_OK);
  for (int v = 0; v < rig->nviews; v++) {
    const tsr_rig_view *rv = &rig->views[v];
    snprintf(p, sizeof p, "%s/masks/%s/m.png", out, rv->name);
    tsr_image *m = tt_load(p);
    ck_assert_int_eq(m->channels, 1);
    ck_assert_int_eq(m->width, 96);
    /* Bottom centre looks pitch - vfov/2 down; vfov/2 = atan(27/48). */
    double bottom = rv->pitch - atan(27.0 / 48.0) * 180 / PI, top = rv->pitch + atan(27.0 / 48.0) * 180 / PI;
    int b = m->data[53 * m->stride + 48], t = m->data[48];
    ck_assert_int_eq(b, bottom < -60 + 0.5 ? 0 : 255);
    ck_assert_int_eq(t, top < -60 ? 0 : 255);
    tsr_image_free(m);
  }
  tsr_rig_free(rig);
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Split, then merge back: the covered area comes back at >= 35 dB PSNR;
 * directions no view sees are transparent. On a real equirectangular
 * image (tests/data/earth_2048x1024.jpg). */
static double merge_roundtrip(const char *rig, int vw, int vh, double hfov, int *uncovered) {
  char *dir = tt_tempdir(), out[4200];
  snprintf(out, sizeof out, "%s/out", dir);
  const char *in[1] = {TSR_TEST_DATA "/earth_2048x1024.jpg"};
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = rig, .width = vw, .height = vh, .interp = TSR_INTERP_BICUBIC,
                         .format = "png", .hfov = hfov};
  ck_assert_int_eq(run_split("cpu", &o, in, 1, NULL, 2), TSR_OK);
  tsr_context *ctx = tt_context("cpu");
  /* The geometry (including --size and --hfov) comes from the manifest. */
  tsr_image *pano, *orig = tt_load(in[0]);
  char frame[256];
  ck_assert_int_eq(tsr_merge_split(ctx, out, NULL, 2048, 1024, &pano, frame, sizeof frame), TSR_OK);
  ck_assert_str_eq(frame, "earth_2048x1024");
  ck_assert_int_eq(pano->channels, 4);
  double se = 0;
  long n = 0;
  *uncovered = 0;
  for (int y = 0; y < 1024; y++)
    for (int x = 0; x < 2048; x++) {
      const uint8_t *a = pano->data + (size_t)y * pano->stride + (size_t)x * 4;
      const uint8_t *b = orig->data + (size_t)y * orig->stride + (size_t)x * 3;
      if (!a[3]) {
        (*uncovered)++;
        continue;
      }
      for (int c = 0; c < 3; c++) se += (double)(a[c] - b[c]) * (a[c] - b[c]);
      n += 3;
    }
  double psnr = 10 * log10(255.0 * 255.0 / (se / (double)n));
  printf("merge: %s %dx%d round trip: %.1f dB over the covered area, %d of %d pixels uncovered\n", rig, vw, vh, psnr,
         *uncovered, 2048 * 1024);
  tsr_image_free(pano);
  tsr_image_free(orig);
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
  return psnr;
}

/* RGBA through split and merge (ring12 with feathered overlaps): a
 * transparent red hemisphere beside an opaque blue one gives no red in
 * any panorama pixel that shows; with straight alpha the views' and the
 * merge's blends carried the red into the edge. */
START_TEST(merge_alpha_does_not_bleed) {
  char *dir = tt_tempdir(), out[4200], in0[4200];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(in0, sizeof in0, "%s/halves.png", dir);
  tsr_image *im;
  ck_assert_int_eq(tsr_image_create(512, 256, 4, 8, &im), TSR_OK);
  for (int y = 0; y < 256; y++)
    for (int x = 0; x < 512; x++) {
      uint8_t *p = im->data + (size_t)y * im->stride + (size_t)x * 4;
      int left = x < 253;
      p[0] = left ? 255 : 0, p[1] = 0, p[2] = left ? 0 : 255, p[3] = left ? 0 : 255;
    }
  save(im, in0);
  tsr_image_free(im);
  const char *in[1] = {in0};
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "ring12", .width = 96,
                         .height = 72, .interp = TSR_INTERP_BILINEAR};
  ck_assert_int_eq(run_split("cpu", &o, in, 1, NULL, 2), TSR_OK);
  tsr_context *ctx = tt_context("cpu");
  tsr_image *pano;
  char frame[256];
  ck_assert_int_eq(tsr_merge_split(ctx, out, NULL, 512, 256, &pano, frame, sizeof frame), TSR_OK);
  int edge = 0;
  for (int y = 0; y < 256; y++)
    for (int x = 0; x < 512; x++) {
      const uint8_t *a = pano->data + (size_t)y * pano->stride + (size_t)x * 4;
      ck_assert_msg(a[0] == 0 || a[3] == 0, "red %d at %d,%d (alpha %d)", a[0], x, y, a[3]);
      edge += a[3] > 0 && a[3] < 255;
    }
  ck_assert_int_gt(edge, 0); /* the edge was resampled, not missed */
  tsr_image_free(pano);
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* The merge's blend on every backend: OpenCL within 1 LSB of the CPU. */
START_TEST(merge_backends_agree) {
  char *dir = tt_tempdir(), out[4200];
  snprintf(out, sizeof out, "%s/out", dir);
  const char *in[1] = {TSR_TEST_DATA "/earth_2048x1024.jpg"};
  tsr_split_options o = {.struct_size = sizeof(tsr_split_options), .outdir = out, .rig = "dome16", .width = 320, .height = 240, .interp = TSR_INTERP_BILINEAR,
                         .format = "png"};
  ck_assert_int_eq(run_split("cpu", &o, in, 1, NULL, 2), TSR_OK);
  tsr_image *pano[2] = {NULL, NULL}, *views[16];
  tsr_rig *r = NULL;
  for (int b = 0; b < g_backends; b++) {
    tsr_context *ctx = tt_context(tt_backend(b));
    if (!r) {
      ck_assert_int_eq(tsr_rig_get(ctx, "dome16", &r), TSR_OK);
      for (int i = 0; i < r->nviews; i++) {
        char p[4400];
        r->views[i].width = 320;
        r->views[i].height = 240;
        snprintf(p, sizeof p, "%s/%s/earth_2048x1024.png", out, r->views[i].name);
        views[i] = tt_load(p);
      }
    }
    ck_assert_int_eq(tsr_merge(ctx, r, (const tsr_image *const *)views, 1024, 512, &pano[b]), TSR_OK);
    ck_assert_int_eq(ctx->device_failures, 0);
    printf("merge[%s]: %dx%d panorama from %d views\n", tsr_context_device(ctx)->name, 1024, 512, r->nviews);
    tsr_context_destroy(ctx);
  }
  if (g_backends > 1) {
    int d = tt_max_diff(pano[0], pano[1]);
    printf("merge: CPU vs OpenCL max difference %d LSB\n", d);
    ck_assert_int_le(d, 1);
  }
  for (int i = 0; i < r->nviews; i++) tsr_image_free(views[i]);
  tsr_image_free(pano[0]);
  tsr_image_free(pano[1]);
  tsr_rig_free(r);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(split_merge_round_trip) {
  int uncovered;
  ck_assert_double_ge(merge_roundtrip("cube", 800, 800, 95, &uncovered), 35.0);
  ck_assert_int_eq(uncovered, 0);
  ck_assert_double_ge(merge_roundtrip("ring8", 960, 540, 0, &uncovered), 35.0);
  ck_assert_int_gt(uncovered, 2048 * 1024 / 4); /* ring8 at 90 deg leaves the poles uncovered */
}
END_TEST

/* The coverage drawing outlines cube's front face where it lies: the
 * equator at longitudes -45 and +45 deg; elsewhere it is the dimmed
 * panorama. */
START_TEST(rig_coverage_outlines) {
  tsr_context *ctx = tt_context("cpu");
  tsr_rig *r;
  ck_assert_int_eq(tsr_rig_get(ctx, "cube", &r), TSR_OK);
  tsr_image *pano, *cov;
  ck_assert_int_eq(tsr_image_create(1600, 800, 3, 8, &pano), TSR_OK);
  memset(pano->data, 200, pano->stride * 800);
  ck_assert_int_eq(tsr_rig_coverage(ctx, r, pano, &cov), TSR_OK);
  const uint8_t dim = 150;
  for (int k = -1; k <= 1; k += 2) {
    int x = 800 + k * 200, y = 400, hit = 0;
    for (int dx = -2; dx <= 2; dx++) {
      const uint8_t *p = cov->data + (size_t)y * cov->stride + (size_t)(x + dx) * 3;
      hit |= p[0] != dim || p[1] != dim || p[2] != dim;
    }
    ck_assert_msg(hit, "no outline at longitude %d", k * 45);
  }
  const uint8_t *q = cov->data + (size_t)400 * cov->stride + (size_t)700 * 3; /* inside the face */
  ck_assert(q[0] == dim && q[1] == dim && q[2] == dim);
  tsr_image_free(pano);
  tsr_image_free(cov);
  tsr_rig_free(r);
  tsr_context_destroy(ctx);
}
END_TEST

int main(void) {
  tt_backend_count("split", &g_backends);
  Suite *s = suite_create("split");
  TCase *tc = tcase_create("split");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, backends_batches_threads_agree);
  tcase_add_test(tc, band_decode_is_exact);
  tcase_add_test(tc, depth_and_channels_kept);
  tcase_add_test(tc, resume_after_partial_run);
  tcase_add_test(tc, killed_run_resumes);
  tcase_add_test(tc, only_jpeg_bands_are_kept);
  tcase_add_test(tc, bad_frames_are_skipped);
  tcase_add_test(tc, stdin_stream);
  tcase_add_test(tc, colmap_rotations);
  tcase_add_test(tc, nadir_masks);
  tcase_add_test(tc, split_merge_round_trip);
  tcase_add_test(tc, merge_backends_agree);
  tcase_add_test(tc, merge_alpha_does_not_bleed);
  tcase_add_test(tc, rig_coverage_outlines);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
