/* tessera bench: the JSON schema (written, read back, refused when wrong),
 * the comparison logic, parity flagging, a real run on the CPU backend,
 * the committed results, and an OpenCL device made to return wrong
 * results, which the table, the JSON and the exit status must call
 * FAILED. */
#include <cjson/cJSON.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "jobs/bench/bench.h"
#include "testutil.h"

static int g_backends;
#define FRAME TSR_TEST_DATA "/earth_2048x1024.jpg"

static tsr__bench_figure fig(const char *name, int higher, double med, double lo, double hi) {
  tsr__bench_figure f;
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "%s", name);
  snprintf(f.label, sizeof f.label, "label of %s", name);
  snprintf(f.unit, sizeof f.unit, "GB/s");
  f.higher_is_better = higher;
  f.median = med;
  f.min = lo;
  f.max = hi;
  f.n = 5;
  return f;
}

/* A report with two devices and a few figures, as a run would fill it. */
static void sample_report(tsr__bench_report *rep, double scale) {
  memset(rep, 0, sizeof *rep);
  rep->schema_version = TSR_BENCH_SCHEMA_VERSION;
  snprintf(rep->tessera_version, sizeof rep->tessera_version, "0.1.0");
  snprintf(rep->git, sizeof rep->git, "abcdef123456");
  snprintf(rep->created, sizeof rep->created, "2026-11-23T12:00:00Z");
  tsr__bench_host_probe(&rep->host);
  snprintf(rep->suite, sizeof rep->suite, "quick");
  rep->repeat = 5;
  rep->threads = 2;
  rep->target_s = 0.05;
  rep->ndev = 2;
  rep->dev = calloc(2, sizeof *rep->dev);
  for (int i = 0; i < 2; i++) {
    tsr__bench_device *d = &rep->dev[i];
    d->dev.backend = i ? TSR_BACKEND_CPU : TSR_BACKEND_OPENCL;
    d->dev.type = i ? TSR_DEVTYPE_CPU_BACKEND : TSR_DEVTYPE_GPU_DISCRETE;
    snprintf(d->dev.id, sizeof d->dev.id, i ? "cpu" : "cl:0.0");
    snprintf(d->dev.vendor, sizeof d->dev.vendor, i ? "AuthenticAMD" : "NVIDIA Corporation");
    snprintf(d->dev.name, sizeof d->dev.name, i ? "AMD EPYC" : "NVIDIA H100 <PCIe> & co");
    snprintf(d->dev.platform, sizeof d->dev.platform, i ? "tessera OpenMP" : "NVIDIA CUDA");
    snprintf(d->dev.driver_version, sizeof d->dev.driver_version, "550.1");
    snprintf(d->dev.opencl_c_version, sizeof d->dev.opencl_c_version, i ? "" : "OpenCL C 1.2");
    d->dev.compute_units = 132;
    d->dev.global_mem = (uint64_t)80 << 30;
    d->dev.max_alloc = (uint64_t)20 << 30;
    d->nwl = 2;
    tsr__bench_workload *w = &d->wl[0];
    snprintf(w->name, sizeof w->name, "copy");
    snprintf(w->timing, sizeof w->timing, "events");
    snprintf(w->size, sizeof w->size, "512 MiB");
    w->batch = 1;
    w->iterations = 40;
    w->device_bytes = (uint64_t)1 << 30;
    w->build_s = 0.25;
    w->build_cached = 1;
    w->first_launch_s = 0.01;
    w->parity_diff = i ? -1 : 0;
    w->tolerance = i ? -1 : 0;
    w->fig[w->nfig++] = fig("bandwidth", 1, 1000 * scale / (i + 1), 990 * scale / (i + 1), 1010 * scale / (i + 1));
    w = &d->wl[1];
    snprintf(w->name, sizeof w->name, "split-8k");
    snprintf(w->timing, sizeof w->timing, "wall");
    w->build_s = w->first_launch_s = -1;
    w->parity_diff = i ? -1 : 3;
    w->tolerance = i ? -1 : 2;
    w->state = i ? TSR_BENCH_OK : TSR_BENCH_FAILED;
    snprintf(w->message, sizeof w->message, "%s", i ? "" : "differs");
    w->fig[w->nfig++] = fig("ms_per_view", 0, 10, 9.5, 10.5);
  }
}

