/* The memory planner: budgets from device figures, batches from declared
 * needs, on devices shaped like NVIDIA, AMD and PoCL ones and tiny ones. */
#include <string.h>

#include "testutil.h"

#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

static tsr_device_info dev(uint64_t global, uint64_t max_alloc, uint64_t free_mem) {
  tsr_device_info d;
  memset(&d, 0, sizeof d);
  d.backend = TSR_BACKEND_OPENCL;
  d.global_mem = global;
  d.max_alloc = max_alloc;
  d.free_mem = free_mem;
  return d;
}

/* The 8K RGB8 frame -> 8 x 1920x1080 reference job, declared through the
 * warp's own need function. */
static tsr_mem_need reference(void) {
  tsr_warp_view v[8];
  double a[6] = {1, 0, 0, 0, 1, 0};
  for (int i = 0; i < 8; i++) tsr_view_affine(&v[i], 1920, 1080, a);
  return tsr_warp_mem_need(7680, 3840, 3, 8, v, 8);
}

START_TEST(budget_rule) {
  tsr_device_info nv = dev(24 * GiB, 6 * GiB, 0);
  ck_assert_uint_eq(tsr_device_budget(&nv, 0), (uint64_t)(24 * GiB * 0.8)); /* fraction binds */
  tsr_device_info small = dev(2 * GiB, GiB / 2, 0);
  ck_assert_uint_eq(tsr_device_budget(&small, 0), 2 * GiB - 512 * MiB); /* headroom binds */
  tsr_device_info tiny = dev(256 * MiB, 64 * MiB, 0);
  ck_assert_uint_eq(tsr_device_budget(&tiny, 0), (uint64_t)(256 * MiB * 0.8)); /* smaller than headroom */
  tsr_device_info amd = dev(16 * GiB, 13 * GiB, 10 * GiB);
  ck_assert_uint_eq(tsr_device_budget(&amd, 0), 10 * GiB); /* driver's free memory binds */
  ck_assert_uint_eq(tsr_device_budget(&amd, 3 * GiB), 3 * GiB); /* explicit override */
}
END_TEST

START_TEST(reference_need_is_declared) {
  tsr_mem_need n = reference();
  /* Source and views in each of the two buffer sets of a device stream,
   * each with its pinned staging twin: 8 buffers, all charged. */
  ck_assert_int_eq(n.nbuffers, 8);
  for (int i = 0; i < 8; i += 2) {
    ck_assert_uint_eq(n.item_bytes[i], 7680ull * 3840 * 3);
    ck_assert_uint_eq(n.item_bytes[i + 1], 8ull * 1920 * 1080 * 3);
  }
  ck_assert_uint_gt(n.fixed_bytes, 0);
}
END_TEST

static int expected_batch(uint64_t budget, uint64_t max_alloc, int max_items) {
  uint64_t in = 7680ull * 3840 * 3, out = 8ull * 1920 * 1080 * 3;
  tsr_mem_need n = reference();
  uint64_t b = (budget - n.fixed_bytes) / (4 * (in + out));
  if (max_alloc / in < b) b = max_alloc / in;
  if (max_alloc / out < b) b = max_alloc / out;
  return b > (uint64_t)max_items ? max_items : (int)b;
}

START_TEST(nvidia_like_max_alloc_quarter) {
  /* NVIDIA reports max alloc = global / 4: the source buffer binds. */
  tsr_device_info d = dev(24 * GiB, 6 * GiB, 0);
  tsr_mem_need n = reference();
  tsr_plan p;
  ck_assert_int_eq(tsr_plan_batch(&n, tsr_device_budget(&d, 0), d.max_alloc, 1000, &p), TSR_OK);
  ck_assert_int_eq(p.batch, expected_batch(tsr_device_budget(&d, 0), d.max_alloc, 1000));
  ck_assert_int_eq(p.batch, 37); /* 19.2 GiB / (4 x 138 MB) */
  ck_assert_uint_le(p.largest_buffer, d.max_alloc);
  ck_assert_uint_le(p.bytes, tsr_device_budget(&d, 0));
}
END_TEST

