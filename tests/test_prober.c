/* The device prober and selection: on PoCL, with OpenCL hidden from the ICD
 * loader, and with libOpenCL absent. Each test runs in its own process, so
 * the environment it sets decides what the registry probes. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "testutil.h"

static int g_has_cl;

static int count_backend(tsr_backend b, const tsr_device_info *devs, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += devs[i].backend == b;
  return k;
}

static void check_cpu_last(const tsr_device_info *devs, int n) {
  const tsr_device_info *c = &devs[n - 1];
  ck_assert_int_eq(c->backend, TSR_BACKEND_CPU);
  ck_assert_str_eq(c->id, "cpu");
  ck_assert_uint_ge(c->compute_units, 1);
  ck_assert_uint_gt(c->global_mem, 0);
  ck_assert(c->usable);
}

static tsr_status open_ctx(const char *device, tsr_context **ctx) {
  tsr_context_options o = {.struct_size = sizeof(tsr_context_options), .device = device, .quiet = 1};
  return tsr_context_create(&o, ctx);
}

START_TEST(probe_opencl_device) {
  const tsr_device_info *devs;
  int n;
  const char *note;
  ck_assert_int_eq(tsr_devices(&devs, &n, &note), TSR_OK);
  ck_assert_ptr_null(note);
  ck_assert_int_ge(count_backend(TSR_BACKEND_OPENCL, devs, n), 1);
  check_cpu_last(devs, n);
  const tsr_device_info *d = &devs[0];
  printf("prober: OpenCL device %s: %s | %s | driver %s | %s | %u CUs | %llu MiB, max alloc %llu MiB\n", d->id,
         d->name, d->platform, d->driver_version, d->opencl_c_version, d->compute_units,
         (unsigned long long)(d->global_mem >> 20), (unsigned long long)(d->max_alloc >> 20));
  ck_assert_str_eq(d->id, "cl:0.0");
  ck_assert(strlen(d->name) > 0);
  ck_assert(strlen(d->driver_version) > 0);
  ck_assert_int_ge(d->cl_c_major * 10 + d->cl_c_minor, 12);
  ck_assert_uint_gt(d->global_mem, 0);
  ck_assert_uint_gt(d->max_alloc, 0);
  ck_assert_uint_le(d->max_alloc, d->global_mem);
  ck_assert(d->usable);

  tsr_context *ctx = NULL;
  /* auto prefers GPUs and never picks an OpenCL CPU device such as PoCL. */
  ck_assert_int_eq(open_ctx("auto", &ctx), TSR_OK);
  const tsr_device_info *chosen = tsr_context_device(ctx);
  if (d->type == TSR_DEVTYPE_CL_CPU) ck_assert_str_eq(chosen->id, "cpu");
  else ck_assert_str_eq(chosen->id, d->id);
  tsr_context_destroy(ctx);
  ck_assert_int_eq(open_ctx("cl", &ctx), TSR_OK);
  ck_assert_str_eq(tsr_context_device(ctx)->id, "cl:0.0");
  tsr_context_destroy(ctx);
  ck_assert_int_eq(open_ctx("cl:0.0", &ctx), TSR_OK);
  ck_assert_str_eq(tsr_context_device(ctx)->id, "cl:0.0");
  tsr_context_destroy(ctx);
  /* A name substring, case-insensitive. */
  char sub[8];
  snprintf(sub, sizeof sub, "%.4s", d->name);
  for (char *p = sub; *p; p++) *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
  ck_assert_int_eq(open_ctx(sub, &ctx), TSR_OK);
  ck_assert_str_eq(tsr_context_device(ctx)->id, "cl:0.0");
  tsr_context_destroy(ctx);
}
END_TEST

START_TEST(selection_errors) {
  tsr_context *ctx = NULL;
  ck_assert_int_eq(open_ctx("cl:7.7", &ctx), TSR_E_NO_DEVICE);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "cl:7.7"));
  tsr_context_destroy(ctx);
  ck_assert_int_eq(open_ctx("no-such-gpu-xyz", &ctx), TSR_E_NO_DEVICE);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "no-such-gpu-xyz"));
  tsr_context_destroy(ctx);
  ck_assert_int_eq(open_ctx("cpu", &ctx), TSR_OK);
  ck_assert_str_eq(tsr_context_device(ctx)->id, "cpu");
  tsr_context_destroy(ctx);
}
END_TEST

START_TEST(env_device_and_budget) {
  setenv("TESSERA_DEVICE", "cpu", 1);
  setenv("TESSERA_MEM_BUDGET", "1536M", 1);
  tsr_context *ctx = NULL;
  ck_assert_int_eq(tsr_context_create(NULL, &ctx), TSR_OK);
  ck_assert_str_eq(tsr_context_device(ctx)->id, "cpu");
  ck_assert_uint_eq(tsr_context_budget(ctx), 1536ull << 20);
  tsr_context_destroy(ctx);
  setenv("TESSERA_MEM_BUDGET", "lots", 1);
  ck_assert_int_eq(tsr_context_create(NULL, &ctx), TSR_E_INVALID);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "TESSERA_MEM_BUDGET"));
  tsr_context_destroy(ctx);
}
END_TEST