START_TEST(json_schema_round_trip) {
  tsr__bench_report rep, back;
  sample_report(&rep, 1);
  cJSON *j = tsr__bench_to_json(&rep);
  /* The documented keys and types (bench/README.md). */
  ck_assert_str_eq(cJSON_GetObjectItem(j, "schema")->valuestring, "tessera-bench");
  ck_assert_int_eq(cJSON_GetObjectItem(j, "schema_version")->valueint, TSR_BENCH_SCHEMA_VERSION);
  cJSON *t = cJSON_GetObjectItem(j, "tessera");
  ck_assert(cJSON_IsString(cJSON_GetObjectItem(t, "version")) && cJSON_IsString(cJSON_GetObjectItem(t, "git")));
  cJSON *h = cJSON_GetObjectItem(j, "host");
  ck_assert(cJSON_IsString(cJSON_GetObjectItem(h, "cpu")) && cJSON_IsString(cJSON_GetObjectItem(h, "os")));
  ck_assert_int_gt(cJSON_GetObjectItem(h, "cores")->valueint, 0);
  ck_assert(cJSON_GetObjectItem(h, "ram_bytes")->valuedouble > 0);
  cJSON *s = cJSON_GetObjectItem(j, "settings");
  ck_assert_str_eq(cJSON_GetObjectItem(s, "suite")->valuestring, "quick");
  ck_assert_int_eq(cJSON_GetObjectItem(s, "repeat")->valueint, 5);
  cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "devices"), 0);
  const char *ident[] = {"id", "backend", "type", "platform", "vendor", "name", "driver_version", "opencl_c_version"};
  for (int i = 0; i < 8; i++) ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(d0, ident[i])), "%s", ident[i]);
  const char *nums[] = {"compute_units", "clock_mhz", "global_mem_bytes", "max_alloc_bytes"};
  for (int i = 0; i < 4; i++) ck_assert_msg(cJSON_IsNumber(cJSON_GetObjectItem(d0, nums[i])), "%s", nums[i]);
  cJSON *w1 = cJSON_GetArrayItem(cJSON_GetObjectItem(d0, "workloads"), 1);
  ck_assert_str_eq(cJSON_GetObjectItem(w1, "status")->valuestring, "FAILED");
  cJSON *par = cJSON_GetObjectItem(w1, "parity");
  ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(par, "ok")));
  ck_assert_int_eq(cJSON_GetObjectItem(par, "max_abs_diff")->valueint, 3);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(w1, "build_s")));
  cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(w1, "figures"), 0);
  ck_assert_str_eq(cJSON_GetObjectItem(f, "better")->valuestring, "lower");
  ck_assert_str_eq(cJSON_GetObjectItem(f, "unit")->valuestring, "GB/s");
  ck_assert(cJSON_GetObjectItem(f, "min")->valuedouble == 9.5 && cJSON_GetObjectItem(f, "max")->valuedouble == 10.5);
  /* The CPU backend is the reference: no parity of its own. */
  cJSON *d1 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "devices"), 1);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(d1, "workloads"), 0), "parity")));

  char err[400];
  ck_assert_int_eq(tsr__bench_from_json(j, &back, err, sizeof err), TSR_OK);
  ck_assert_int_eq(back.ndev, 2);
  ck_assert_str_eq(back.git, "abcdef123456");
  ck_assert_str_eq(back.dev[0].dev.name, "NVIDIA H100 <PCIe> & co");
  ck_assert_int_eq(back.dev[0].dev.backend, TSR_BACKEND_OPENCL);
  ck_assert_int_eq(back.dev[1].dev.type, TSR_DEVTYPE_CPU_BACKEND);
  ck_assert_int_eq(back.dev[0].wl[1].state, TSR_BENCH_FAILED);
  ck_assert(back.dev[0].wl[1].parity_diff == 3 && back.dev[0].wl[1].tolerance == 2);
  ck_assert(back.dev[1].wl[0].parity_diff < 0);
  ck_assert(back.dev[0].wl[0].build_s == 0.25 && back.dev[0].wl[0].build_cached);
  ck_assert(back.dev[0].wl[0].fig[0].median == 1000 && back.dev[0].wl[0].fig[0].higher_is_better);
  ck_assert(!back.dev[0].wl[1].fig[0].higher_is_better);
  tsr__bench_report_free(&back);

  /* Refused: another schema, a newer version, a missing field, a figure
   * whose median is outside its range. */
  cJSON_ReplaceItemInObject(j, "schema", cJSON_CreateString("something-else"));
  ck_assert_int_eq(tsr__bench_from_json(j, &back, err, sizeof err), TSR_E_FORMAT);
  ck_assert_ptr_nonnull(strstr(err, "schema"));
  cJSON_ReplaceItemInObject(j, "schema", cJSON_CreateString("tessera-bench"));
  cJSON_ReplaceItemInObject(j, "schema_version", cJSON_CreateNumber(TSR_BENCH_SCHEMA_VERSION + 1));
  ck_assert_int_eq(tsr__bench_from_json(j, &back, err, sizeof err), TSR_E_FORMAT);
  ck_assert_ptr_nonnull(strstr(err, "schema_version"));
  cJSON_ReplaceItemInObject(j, "schema_version", cJSON_CreateNumber(TSR_BENCH_SCHEMA_VERSION));
  cJSON_ReplaceItemInObject(f, "median", cJSON_CreateNumber(11));
  ck_assert_int_eq(tsr__bench_from_json(j, &back, err, sizeof err), TSR_E_FORMAT);
  ck_assert_ptr_nonnull(strstr(err, "min <= median <= max"));
  cJSON_DeleteItemFromObject(f, "median");
  ck_assert_int_eq(tsr__bench_from_json(j, &back, err, sizeof err), TSR_E_FORMAT);
  ck_assert_ptr_nonnull(strstr(err, "median"));
  cJSON_Delete(j);
  tsr__bench_report_free(&rep);
}
END_TEST