START_TEST(amd_like_free_memory) {
  tsr_device_info d = dev(16 * GiB, 13 * GiB, 4 * GiB);
  tsr_mem_need n = reference();
  tsr_plan p;
  uint64_t b = tsr_device_budget(&d, 0);
  ck_assert_int_eq(tsr_plan_batch(&n, b, d.max_alloc, 1000, &p), TSR_OK);
  ck_assert_int_eq(p.batch, expected_batch(b, d.max_alloc, 1000));
  ck_assert_int_eq(p.batch, 7); /* 4 GiB free / (4 x 138 MB) per frame */
}
END_TEST

START_TEST(pocl_like) {
  tsr_device_info d = dev(3796 * MiB, GiB, 0);
  tsr_mem_need n = reference();
  tsr_plan p;
  ck_assert_int_eq(tsr_plan_batch(&n, tsr_device_budget(&d, 0), d.max_alloc, 1000, &p), TSR_OK);
  ck_assert_int_eq(p.batch, 5); /* 3.2 GiB budget / (4 x 138 MB) */
}
END_TEST

START_TEST(tiny_budgets) {
  tsr_mem_need n = reference();
  tsr_plan p;
  ck_assert_int_eq(tsr_plan_batch(&n, 1200 * MiB, 0, 1000, &p), TSR_OK);
  ck_assert_int_eq(p.batch, 2);
  ck_assert_int_eq(tsr_plan_batch(&n, 1200 * MiB, 100 * MiB, 1000, &p), TSR_OK);
  ck_assert_int_eq(p.batch, 1);
  /* One item larger than the budget, or than one allocation: a clear error. */
  ck_assert_int_eq(tsr_plan_batch(&n, 100 * MiB, 0, 1000, &p), TSR_E_BUDGET);
  ck_assert_int_eq(tsr_plan_batch(&n, 4 * GiB, 64 * MiB, 1000, &p), TSR_E_BUDGET);
  ck_assert_int_eq(p.batch, 0);
  tsr_mem_need fixed = {.fixed_bytes = 2 * GiB, .nbuffers = 1, .item_bytes = {MiB}};
  ck_assert_int_eq(tsr_plan_batch(&fixed, GiB, 0, 10, &p), TSR_E_BUDGET);
}
END_TEST

START_TEST(max_items_caps_batch) {
  tsr_mem_need n = reference();
  tsr_plan p;
  ck_assert_int_eq(tsr_plan_batch(&n, 64 * GiB, 0, 5, &p), TSR_OK);
  ck_assert_int_eq(p.batch, 5);
  ck_assert_int_eq(tsr_plan_batch(&n, 64 * GiB, 0, 0, &p), TSR_E_INVALID);
}
END_TEST

START_TEST(parse_sizes) {
  uint64_t b;
  ck_assert_int_eq(tsr_parse_bytes("1024", &b), TSR_OK);
  ck_assert_uint_eq(b, 1024);
  ck_assert_int_eq(tsr_parse_bytes("512M", &b), TSR_OK);
  ck_assert_uint_eq(b, 512 * MiB);
  ck_assert_int_eq(tsr_parse_bytes("2G", &b), TSR_OK);
  ck_assert_uint_eq(b, 2 * GiB);
  ck_assert_int_eq(tsr_parse_bytes("1.5GiB", &b), TSR_OK);
  ck_assert_uint_eq(b, 3 * GiB / 2);
  ck_assert_int_eq(tsr_parse_bytes("64k", &b), TSR_OK);
  ck_assert_uint_eq(b, 64 * 1024);
  ck_assert_int_eq(tsr_parse_bytes("abc", &b), TSR_E_INVALID);
  ck_assert_int_eq(tsr_parse_bytes("-1G", &b), TSR_E_INVALID);
  ck_assert_int_eq(tsr_parse_bytes("5X", &b), TSR_E_INVALID);
  ck_assert_int_eq(tsr_parse_bytes("", &b), TSR_E_INVALID);
}
END_TEST

int main(void) {
  Suite *s = suite_create("planner");
  TCase *tc = tcase_create("planner");
  tcase_add_test(tc, budget_rule);
  tcase_add_test(tc, reference_need_is_declared);
  tcase_add_test(tc, nvidia_like_max_alloc_quarter);
  tcase_add_test(tc, amd_like_free_memory);
  tcase_add_test(tc, pocl_like);
  tcase_add_test(tc, tiny_budgets);
  tcase_add_test(tc, max_items_caps_batch);
  tcase_add_test(tc, parse_sizes);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
