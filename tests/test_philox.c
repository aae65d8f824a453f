/* Philox4x32-10 (cl/philox.h) against the known-answer vectors published
 * with Random123 (kat_vectors: counter, key, expected output), and the
 * helpers that turn its words into parameters. */
#include "philox.h"
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

int main(void) {
  Suite *s = suite_create("philox");
  TCase *tc = tcase_create("philox");
  tcase_add_test(tc, known_answers);
  tcase_add_test(tc, words_and_helpers);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