START_TEST(compare_flags_beyond_noise) {
  /* Overlapping ranges are noise, whatever the medians say. */
  tsr__bench_figure base = fig("x", 1, 100, 95, 105), cur = fig("x", 1, 103, 101, 110);
  ck_assert_int_eq(tsr__bench_classify(&base, &cur), TSR_CMP_SAME);
  cur = fig("x", 1, 120, 106, 130);
  ck_assert_int_eq(tsr__bench_classify(&base, &cur), TSR_CMP_BETTER);
  cur = fig("x", 1, 80, 70, 94.9);
  ck_assert_int_eq(tsr__bench_classify(&base, &cur), TSR_CMP_WORSE);
  /* Lower is better (ms/view): the same moves mean the opposite. */
  base = fig("t", 0, 100, 95, 105);
  cur = fig("t", 0, 120, 106, 130);
  ck_assert_int_eq(tsr__bench_classify(&base, &cur), TSR_CMP_WORSE);
  cur = fig("t", 0, 80, 70, 94.9);
  ck_assert_int_eq(tsr__bench_classify(&base, &cur), TSR_CMP_BETTER);
  ck_assert_int_eq(tsr__bench_classify(NULL, &cur), TSR_CMP_MISSING);

  /* Whole reports: devices paired by vendor and name, ratios current/base. */
  tsr__bench_report a, b;
  sample_report(&a, 1);
  sample_report(&b, 2); /* copy twice as fast everywhere */
  tsr__bench_cmp *c;
  int n = tsr__bench_compare(&a, &b, &c);
  ck_assert_int_eq(n, 4);
  for (int i = 0; i < n; i++) {
    ck_assert_ptr_nonnull(strstr(c[i].base_device, strchr(c[i].device, ' ') + 1));
    if (!strcmp(c[i].figure, "bandwidth")) {
      ck_assert_double_eq_tol(c[i].ratio, 2.0, 1e-12);
      ck_assert_int_eq(c[i].change, TSR_CMP_BETTER);
    } else {
      ck_assert_double_eq_tol(c[i].ratio, 1.0, 1e-12);
      ck_assert_int_eq(c[i].change, TSR_CMP_SAME);
    }
  }
  free(c);
  /* The base measured another size: no verdict. */
  snprintf(a.dev[0].wl[0].size, sizeof a.dev[0].wl[0].size, "32 MiB");
  n = tsr__bench_compare(&a, &b, &c);
  ck_assert_int_eq(c[0].change, TSR_CMP_OTHER_SIZE);
  ck_assert_int_eq(c[2].change, TSR_CMP_BETTER);
  free(c);
  snprintf(a.dev[0].wl[0].size, sizeof a.dev[0].wl[0].size, "512 MiB");
  /* A figure the base lacks; a device the base lacks. */
  b.dev[0].wl[0].fig[0].name[0] = 'B';
  snprintf(b.dev[1].dev.name, sizeof b.dev[1].dev.name, "another CPU");
  n = tsr__bench_compare(&a, &b, &c);
  ck_assert_int_eq(n, 4);
  ck_assert_int_eq(c[0].change, TSR_CMP_MISSING);
  ck_assert_int_eq(c[2].change, TSR_CMP_MISSING);
  ck_assert_str_eq(c[2].base_device, "");
  free(c);
  /* One device on each side: compared even when they differ (card A vs card B). */
  b.ndev = 1;
  a.ndev = 1;
  snprintf(b.dev[0].dev.name, sizeof b.dev[0].dev.name, "Radeon");
  n = tsr__bench_compare(&a, &b, &c);
  ck_assert_int_eq(n, 2);
  ck_assert_ptr_nonnull(strstr(c[1].base_device, "NVIDIA"));
  ck_assert_int_eq(c[1].change, TSR_CMP_SAME);
  free(c);
  a.ndev = b.ndev = 2;
  tsr__bench_report_free(&a);
  tsr__bench_report_free(&b);
}
END_TEST

