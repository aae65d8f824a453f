#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int tt_opencl_present(char *name, size_t len) {
  int fd[2];
  if (pipe(fd)) return 0;
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    const tsr_device_info *devs;
    int n;
    tsr_devices(&devs, &n, NULL);
    for (int i = 0; i < n; i++)
      if (devs[i].backend == TSR_BACKEND_OPENCL && devs[i].usable) {
        char buf[512];
        int k = snprintf(buf, sizeof buf, "%s (%s on %s)", devs[i].id, devs[i].name, devs[i].platform);
        if (write(fd[1], buf, (size_t)k) != k) _exit(2);
        _exit(0);
      }
    _exit(1);
  }
  close(fd[1]);
  ssize_t k = read(fd[0], name, len - 1);
  name[k > 0 ? k : 0] = 0;
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int g_missing_required;

int tt_backend_count(const char *suite, int *count) {
  char name[512];
  int cl = tt_opencl_present(name, sizeof name);
  const char *req = getenv("TSR_TEST_REQUIRE_OPENCL");
  printf("%s: backend cpu (OpenMP)\n", suite);
  if (cl) printf("%s: backend cl: %s\n", suite, name);
  else printf("%s: no OpenCL device: OpenCL cases not run\n", suite);
  fflush(stdout);
  *count = cl ? 2 : 1;
  if (!cl && req && !strcmp(req, "1")) {
    fprintf(stderr, "%s: TSR_TEST_REQUIRE_OPENCL=1 but no OpenCL device was found\n", suite);
    g_missing_required = 1;
    return 0;
  }
  return 1;
}

const char *tt_backend(int i) { return i == 0 ? "cpu" : "cl"; }

tsr_context *tt_context(const char *device) {
  tsr_context_options o = {.struct_size = sizeof(tsr_context_options), .device = device, .quiet = 1};
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&o, &ctx);
  ck_assert_msg(st == TSR_OK, "context on %s: %s", device, tsr_context_error(ctx));
  return ctx;
}

char *tt_tempdir(void) {
  const char *t = getenv("TMPDIR");
  char *p = malloc(4096);
  snprintf(p, 4096, "%s/tsrtest.XXXXXX", t && *t ? t : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(p));
  return p;
}