static void expect_cpu_only(const char *why_part) {
  const tsr_device_info *devs;
  int n;
  const char *note;
  ck_assert_int_eq(tsr_devices(&devs, &n, &note), TSR_OK);
  ck_assert_int_eq(n, 1);
  check_cpu_last(devs, n);
  ck_assert_ptr_nonnull(note);
  ck_assert_msg(strstr(note, why_part), "note '%s' lacks '%s'", note, why_part);
  tsr_context *ctx = NULL;
  ck_assert_int_eq(open_ctx("auto", &ctx), TSR_OK);
  ck_assert_str_eq(tsr_context_device(ctx)->id, "cpu");
  tsr_context_destroy(ctx);
  ck_assert_int_eq(open_ctx("cl", &ctx), TSR_E_NO_DEVICE);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), why_part));
  tsr_context_destroy(ctx);
}

START_TEST(opencl_hidden) {
  char *dir = tt_tempdir();
  setenv("OCL_ICD_VENDORS", dir, 1);
  expect_cpu_only("no platform");
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(opencl_library_absent) {
  setenv("TESSERA_OPENCL_LIBRARY", "/nonexistent/libOpenCL.so.1", 1);
  expect_cpu_only("TESSERA_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1 could not be loaded");
}
END_TEST

/* Runs the CLI with an environment assignment and returns its stdout. */
static char *run_cli(const char *env, const char *args, int *status) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "env %s '%s' devices %s 2>/dev/null", env, TSR_CLI_PATH, args);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  size_t k;
  while ((k = fread(out + len, 1, cap - len - 1, p)) > 0) len += k;
  out[len] = 0;
  int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

START_TEST(cli_json) {
  int status;
  char *out = run_cli(g_has_cl ? "TESSERA_DEVICE=cl" : "X=1", "--json", &status);
  ck_assert_int_eq(status, 0);
  cJSON *root = cJSON_Parse(out);
  ck_assert_msg(root != NULL, "not JSON: %s", out);
  cJSON *devs = cJSON_GetObjectItem(root, "devices");
  ck_assert_int_eq(cJSON_GetArraySize(devs), g_has_cl ? 2 : 1);
  cJSON *sel = cJSON_GetObjectItem(root, "selected");
  ck_assert_str_eq(sel->valuestring, g_has_cl ? "cl:0.0" : "cpu");
  cJSON *d0 = cJSON_GetArrayItem(devs, 0);
  const char *keys[] = {"vendor", "name", "driver_version", "opencl_c_version", "type", "compute_units",
                        "clock_mhz", "global_mem_bytes", "max_alloc_bytes", "local_mem_bytes", "image_support",
                        "fp16", "fp64", "budget_bytes", "reference_batch"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    ck_assert_msg(cJSON_GetObjectItem(d0, keys[i]) != NULL, "missing %s", keys[i]);
  ck_assert_int_ge(cJSON_GetObjectItem(d0, "reference_batch")->valueint, 1);
  cJSON_Delete(root);
  free(out);

  /* A budget override shows in every device's budget and batch. */
  out = run_cli("X=1", "--json --mem-budget 1200M", &status);
  ck_assert_int_eq(status, 0);
  root = cJSON_Parse(out);
  cJSON *cpu = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "devices"), g_has_cl ? 1 : 0);
  ck_assert_double_eq(cJSON_GetObjectItem(cpu, "budget_bytes")->valuedouble, 1200.0 * 1048576);
  ck_assert_int_eq(cJSON_GetObjectItem(cpu, "reference_batch")->valueint, 2);
  cJSON_Delete(root);
  free(out);

  out = run_cli("TESSERA_OPENCL_LIBRARY=/nonexistent.so", "--json", &status);
  ck_assert_int_eq(status, 0);
  root = cJSON_Parse(out);
  cJSON *why = cJSON_GetObjectItem(root, "opencl_unavailable");
  ck_assert(cJSON_IsString(why));
  ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "devices")), 1);
  cJSON_Delete(root);
  free(out);

  out = run_cli("X=1", "--device cl:9.9", &status);
  ck_assert_int_eq(status, 10 - TSR_E_NO_DEVICE);
  free(out);
  out = run_cli("TESSERA_OPENCL_LIBRARY=/nonexistent.so", "", &status);
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_nonnull(strstr(out, "OpenCL: unavailable"));
  free(out);
}
END_TEST

/* A runtime that aborts or hangs while probing costs a child process, not
 * the run: `tessera devices` says what happened and lists the CPU backend,
 * `auto` runs on the CPU backend, and `--device cpu` never loads OpenCL. */
