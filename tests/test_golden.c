/* The split's outputs are byte-identical to those of the split before the
 * engine moved onto the shared pipeline (commit afe9f09), recorded anew
 * when issue 10 made every backend sample through the same fixed-point
 * data (the same table for the CPU backend and OpenCL): the same inputs
 * and options give files with the same xxh64 hashes as recorded in
 * tests/data/split_golden.txt. Inputs are the committed Earth map and
 * synthetic panoramas made here (integer patterns, same bytes everywhere).
 *
 * TSR_GOLDEN_RECORD=FILE writes the table instead of checking it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "testutil.h"

typedef struct {
  const char *name, *input, *rig, *format;
  int w, h, interp, no_aa, quality;
  double mask;
  int cl; /* also run on the OpenCL device */
} golden_case;

static const golden_case g_cases[] = {
    {"earth_ring8_aa", "earth", "ring8", NULL, 320, 180, TSR_INTERP_BILINEAR, 0, 0, 0, 1},
    {"earth_cube_nearest", "earth", "cube", "png", 256, 256, TSR_INTERP_NEAREST, 1, 0, 0, 1},
    {"earth_ring12_masks", "earth", "ring12", NULL, 640, 360, TSR_INTERP_BILINEAR, 0, 90, 30, 0},
    {"earth_dome16_lanczos", "earth", "dome16", "png", 200, 150, TSR_INTERP_LANCZOS3, 0, 0, 0, 0},
    {"rgb16_cube_bicubic", "rgb16", "cube", NULL, 96, 96, TSR_INTERP_BICUBIC, 0, 0, 0, 0},
    {"gray_ring8", "gray", "ring8", NULL, 128, 72, TSR_INTERP_BILINEAR, 0, 0, 0, 0},
    {"rgba_cube", "rgba", "cube", NULL, 64, 64, TSR_INTERP_BILINEAR, 1, 0, 0, 0},
};

/* Integer-only pattern: the same bytes on every machine. */
static void make_input(const char *kind, const char *path) {
  int ch = !strcmp(kind, "gray") ? 1 : !strcmp(kind, "rgba") ? 4 : 3;
  int depth = !strcmp(kind, "rgb16") ? 16 : 8;
  tsr_image *im;
  ck_assert_int_eq(tsr_image_create(512, 256, ch, depth, &im), TSR_OK);
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < ch; c++) {
        unsigned v = (unsigned)(x * (3 + c) + y * (5 + 2 * c) + ((x / 16 + y / 16) & 1) * 97 + (x * y) % 53);
        if (c == 3) v = (unsigned)(128 + ((x / 32 + y / 32) % 2) * 127 - (x % 7));
        if (depth == 16) ((uint16_t *)(im->data + (size_t)y * im->stride))[x * ch + c] = (uint16_t)(v * 97u);
        else im->data[(size_t)y * im->stride + (size_t)(x * ch + c)] = (uint8_t)v;
      }
  tsr_context *ctx = tt_context("cpu");
  ck_assert_int_eq(tsr_image_write(ctx, im, path, NULL), TSR_OK);
  tsr_context_destroy(ctx);
  tsr_image_free(im);
}

static uint64_t hash_file(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s missing", path);
  XXH64_state_t *s = XXH64_createState();
  XXH64_reset(s, 0);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) XXH64_update(s, buf, n);
  fclose(f);
  uint64_t h = XXH64_digest(s);
  XXH64_freeState(s);
  return h;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The manifest's lines sorted (threads append in any order), hashed. */
static uint64_t hash_manifest(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char *lines[4096], buf[4096];
  int n = 0;
  while (n < 4096 && fgets(buf, sizeof buf, f)) lines[n++] = strdup(buf);
  fclose(f);
  qsort(lines, (size_t)n, sizeof *lines, cmp_str);
  XXH64_state_t *s = XXH64_createState();
  XXH64_reset(s, 0);
  for (int i = 0; i < n; i++) {
    XXH64_update(s, lines[i], strlen(lines[i]));
    free(lines[i]);
  }
  uint64_t h = XXH64_digest(s);
  XXH64_freeState(s);
  return h;
}

