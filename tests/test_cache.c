/* The program binary cache: keys, hits, misses, corrupt entries, concurrent
 * writers, and kernels loaded from TESSERA_KERNEL_DIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cl.h"
#include "testutil.h"

static char *dir;
static void setup(void) {
  dir = tt_tempdir();
  setenv("TESSERA_CACHE_DIR", dir, 1);
  unsetenv("TESSERA_NO_CACHE");
}
static void teardown(void) {
  tt_rmtree(dir);
  free(dir);
}

START_TEST(key_covers_every_input) {
  uint64_t k = tsr__cache_key("src", "-O", "plat", "dev", "drv");
  ck_assert_uint_ne(k, tsr__cache_key("src2", "-O", "plat", "dev", "drv"));
  ck_assert_uint_ne(k, tsr__cache_key("src", "-O2", "plat", "dev", "drv"));
  ck_assert_uint_ne(k, tsr__cache_key("src", "-O", "plat2", "dev", "drv"));
  ck_assert_uint_ne(k, tsr__cache_key("src", "-O", "plat", "dev2", "drv"));
  ck_assert_uint_ne(k, tsr__cache_key("src", "-O", "plat", "dev", "drv2"));
  ck_assert_uint_ne(tsr__cache_key("ab", "c", "", "", ""), tsr__cache_key("a", "bc", "", "", ""));
  ck_assert_uint_eq(k, tsr__cache_key("src", "-O", "plat", "dev", "drv"));
}
END_TEST

static void corrupt_byte(const char *p, long off) {
  FILE *f = fopen(p, "r+b");
  ck_assert_ptr_nonnull(f);
  fseek(f, off, off < 0 ? SEEK_END : SEEK_SET);
  int c = fgetc(f);
  fseek(f, -1, SEEK_CUR);
  fputc(c ^ 0xFF, f);
  fclose(f);
}

START_TEST(put_get_and_damage) {
  tsr__cache c;
  tsr__cache_init(&c);
  ck_assert(c.enabled);
  uint8_t bin[1000];
  for (int i = 0; i < 1000; i++) bin[i] = (uint8_t)(i * 7);
  size_t n = 0;
  ck_assert_ptr_null(tsr__cache_get(&c, 42, &n)); /* miss */
  tsr__cache_put(&c, 42, bin, sizeof bin);
  uint8_t *got = tsr__cache_get(&c, 42, &n);
  ck_assert_ptr_nonnull(got); /* hit */
  ck_assert_uint_eq(n, sizeof bin);
  ck_assert_mem_eq(got, bin, sizeof bin);
  free(got);
  ck_assert_int_eq(tt_dir_entries(dir), 1); /* no temporaries left */

  char p[4200], q[4200];
  tsr__cache_path(&c, 42, p, sizeof p);
  corrupt_byte(p, -10); /* payload damaged */
  ck_assert_ptr_null(tsr__cache_get(&c, 42, &n));
  tsr__cache_put(&c, 42, bin, sizeof bin); /* rewritten */
  got = tsr__cache_get(&c, 42, &n);
  ck_assert_ptr_nonnull(got);
  free(got);
  ck_assert_int_eq(truncate(p, 500), 0); /* truncated */
  ck_assert_ptr_null(tsr__cache_get(&c, 42, &n));
  tsr__cache_put(&c, 42, bin, sizeof bin);
  tsr__cache_path(&c, 43, q, sizeof q); /* an entry filed under another key */
  ck_assert_int_eq(rename(p, q), 0);
  ck_assert_ptr_null(tsr__cache_get(&c, 43, &n));
  tt_write_file(p, "garbage", 7);
  ck_assert_ptr_null(tsr__cache_get(&c, 42, &n));

  setenv("TESSERA_NO_CACHE", "1", 1);
  tsr__cache off;
  tsr__cache_init(&off);
  ck_assert(!off.enabled);
  tsr__cache_put(&off, 99, bin, sizeof bin);
  ck_assert_ptr_null(tsr__cache_get(&off, 99, &n));
}
END_TEST