START_TEST(parity_flags_failed) {
  uint8_t x[5] = {0, 10, 200, 255, 7}, y[5] = {0, 11, 197, 255, 7};
  ck_assert(tsr__bench_max_diff(x, y, 5, 1) == 3);
  uint16_t p[3] = {1000, 65535, 0}, q[3] = {1000, 65000, 2};
  ck_assert(tsr__bench_max_diff(p, q, 3, 2) == 535);
  tsr__bench_workload w;
  memset(&w, 0, sizeof w);
  tsr__bench_set_parity(&w, 2, 2);
  ck_assert_int_eq(w.state, TSR_BENCH_OK);
  tsr__bench_set_parity(&w, 3, 2);
  ck_assert_int_eq(w.state, TSR_BENCH_FAILED);
  ck_assert_ptr_nonnull(strstr(w.message, "tolerance"));
  /* The table says FAILED in the device's column. */
  tsr__bench_report rep;
  sample_report(&rep, 1);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  tsr__bench_print_table(&rep, f);
  fclose(f);
  ck_assert_ptr_nonnull(strstr(buf, "FAILED (10.00)"));
  ck_assert_ptr_nonnull(strstr(buf, "3 (2) FAILED"));
  ck_assert_ptr_nonnull(strstr(buf, "1000 [990.0-1010]"));
  free(buf);
  tsr__bench_report_free(&rep);
}
END_TEST

/* A real run on the CPU backend: every figure measured, ordered, positive,
 * and the HTML page self-contained. */