/* Every output file below dir (relative names, sorted), hashed. */
static int list_outputs(const char *root, const char *rel, char **out, int n) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char r[4096], p[8192];
    snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
    snprintf(p, sizeof p, "%s/%s", root, r);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    if (S_ISDIR(sb.st_mode)) n = list_outputs(root, r, out, n);
    else if (n < 4096) out[n++] = strdup(r);
  }
  closedir(d);
  return n;
}

/* Lines "case device relpath hash" for one run. */
static void run_case(const golden_case *gc, const char *device, const char *dir, FILE *table) {
  char in[4200], out[4200];
  if (!strcmp(gc->input, "earth")) snprintf(in, sizeof in, "%s/earth_2048x1024.jpg", TSR_TEST_DATA);
  else {
    snprintf(in, sizeof in, "%s/%s.png", dir, gc->input);
    make_input(gc->input, in);
  }
  snprintf(out, sizeof out, "%s/%s_%s", dir, gc->name, device);
  tsr_split_options o = TSR_SPLIT_OPTIONS_INIT;
  o.outdir = out;
  o.rig = gc->rig;
  o.width = gc->w;
  o.height = gc->h;
  o.interp = (tsr_interp)gc->interp;
  o.no_antialias = gc->no_aa;
  o.format = gc->format;
  o.quality = gc->quality;
  o.mask_nadir = gc->mask;
  tsr_context *ctx = tt_context(device);
  const char *inputs[1] = {in};
  tsr_split_stats s;
  tsr_status st = tsr_split(ctx, &o, inputs, 1, &s);
  ck_assert_msg(st == TSR_OK, "%s on %s: %s", gc->name, device, tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  char *files[4096];
  int n = list_outputs(out, "", files, 0);
  qsort(files, (size_t)n, sizeof *files, cmp_str);
  for (int i = 0; i < n; i++) {
    char p[8400];
    snprintf(p, sizeof p, "%s/%s", out, files[i]);
    /* Files that record the run itself, not the outputs, are not compared. */
    if (!strcmp(files[i], "run.json") || !strncmp(files[i], "stats", 5)) {
      free(files[i]);
      continue;
    }
    uint64_t h = !strcmp(files[i], "manifest.jsonl") ? hash_manifest(p) : hash_file(p);
    fprintf(table, "%s %s %s %016llx\n", gc->name, !strcmp(device, "cpu") ? "cpu" : "cl", files[i],
            (unsigned long long)h);
    free(files[i]);
  }
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  b[got] = 0;
  fclose(f);
  return b;
}

static int g_backends;

START_TEST(split_outputs_unchanged) {
  const golden_case *gc = &g_cases[_i / 2];
  int on_cl = _i % 2;
  if (on_cl && (!gc->cl || g_backends < 2)) return;
  char *dir = tt_tempdir();
  const char *record = getenv("TSR_GOLDEN_RECORD");
  char mine[4400];
  snprintf(mine, sizeof mine, "%s/table.txt", dir);
  FILE *t = fopen(mine, "w");
  run_case(gc, on_cl ? "cl" : "cpu", dir, t);
  fclose(t);
  char *got = read_all(mine);
  if (record && *record) {
    FILE *r = fopen(record, "a");
    fputs(got, r);
    fclose(r);
  } else {
    char *want = read_all(TSR_TEST_DATA "/split_golden.txt");
    ck_assert_ptr_nonnull(want);
    /* Every line of this case must be in the table, and as many of them. */
    int lines = 0, expected = 0;
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s %s ", gc->name, on_cl ? "cl" : "cpu");
    for (char *p = want; (p = strstr(p, prefix)); p++) expected++;
    for (char *line = strtok(got, "\n"); line; line = strtok(NULL, "\n")) {
      lines++;
      char needle[600];
      snprintf(needle, sizeof needle, "%s\n", line);
      ck_assert_msg(strstr(want, needle) != NULL, "output differs from the recorded split: %s", line);
    }
    ck_assert_int_eq(lines, expected);
    printf("golden %s on %s: %d files identical\n", gc->name, on_cl ? "cl" : "cpu", lines);
    free(want);
  }
  free(got);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("golden");
  TCase *tc = tcase_create("split");
  tcase_set_timeout(tc, 300);
  if (!tt_backend_count("golden", &g_backends)) return 1;
  tcase_add_loop_test(tc, split_outputs_unchanged, 0, (int)(2 * sizeof g_cases / sizeof *g_cases));
  suite_add_tcase(s, tc);
  return tt_run(s);
}
