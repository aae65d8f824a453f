/* Philox4x32-10 (cl/philox.h) against the known-answer vectors published
 * with Random123 (kat_vectors: counter, key, expected output), and the
 * helpers that turn its words into parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "philox.h"
#include "runtime/cl.h"
#include "testutil.h"

START_TEST(known_answers) {
  static const struct {
    uint32_t ctr[4], key[2], out[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    uint32_t out[4];
    tsr_philox4x32_10(kat[i].ctr, kat[i].key, out);
    for (int k = 0; k < 4; k++) ck_assert_uint_eq(out[k], kat[i].out[k]);
  }
}
END_TEST

/* Neighbouring counters give unrelated words (each output bit flips about
 * half the time), and the helpers map words as stated. */
START_TEST(words_and_helpers) {
  uint32_t key[2] = {12345, 678}, a[4], b[4];
  long flips = 0, n = 0;
  for (uint32_t c = 0; c < 4096; c++) {
    uint32_t c0[4] = {c, 0, 0, 0}, c1[4] = {c + 1, 0, 0, 0};
    tsr_philox4x32_10(c0, key, a);
    tsr_philox4x32_10(c1, key, b);
    for (int k = 0; k < 4; k++) flips += __builtin_popcount(a[k] ^ b[k]);
    n += 128;
  }
  double frac = (double)flips / (double)n;
  ck_assert_double_gt(frac, 0.49);
  ck_assert_double_lt(frac, 0.51);
  ck_assert_uint_eq(tsr_philox_below(0, 10), 0);
  ck_assert_uint_eq(tsr_philox_below(0xffffffffu, 10), 9);
  ck_assert_uint_eq(tsr_philox_below(0x80000000u, 10), 5);
  ck_assert(tsr_philox_unit(0) == 0.0f);
  ck_assert(tsr_philox_unit(0xffffffffu) == 16777215.0f / 16777216.0f);
  /* uniform: the mean of many draws */
  double sum = 0;
  for (uint32_t c = 0; c < 100000; c++) {
    uint32_t ctr[4] = {c, 1, 2, 3};
    tsr_philox4x32_10(ctr, key, a);
    sum += tsr_philox_unit(a[0]);
  }
  ck_assert_double_gt(sum / 100000, 0.497);
  ck_assert_double_lt(sum / 100000, 0.503);
}
END_TEST

/* The header compiles as OpenCL C and gives the same words there: a test
 * kernel (from a scratch TESSERA_KERNEL_DIR holding it and the headers)
 * draws for 4096 counters. */
static void copy_to(const char *dir, const char *name) {
  char from[600], to[600];
  snprintf(from, sizeof from, "%s/%s", TSR_KERNEL_SRC, name);
  snprintf(to, sizeof to, "%s/%s", dir, name);
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  ck_assert(a && b);
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, a)) > 0) ck_assert_uint_eq(fwrite(buf, 1, n, b), n);
  fclose(a);
  fclose(b);
}

START_TEST(device_gives_the_same_words) {
  char *dir = tt_tempdir(), path[600];
  copy_to(dir, "tsr_compat.h");
  copy_to(dir, "philox.h");
  copy_to(dir, "augment.h");
  copy_to(dir, "warp_taps.h");
  snprintf(path, sizeof path, "%s/philox_test.cl", dir);
  /* augment.h's colour math rides along: it compiles as OpenCL C and
   * blends the same there */
  const char *src = "#include \"philox.h\"\n#include \"augment.h\"\n"
                    "__kernel void draw(__global uint *out, uint k0, uint k1) {\n"
                    "  uint i = get_global_id(0), c[4] = {i, 7, i * 3, 0xdeadbeef}, k[2] = {k0, k1}, o[4];\n"
                    "  tsr_philox4x32_10(c, k, o);\n"
                    "  for (int w = 0; w < 4; w++) out[4 * i + w] = o[w];\n"
                    "  out[4 * 4096 + i] = tsr_aug_blend(i & 255, (i >> 8) * 17, (i * 997) % 65537);\n"
                    "}\n";
  tt_write_file(path, src, strlen(src));
  setenv("TESSERA_KERNEL_DIR", dir, 1);
  tsr_context *ctx = tt_context("cl");
  printf("philox: OpenCL device %s\n", tsr_context_device(ctx)->name);
  cl_kernel k;
  ck_assert_int_eq(tsr__cl_kernel(ctx, "philox_test.cl", "draw", &k, NULL, NULL), TSR_OK);
  enum { N = 4096 };
  tsr__buf *b = NULL;
  ck_assert_int_eq(tsr__buf_alloc(ctx, "test", TSR_BUF_WRITE, N * 20, &b), TSR_OK);
  cl_uint k0 = 0x01234567, k1 = 0x89abcdef;
  tsr__cl_arg args[3] = {TSR_ARG_BUF(b), TSR_ARG_VAL(k0), TSR_ARG_VAL(k1)};
  size_t global = N;
  ck_assert_int_eq(tsr__cl_launch(ctx, 0, k, 3, args, 1, &global, NULL, NULL, NULL), TSR_OK);
  uint32_t *dev = malloc(N * 20);
  ck_assert_int_eq(tsr__cl_read(ctx, 0, b, 0, N * 20, dev, 1, NULL, NULL), TSR_OK);
  for (uint32_t i = 0; i < N; i++) {
    uint32_t c[4] = {i, 7, i * 3, 0xdeadbeef}, key[2] = {k0, k1}, o[4];
    tsr_philox4x32_10(c, key, o);
    ck_assert_mem_eq(o, dev + 4 * i, 16);
    ck_assert_uint_eq(dev[4 * N + i], (uint32_t)tsr_aug_blend((int)(i & 255), (int)(i >> 8) * 17, (int)((i * 997) % 65537)));
  }
  free(dev);
  tsr__buf_free(ctx, b);
  tsr_context_destroy(ctx);
  unsetenv("TESSERA_KERNEL_DIR");
  tt_rmtree(dir);
  free(dir);
}
END_TEST

int main(void) {
  int nb = 1;
  tt_backend_count("philox", &nb);
  Suite *s = suite_create("philox");
  TCase *tc = tcase_create("philox");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, known_answers);
  tcase_add_test(tc, words_and_helpers);
  if (nb == 2) tcase_add_test(tc, device_gives_the_same_words);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