static int sh(const char *cmd, char *out, size_t n) {
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t len = 0, k;
  while ((k = fread(out + len, 1, n - len - 1, p)) > 0) len += k;
  out[len] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(broken_runtime_survived) {
  char *dir = tt_tempdir(), cmd[8192], out[1 << 16], marker[1200];
  snprintf(marker, sizeof marker, "%s/loaded", dir);
  /* aborts while probing: a line in devices, exit 0 */
  snprintf(cmd, sizeof cmd, "env TESSERA_OPENCL_LIBRARY='%s' FAKE_OPENCL_MARKER='%s' '%s' devices 2>&1", TSR_FAKE_CL_ABORT,
           marker, TSR_CLI_PATH);
  ck_assert_int_eq(sh(cmd, out, sizeof out), 0);
  ck_assert_msg(strstr(out, "crashed (signal 6") && strstr(out, "cpu "), "%s", out);
  ck_assert_msg(tt_file_exists(marker), "the fake runtime was not loaded at all");
  /* hangs while probing: given up after TESSERA_PROBE_TIMEOUT */
  double t0 = tsr__now();
  snprintf(cmd, sizeof cmd, "env TESSERA_OPENCL_LIBRARY='%s' TESSERA_PROBE_TIMEOUT=1 '%s' devices --json 2>/dev/null",
           TSR_FAKE_CL_HANG, TSR_CLI_PATH);
  ck_assert_int_eq(sh(cmd, out, sizeof out), 0);
  ck_assert_double_lt(tsr__now() - t0, 30);
  cJSON *root = cJSON_Parse(out);
  ck_assert_msg(root != NULL, "%s", out);
  cJSON *why = cJSON_GetObjectItem(root, "opencl_unavailable");
  ck_assert_msg(cJSON_IsString(why) && strstr(why->valuestring, "did not finish within 1 s"), "%s", out);
  cJSON_Delete(root);
  /* auto splits on the CPU backend beside an aborting runtime */
  snprintf(cmd, sizeof cmd,
           "env TESSERA_OPENCL_LIBRARY='%s' '%s' split '%s/earth_2048x1024.jpg' -o '%s/auto' --size 64x48 2>&1",
           TSR_FAKE_CL_ABORT, TSR_CLI_PATH, TSR_TEST_DATA, dir);
  ck_assert_int_eq(sh(cmd, out, sizeof out), 0);
  ck_assert_msg(strstr(out, "8 views") && strstr(out, "on cpu"), "%s", out);
  /* --device cpu does not even load it */
  unlink(marker);
  snprintf(cmd, sizeof cmd,
           "env TESSERA_OPENCL_LIBRARY='%s' FAKE_OPENCL_MARKER='%s' '%s' split '%s/earth_2048x1024.jpg' -o '%s/cpu' "
           "--size 64x48 --device cpu 2>&1",
           TSR_FAKE_CL_ABORT, marker, TSR_CLI_PATH, TSR_TEST_DATA, dir);
  ck_assert_int_eq(sh(cmd, out, sizeof out), 0);
  ck_assert_msg(!tt_file_exists(marker), "--device cpu loaded the OpenCL library");
  printf("prober: aborting and hanging OpenCL runtimes survived (the CPU backend ran)\n");
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* A platform with more devices than the prober once had room for (its
 * 16-entry arrays were overrun: phantom devices, a UBSan report): all 20
 * listed, each once, and the last one selectable. */
START_TEST(many_devices_listed) {
  char cmd[4096], out[1 << 17];
  snprintf(cmd, sizeof cmd, "env TESSERA_OPENCL_LIBRARY='%s' '%s' devices --json --device cl:0.19 2>/dev/null",
           TSR_FAKE_CL_MANY, TSR_CLI_PATH);
  ck_assert_int_eq(sh(cmd, out, sizeof out), 0);
  cJSON *root = cJSON_Parse(out);
  ck_assert_msg(root != NULL, "%s", out);
  cJSON *devs = cJSON_GetObjectItem(root, "devices");
  ck_assert_int_eq(cJSON_GetArraySize(devs), 21); /* 20 fake + the CPU backend */
  for (int i = 0; i < 20; i++) {
    char want[32];
    snprintf(want, sizeof want, "fake %d", i);
    int n = 0;
    for (int k = 0; k < cJSON_GetArraySize(devs); k++)
      n += !strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(devs, k), "name")->valuestring, want);
    ck_assert_msg(n == 1, "%s listed %d times", want, n);
  }
  ck_assert_str_eq(cJSON_GetObjectItem(root, "selected")->valuestring, "cl:0.19");
  cJSON_Delete(root);
}
END_TEST

int main(void) {
  int nb;
  tt_backend_count("prober", &nb);
  g_has_cl = nb == 2;
  Suite *s = suite_create("prober");
  TCase *tc = tcase_create("prober");
  tcase_set_timeout(tc, 120);
  if (g_has_cl) tcase_add_test(tc, probe_opencl_device);
  tcase_add_test(tc, selection_errors);
  tcase_add_test(tc, env_device_and_budget);
  tcase_add_test(tc, opencl_hidden);
  tcase_add_test(tc, opencl_library_absent);
  tcase_add_test(tc, cli_json);
  tcase_add_test(tc, broken_runtime_survived);
  tcase_add_test(tc, many_devices_listed);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