START_TEST(cpu_run) {
  const tsr_device_info *devs;
  int n;
  tsr_devices(&devs, &n, NULL);
  const tsr_device_info *cpu = &devs[n - 1];
  tsr__bench_options o = {.suite = "quick", .repeat = 2, .frame = FRAME, .threads = 2};
  tsr__bench_report rep;
  char err[256] = "";
  ck_assert_msg(tsr__bench_run(&o, &cpu, 1, &rep, err, sizeof err) == TSR_OK, "%s", err);
  ck_assert_int_eq(rep.ndev, 1);
  ck_assert_int_eq(rep.dev[0].nwl, 6);
  const char *names[] = {"copy", "transfer", "warp", "split-8k", "stereo", "augment"};
  const int nfig[] = {1, 0, 4, 3, 2, 1};
  for (int k = 0; k < 6; k++) {
    const tsr__bench_workload *w = &rep.dev[0].wl[k];
    ck_assert_str_eq(w->name, names[k]);
    ck_assert_int_eq(w->state, k == 1 ? TSR_BENCH_NA : TSR_BENCH_OK);
    ck_assert_int_eq(w->nfig, nfig[k]);
    for (int i = 0; i < w->nfig; i++) {
      const tsr__bench_figure *g = &w->fig[i];
      ck_assert_int_eq(g->n, 2);
      ck_assert_msg(g->min > 0 && g->min <= g->median && g->median <= g->max, "%s %s", w->name, g->name);
    }
    if (k != 1) ck_assert(w->first_launch_s > 0 && w->iterations >= 1);
  }
  /* The warp is of 512x256 -> 8 views of 128x72 here. */
  ck_assert_str_eq(rep.dev[0].wl[2].size, "512x256 RGB8 -> ring8 128x72");
  ck_assert_str_eq(rep.dev[0].wl[4].size, "640x360, 128 disparities, 8 paths");
  char *dir = tt_tempdir(), path[512];
  snprintf(path, sizeof path, "%s/r.html", dir);
  tsr_context *ctx = tt_context("cpu");
  ck_assert_int_eq(tsr__bench_write_html(ctx, &rep, path), TSR_OK);
  FILE *f = fopen(path, "r");
  char page[65536];
  size_t len = fread(page, 1, sizeof page - 1, f);
  page[len] = 0;
  fclose(f);
  ck_assert_ptr_nonnull(strstr(page, "<svg"));
  ck_assert_ptr_nonnull(strstr(page, "reference"));
  for (const char *u = strstr(page, "http"); u; u = strstr(u + 1, "http")) /* no external assets */
    ck_assert_msg(!strncmp(u, "http://www.w3.org/2000/svg", 26), "external reference: %.40s", u);
  ck_assert_ptr_null(strstr(page, "<script"));
  ck_assert_ptr_null(strstr(page, "<link"));
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
  tsr__bench_report_free(&rep);
}
END_TEST