/* Builds warp.cl on the OpenCL device; returns 1 if it came from the cache. */
static int build_on_cl(void) {
  tsr_context *ctx = tt_context("cl");
  ck_assert_int_eq(tsr__cl_open(ctx), TSR_OK);
  cl_program prog;
  int from_cache = -1;
  tsr_status st = tsr__cl_build(ctx, "warp.cl", "", &prog, &from_cache);
  ck_assert_msg(st == TSR_OK, "build: %s", tsr_context_error(ctx));
  ctx->cl->api->clReleaseProgram(prog);
  tsr_context_destroy(ctx);
  return from_cache;
}

static int count_suffix(const char *suffix) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '%s$'", dir, suffix);
  FILE *p = popen(cmd, "r");
  int n = 0;
  ck_assert_int_eq(fscanf(p, "%d", &n), 1);
  pclose(p);
  return n;
}

START_TEST(program_miss_hit_corrupt) {
  ck_assert_int_eq(build_on_cl(), 0); /* miss: built from source */
  ck_assert_int_eq(count_suffix(".bin"), 1);
  ck_assert_int_eq(build_on_cl(), 1); /* hit */
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "for f in '%s'/*.bin; do printf 'XXXXXXXX' | dd of=\"$f\" bs=1 seek=200 conv=notrunc 2>/dev/null; done", dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_int_eq(build_on_cl(), 0); /* corrupt entry: rebuilt, not fatal */
  ck_assert_int_eq(build_on_cl(), 1); /* and rewritten */
  setenv("TESSERA_NO_CACHE", "1", 1);
  ck_assert_int_eq(build_on_cl(), 0);
}
END_TEST

START_TEST(concurrent_writers) {
  enum { N = 4 };
  pid_t kids[N];
  for (int i = 0; i < N; i++) {
    kids[i] = fork();
    ck_assert_int_ge(kids[i], 0);
    if (kids[i] == 0) {
      build_on_cl();
      _exit(0);
    }
  }
  for (int i = 0; i < N; i++) {
    int status;
    waitpid(kids[i], &status, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed", i);
  }
  ck_assert_int_eq(count_suffix(".bin"), 1);
  ck_assert_int_eq(tt_dir_entries(dir), 1); /* no stray temporaries */
  ck_assert_int_eq(build_on_cl(), 1);       /* the surviving entry is valid */
}
END_TEST

START_TEST(kernel_dir_and_header_edits) {
  /* Kernels from disk; an edit to a shared header changes the key. */
  char *kdir = tt_tempdir(), cmd[8400];
  snprintf(cmd, sizeof cmd, "cp '%s'/../../cl/*.cl '%s'/../../cl/*.h '%s'/", TSR_TEST_DATA, TSR_TEST_DATA, kdir);
  ck_assert_int_eq(system(cmd), 0);
  setenv("TESSERA_KERNEL_DIR", kdir, 1);
  ck_assert_int_eq(build_on_cl(), 0);
  ck_assert_int_eq(build_on_cl(), 1);
  snprintf(cmd, sizeof cmd, "echo '/* edited */' >> '%s/tsr_compat.h'", kdir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_int_eq(build_on_cl(), 0);
  ck_assert_int_eq(count_suffix(".bin"), 2);
  /* The resolved source inlines the header exactly once. */
  tsr_context *ctx = tt_context("cpu");
  char *src = NULL;
  ck_assert_int_eq(tsr__kernel_source(ctx, "warp.cl", &src), TSR_OK);
  ck_assert_ptr_nonnull(strstr(src, "/* edited */"));
  ck_assert_ptr_null(strstr(strstr(src, "/* edited */") + 1, "/* edited */"));
  ck_assert_ptr_null(strstr(src, "#include \""));
  free(src);
  tsr_context_destroy(ctx);
  tt_rmtree(kdir);
  free(kdir);
}
END_TEST

int main(void) {
  int nb;
  tt_backend_count("cache", &nb);
  Suite *s = suite_create("cache");
  TCase *tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, key_covers_every_input);
  tcase_add_test(tc, put_get_and_damage);
  if (nb == 2) {
    tcase_add_test(tc, program_miss_hit_corrupt);
    tcase_add_test(tc, concurrent_writers);
    tcase_add_test(tc, kernel_dir_and_header_edits);
  }
  suite_add_tcase(s, tc);
  return tt_run(s);
}