int tt_cli(const char *args, char *err, size_t n) {
  char *dir = tt_tempdir(), path[4200];
  snprintf(path, sizeof path, "%s/err", dir);
  size_t len = strlen(args) + strlen(path) + strlen(TSR_CLI_PATH) + 32;
  char *cmd = malloc(len);
  snprintf(cmd, len, "'%s' %s 2>'%s' >/dev/null", TSR_CLI_PATH, args, path);
  int st = system(cmd);
  free(cmd);
  FILE *f = fopen(path, "r");
  size_t got = f ? fread(err, 1, n - 1, f) : 0;
  err[got] = 0;
  if (f) fclose(f);
  tt_rmtree(dir);
  free(dir);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void tt_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[4096];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (!lstat(p, &sb) && S_ISDIR(sb.st_mode)) tt_rmtree(p);
    else unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

void tt_write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

int tt_file_exists(const char *path) { return access(path, F_OK) == 0; }

int tt_dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static unsigned lcg(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

void tt_fill_random(tsr_image *img, unsigned seed) {
  size_t n = img->stride * (size_t)img->height;
  if (img->depth == 8)
    for (size_t i = 0; i < n; i++) img->data[i] = (uint8_t)lcg(&seed);
  else
    for (size_t i = 0; i < n / 2; i++) ((uint16_t *)img->data)[i] = (uint16_t)lcg(&seed);
}

void tt_fill_smooth(tsr_image *img, unsigned seed) {
  double ph = (seed % 97) * 0.1, maxv = img->depth == 16 ? 65535.0 : 255.0;
  for (int y = 0; y < img->height; y++)
    for (int x = 0; x < img->width; x++)
      for (int c = 0; c < img->channels; c++) {
        double v = 0.5 + 0.25 * sin(x * 0.07 + c + ph) + 0.2 * cos(y * 0.05 - c * 0.5);
        size_t i = (size_t)y * img->stride / (img->depth / 8) + (size_t)x * img->channels + (size_t)c;
        if (img->depth == 8) img->data[i] = (uint8_t)lrint(v * maxv);
        else ((uint16_t *)img->data)[i] = (uint16_t)lrint(v * maxv);
      }
}

int tt_max_diff(const tsr_image *a, const tsr_image *b) {
  ck_assert_int_eq(a->width, b->width);
  ck_assert_int_eq(a->height, b->height);
  ck_assert_int_eq(a->channels, b->channels);
  ck_assert_int_eq(a->depth, b->depth);
  size_t n = (size_t)a->width * a->height * a->channels;
  int m = 0;
  for (size_t i = 0; i < n; i++) {
    int va = a->depth == 8 ? a->data[i] : ((uint16_t *)a->data)[i];
    int vb = b->depth == 8 ? b->data[i] : ((uint16_t *)b->data)[i];
    int d = abs(va - vb);
    if (d > m) m = d;
  }
  return m;
}

double tt_psnr(const tsr_image *a, const tsr_image *b) {
  size_t n = (size_t)a->width * a->height * a->channels;
  double se = 0, maxv = a->depth == 8 ? 255.0 : 65535.0;
  for (size_t i = 0; i < n; i++) {
    double va = a->depth == 8 ? a->data[i] : ((uint16_t *)a->data)[i];
    double vb = b->depth == 8 ? b->data[i] : ((uint16_t *)b->data)[i];
    se += (va - vb) * (va - vb);
  }
  if (se == 0) return INFINITY;
  return 10 * log10(maxv * maxv / (se / (double)n));
}

int tt_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed || g_missing_required ? 1 : 0;
}

/* The reference sampler, in double precision, written apart from cl/warp.h. */
double tt_ref_fetch(const tsr_image *s, int border, long x, long y, int c) {
  if (c >= TT_PREMUL)
    return tt_ref_fetch(s, border, x, y, c - TT_PREMUL) * tt_ref_fetch(s, border, x, y, s->channels - 1);
  long w = s->width, h = s->height;
  if (border == TSR_BORDER_WRAP) {
    x = ((x % w) + w) % w;
    y = ((y % h) + h) % h;
  } else if (border == TSR_BORDER_CONSTANT) {
    if (x < 0 || y < 0 || x >= w || y >= h) return 0;
  } else if (border == TSR_BORDER_SPHERE) {
    /* Walking past a pole lands on the opposite meridian, heading back:
     * the pixel centre x + 0.5 turns to x + 0.5 + w / 2, which for an odd
     * width lies midway between two pixel centres (read linearly). */
    long yy = ((y % (2 * h)) + 2 * h) % (2 * h);
    if (yy >= h) {
      yy = 2 * h - 1 - yy;
      double xs = (double)x + (double)w / 2.0;
      long x0 = (long)floor(xs);
      double f = xs - (double)x0;
      double a = tt_ref_fetch(s, TSR_BORDER_WRAP, x0, yy, c);
      return f > 0 ? (1 - f) * a + f * tt_ref_fetch(s, TSR_BORDER_WRAP, x0 + 1, yy, c) : a;
    }
    y = yy;
    x = ((x % w) + w) % w;
  } else {
    x = x < 0 ? 0 : x >= w ? w - 1 : x;
    y = y < 0 ? 0 : y >= h ? h - 1 : y;
  }
  size_t i = (size_t)y * s->width * s->channels + (size_t)x * s->channels + (size_t)c;
  return s->depth == 8 ? s->data[i] : ((uint16_t *)s->data)[i];
}

double tt_ref_bilinear(const tsr_image *s, int border, double u, double v, int c) {
  double fx = u - 0.5, fy = v - 0.5, x0 = floor(fx), y0 = floor(fy), ax = fx - x0, ay = fy - y0;
  long X = (long)x0, Y = (long)y0;
  return (1 - ay) * ((1 - ax) * tt_ref_fetch(s, border, X, Y, c) + ax * tt_ref_fetch(s, border, X + 1, Y, c)) +
         ay * ((1 - ax) * tt_ref_fetch(s, border, X, Y + 1, c) + ax * tt_ref_fetch(s, border, X + 1, Y + 1, c));
}


/* Independent double-precision versions of the separable kernels: Keys'
 * cubic (a = -0.5) over 4 taps and Lanczos-3 over 6, weights normalised. */
static double ref_kernel(int interp, double d) {
  d = fabs(d);
  if (interp == 2) {
    const double a = -0.5;
    if (d <= 1) return (a + 2) * d * d * d - (a + 3) * d * d + 1;
    if (d < 2) return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a;
    return 0;
  }
  if (d == 0) return 1;
  if (d >= 3) return 0;
  const double pi = 3.14159265358979323846;
  return sin(pi * d) / (pi * d) * sin(pi * d / 3) / (pi * d / 3);
}

double tt_ref_interp(const tsr_image *s, int interp, int border, double u, double v, int c) {
  if (interp == 0) return tt_ref_fetch(s, border, (long)floor(u), (long)floor(v), c);
  if (interp == 1) return tt_ref_bilinear(s, border, u, v, c);
  int taps = interp == 2 ? 4 : 6;
  double fx = u - 0.5, fy = v - 0.5, x0 = floor(fx), y0 = floor(fy);
  double wx[6], wy[6], sx = 0, sy = 0;
  long X = (long)x0 - (taps / 2 - 1), Y = (long)y0 - (taps / 2 - 1);
  for (int k = 0; k < taps; k++) {
    wx[k] = ref_kernel(interp, fx - (double)(X + k));
    wy[k] = ref_kernel(interp, fy - (double)(Y + k));
    sx += wx[k];
    sy += wy[k];
  }
  double sum = 0;
  for (int j = 0; j < taps; j++)
    for (int i = 0; i < taps; i++) sum += wx[i] / sx * wy[j] / sy * tt_ref_fetch(s, border, X + i, Y + j, c);
  return sum;
}

double tt_ref_interp_alpha(const tsr_image *s, int interp, int border, double u, double v, int c) {
  int alpha = s->channels == 2 || s->channels == 4;
  if (!alpha || interp == 0 || c == s->channels - 1) return tt_ref_interp(s, interp, border, u, v, c);
  double n = tt_ref_interp(s, interp, border, u, v, c + TT_PREMUL);
  double d = tt_ref_interp(s, interp, border, u, v, s->channels - 1);
  return n > 0 && d > 0 ? n / d : 0;
}

tsr_image *tt_load(const char *path) {
  tsr_context *ctx = tt_context("cpu");
  tsr_image *im = NULL;
  ck_assert_msg(tsr_image_read(ctx, path, 0, &im) == TSR_OK, "%s", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return im;
}

tsr_context *tt_context_budget(const char *device, uint64_t budget) {
  tsr_context_options o = TSR_CONTEXT_OPTIONS_INIT;
  o.device = device;
  o.mem_budget = budget;
  o.quiet = 1;
  tsr_context *ctx = NULL;
  ck_assert_msg(tsr_context_create(&o, &ctx) == TSR_OK, "context on %s: %s", device, tsr_context_error(ctx));
  return ctx;
}

int tt_split_diff(const char *a, const char *b, const char *rig, const char *stem, const char *ext) {
  tsr_context *ctx = tt_context("cpu");
  tsr_rig *r;
  ck_assert_int_eq(tsr_rig_get(ctx, rig, &r), TSR_OK);
  int worst = 0;
  for (int v = 0; v < r->nviews; v++) {
    char pa[4400], pb[4400];
    snprintf(pa, sizeof pa, "%s/%s/%s.%s", a, r->views[v].name, stem, ext);
    snprintf(pb, sizeof pb, "%s/%s/%s.%s", b, r->views[v].name, stem, ext);
    tsr_image *x = tt_load(pa), *y = tt_load(pb);
    int d = tt_max_diff(x, y);
    if (d > worst) worst = d;
    tsr_image_free(x);
    tsr_image_free(y);
  }
  tsr_rig_free(r);
  tsr_context_destroy(ctx);
  return worst;
}

tsr_status tt_split(const char *device, int threads, const tsr_split_options *o, const char **in, int n,
                    tsr_split_stats *s, char *err, size_t errlen) {
  tsr_context_options co = TSR_CONTEXT_OPTIONS_INIT;
  co.device = device;
  co.quiet = 1;
  co.threads = threads;
  tsr_context *ctx;
  ck_assert_int_eq(tsr_context_create(&co, &ctx), TSR_OK);
  tsr_status st = tsr_split(ctx, o, in, n, s);
  if (err) snprintf(err, errlen, "%s", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return st;
}