static int run(const char *cmd) {
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void copy_file(const char *from, const char *to, const char *append_after, const char *append) {
  FILE *f = fopen(from, "rb");
  ck_assert_ptr_nonnull(f);
  char *text = calloc(1, 1 << 20);
  size_t n = fread(text, 1, (1 << 20) - 1, f);
  fclose(f);
  text[n] = 0;
  FILE *o = fopen(to, "wb");
  if (append_after) {
    char *at = strstr(text, append_after);
    ck_assert_ptr_nonnull(at);
    at += strlen(append_after);
    fwrite(text, 1, (size_t)(at - text), o);
    fputs(append, o);
    fputs(at, o);
  } else {
    fputs(text, o);
  }
  fclose(o);
  free(text);
}

/* The OpenCL device runs kernels altered to get one value wrong (through
 * TESSERA_KERNEL_DIR): bench must mark it FAILED in the table, the JSON,
 * the HTML and the exit status, and still report its speed as measured. */
START_TEST(wrong_device_is_failed) {
  if (g_backends < 2) {
    printf("bench: no OpenCL device, the wrong-result test has nothing to run on\n");
    return;
  }
  char *dir = tt_tempdir(), cmd[4096], p1[600], p2[600];
  const char *files[] = {"tsr_compat.h", "tsr_types.h", "warp.h", "warp_taps.h", "merge.h", "merge.cl"};
  for (int i = 0; i < 6; i++) {
    snprintf(p1, sizeof p1, "%s/%s", TSR_KERNEL_SRC, files[i]);
    snprintf(p2, sizeof p2, "%s/%s", dir, files[i]);
    copy_file(p1, p2, NULL, NULL);
  }
  snprintf(p1, sizeof p1, "%s/copy.cl", TSR_KERNEL_SRC);
  snprintf(p2, sizeof p2, "%s/copy.cl", dir);
  copy_file(p1, p2, "dst[i] = src[i];", "\n  if (i == 1000) dst[i] = src[i] ^ (uint4)(0, 0, 0, 1);");
  snprintf(p1, sizeof p1, "%s/warp.cl", TSR_KERNEL_SRC);
  snprintf(p2, sizeof p2, "%s/warp.cl", dir);
  copy_file(p1, p2, "row + (ulong)item * s->dst_item_bytes, x);",
            "\n  if (x == 7 && y == 5 && get_global_id(2) == 3) row[21] ^= 0x40;");
  printf("bench: kernels altered to return wrong values follow; the FAILED lines below are expected\n");
  fflush(stdout);
  snprintf(cmd, sizeof cmd,
           "TESSERA_KERNEL_DIR='%s' '%s' bench --device cl --workloads copy,warp --repeat 1 --frame '%s' --json-file '%s/r.json' "
           "--html '%s/r.html' --quiet > '%s/table.txt'",
           dir, TSR_CLI_PATH, FRAME, dir, dir, dir);
  ck_assert_int_eq(run(cmd), 3);
  snprintf(cmd, sizeof cmd, "cat '%s/table.txt'", dir);
  ck_assert_int_eq(run(cmd), 0);
  tsr__bench_report rep;
  char err[400];
  snprintf(p1, sizeof p1, "%s/r.json", dir);
  ck_assert_msg(tsr__bench_load(p1, &rep, err, sizeof err) == TSR_OK, "%s", err);
  ck_assert_int_eq(rep.ndev, 1);
  printf("bench: wrong-result test ran on %s (%s)\n", rep.dev[0].dev.id, rep.dev[0].dev.name);
  ck_assert_int_eq(rep.dev[0].dev.backend, TSR_BACKEND_OPENCL);
  ck_assert_int_eq(rep.dev[0].nwl, 2);
  for (int k = 0; k < 2; k++) {
    const tsr__bench_workload *w = &rep.dev[0].wl[k];
    ck_assert_int_eq(w->state, TSR_BENCH_FAILED);
    ck_assert(w->parity_diff > w->tolerance);
    ck_assert_int_gt(w->nfig, 0);
    ck_assert(w->fig[0].median > 0);
  }
  ck_assert(rep.dev[0].wl[0].parity_diff == 1); /* the copy's one flipped bit */
  ck_assert(rep.dev[0].wl[1].parity_diff == 64); /* the flipped bit: the warp itself matches the CPU's bytes */
  tsr__bench_report_free(&rep);
  snprintf(cmd, sizeof cmd, "grep -q 'FAILED (' '%s/table.txt' && grep -q 'class=failed' '%s/r.html'", dir, dir);
  ck_assert_int_eq(run(cmd), 0);

  /* The same device with the real kernels passes, and --compare against
   * the failed run reads its file; --results names it by vendor. */
  snprintf(cmd, sizeof cmd,
           "'%s' bench --device cl --workloads copy --repeat 2 --frame '%s' --compare '%s/r.json' --results '%s/res' "
           "--quiet > '%s/cmp.txt' && grep -q 'bandwidth, read + write' '%s/cmp.txt' && ls '%s/res'/*/*.json",
           TSR_CLI_PATH, FRAME, dir, dir, dir, dir, dir);
  ck_assert_int_eq(run(cmd), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* The committed results stay readable by this tessera: one device each,
 * named by the file's place, every figure ordered and measured. */
START_TEST(committed_results_load) {
  glob_t g;
  ck_assert_int_eq(glob(TSR_TEST_DATA "/../../bench/results/*/*.json", 0, NULL, &g), 0);
  ck_assert_uint_ge(g.gl_pathc, 2); /* the CPU backend and PoCL at least */
  for (size_t i = 0; i < g.gl_pathc; i++) {
    tsr__bench_report rep;
    char err[400], vendor[64], dev[256], want[400];
    ck_assert_msg(tsr__bench_load(g.gl_pathv[i], &rep, err, sizeof err) == TSR_OK, "%s", err);
    ck_assert_int_eq(rep.ndev, 1);
    ck_assert_str_eq(rep.suite, "full");
    tsr__bench_result_path(&rep.dev[0].dev, vendor, sizeof vendor, dev, sizeof dev);
    snprintf(want, sizeof want, "/%s/%s.json", vendor, dev);
    ck_assert_msg(strstr(g.gl_pathv[i], want), "%s should be named ...%s", g.gl_pathv[i], want);
    for (int k = 0; k < rep.dev[0].nwl; k++) {
      const tsr__bench_workload *w = &rep.dev[0].wl[k];
      ck_assert_msg(w->state == TSR_BENCH_OK || w->state == TSR_BENCH_NA, "%s: %s", g.gl_pathv[i], w->name);
      for (int f = 0; f < w->nfig; f++) ck_assert(w->fig[f].n == rep.repeat && w->fig[f].median > 0);
    }
    tsr__bench_report_free(&rep);
  }
  globfree(&g);
}
END_TEST

START_TEST(cli_usage) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' bench --suite medium 2>/dev/null", TSR_CLI_PATH);
  ck_assert_int_eq(run(cmd), 1);
  snprintf(cmd, sizeof cmd, "'%s' bench --workloads copy,fft 2>/dev/null", TSR_CLI_PATH);
  ck_assert_int_eq(run(cmd), 1);
  snprintf(cmd, sizeof cmd, "'%s' bench --device nosuchdevice 2>/dev/null", TSR_CLI_PATH);
  ck_assert_int_eq(run(cmd), 1);
  snprintf(cmd, sizeof cmd, "'%s' bench --compare /nonexistent.json 2>/dev/null", TSR_CLI_PATH);
  ck_assert_int_eq(run(cmd), 1);
}
END_TEST

/* The whole of a file, NUL-terminated (NULL if unreadable). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (buf) buf[n] = 0;
  return buf;
}

/* On a terminal (a pseudo-terminal from script(1)), each workload shows the
 * measurement under way in place; into a file or pipe, only the lines per
 * workload. */
START_TEST(progress_on_a_terminal) {
  if (system("command -v script >/dev/null 2>&1") != 0) {
    printf("bench: script(1) not installed: terminal progress not checked\n");
    ck_abort_msg("script(1) is needed to give the bench a terminal (util-linux/bsdutils)");
  }
  char *dir = tt_tempdir(), cmd[4096], path[1200];
  snprintf(path, sizeof path, "%s/tty.txt", dir);
  snprintf(cmd, sizeof cmd, "script -qfc \"'%s' bench --device cpu --workloads copy --repeat 2\" '%s' >/dev/null 2>&1",
           TSR_CLI_PATH, path);
  ck_assert_int_eq(run(cmd), 0);
  char *tty = slurp(path);
  ck_assert_ptr_nonnull(tty);
  ck_assert_msg(strstr(tty, "\rbench: cpu: copy: measurement 2/2") != NULL, "%s", tty);
  snprintf(path, sizeof path, "%s/pipe.txt", dir);
  snprintf(cmd, sizeof cmd, "'%s' bench --device cpu --workloads copy --repeat 2 2>'%s' >/dev/null", TSR_CLI_PATH, path);
  ck_assert_int_eq(run(cmd), 0);
  char *pipe = slurp(path);
  ck_assert_ptr_nonnull(pipe);
  ck_assert_msg(strstr(pipe, "bench: cpu: copy done") != NULL && !strchr(pipe, '\r'), "%s", pipe);
  free(tty);
  free(pipe);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

int main(void) {
  tt_backend_count("bench", &g_backends);
  Suite *s = suite_create("bench");
  TCase *tc = tcase_create("bench");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, json_schema_round_trip);
  tcase_add_test(tc, compare_flags_beyond_noise);
  tcase_add_test(tc, parity_flags_failed);
  tcase_add_test(tc, cpu_run);
  tcase_add_test(tc, wrong_device_is_failed);
  tcase_add_test(tc, committed_results_load);
  tcase_add_test(tc, cli_usage);
  tcase_add_test(tc, progress_on_a_terminal);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
