/* Rigs: the built-ins as the split issue defines them, and the JSON rig
 * format with its errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "testutil.h"

static tsr_context *ctx;
static void setup(void) { ctx = tt_context("cpu"); }
static void teardown(void) { tsr_context_destroy(ctx); }

static tsr_rig *get(const char *name) {
  tsr_rig *r = NULL;
  ck_assert_msg(tsr_rig_get(ctx, name, &r) == TSR_OK, "%s", tsr_context_error(ctx));
  return r;
}

START_TEST(builtins) {
  int n;
  const char *const *names = tsr_rig_builtin_names(&n);
  ck_assert_int_eq(n, 5);
  tsr_rig *r = get("ring8");
  ck_assert_int_eq(r->nviews, 8);
  for (int i = 0; i < 8; i++) {
    ck_assert_double_eq(r->views[i].yaw, 45.0 * i);
    ck_assert_double_eq(r->views[i].pitch, 0);
    ck_assert_double_eq(r->views[i].hfov, 90);
    ck_assert_int_eq(r->views[i].width, 1920);
    ck_assert_int_eq(r->views[i].height, 1080);
  }
  tsr_rig_free(r);
  r = get("cube");
  ck_assert_int_eq(r->nviews, 6);
  for (int i = 0; i < 6; i++) ck_assert_int_eq(r->views[i].width, r->views[i].height);
  ck_assert_str_eq(r->views[4].name, "up");
  ck_assert_double_eq(r->views[4].pitch, 90);
  tsr_rig_free(r);
  r = get("dome16");
  int at0 = 0, up = 0, down = 0;
  for (int i = 0; i < r->nviews; i++) {
    at0 += r->views[i].pitch == 0;
    up += r->views[i].pitch == 45;
    down += r->views[i].pitch == -45;
  }
  ck_assert_int_eq(at0, 8);
  ck_assert_int_eq(up, 4);
  ck_assert_int_eq(down, 4);
  tsr_rig_free(r);
  r = get("colmap12");
  ck_assert_int_eq(r->nviews, 12);
  for (int i = 0; i < 12; i++) {
    ck_assert(fmod(r->views[i].yaw, 90) == 0);
    ck_assert(r->views[i].pitch == -35 || r->views[i].pitch == 0 || r->views[i].pitch == 35);
  }
  tsr_rig_free(r);
  /* Every built-in has unique view names, usable as folder names. */
  for (int k = 0; k < n; k++) {
    r = get(names[k]);
    for (int i = 0; i < r->nviews; i++) {
      ck_assert(strlen(r->views[i].name) > 0 && !strchr(r->views[i].name, '/'));
      for (int j = 0; j < i; j++) ck_assert_str_ne(r->views[i].name, r->views[j].name);
    }
    tsr_rig_free(r);
  }
}
END_TEST

START_TEST(json_file) {
  char *dir = tt_tempdir(), p[4200];
  snprintf(p, sizeof p, "%s/rig.json", dir);
  const char *json = "{\"views\": [{\"name\": \"front\", \"yaw\": 0, \"pitch\": 0, \"roll\": 0, \"hfov\": 90,"
                     " \"width\": 1920, \"height\": 1080},"
                     " {\"name\": \"up\", \"yaw\": 10, \"pitch\": 60, \"hfov\": 90, \"width\": 1000, \"vfov\": 90},"
                     " {\"yaw\": -30, \"width\": 640, \"height\": 480}]}";
  tt_write_file(p, json, strlen(json));
  tsr_rig *r = get(p);
  ck_assert_int_eq(r->nviews, 3);
  ck_assert_str_eq(r->views[0].name, "front");
  ck_assert_int_eq(r->views[1].height, 1000); /* vfov = hfov gives a square view */
  ck_assert_double_eq(r->views[1].pitch, 60);
  ck_assert_str_eq(r->views[2].name, "view02"); /* default name */
  ck_assert_double_eq(r->views[2].hfov, 90);    /* default hfov */
  tsr_rig_free(r);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

static void expect_error(const char *json, const char *needle) {
  tsr_rig *r = (tsr_rig *)0x1;
  ck_assert_int_eq(tsr_rig_parse(ctx, json, "t.json", &r), TSR_E_INVALID);
  ck_assert_ptr_null(r);
  ck_assert_msg(strstr(tsr_context_error(ctx), needle), "'%s' lacks '%s'", tsr_context_error(ctx), needle);
}

START_TEST(json_errors) {
  expect_error("{\"views\": [{\"width\": 10, \"height\": 10, \"fov\": 90}]}", "'fov'");
  expect_error("{\"views\": [{\"width\": 10, \"height\": 10, \"hfov\": 190}]}", "hfov");
  expect_error("{\"views\": [{\"width\": \"wide\", \"height\": 10}]}", "width");
  expect_error("{\"views\": [{\"width\": 10, \"height\": 10, \"pitch\": 91}]}", "pitch");
  expect_error("{\"views\": [{\"height\": 10}]}", "width");
  expect_error("{\"views\": [{\"width\": 10}]}", "'height' and 'vfov'");
  expect_error("{\"views\": [{\"width\": 10, \"height\": 10, \"vfov\": 50}]}", "'height' and 'vfov'");
  expect_error("{\"views\": [{\"name\": \"../x\", \"width\": 10, \"height\": 10}]}", "name");
  expect_error("{\"views\": [{\"name\": \"a\", \"width\": 10, \"height\": 10}, {\"name\": \"a\", \"width\": 10, "
               "\"height\": 10}]}", "twice");
  expect_error("{\"views\": []}", "non-empty");
  expect_error("{\"views\": [], \"extra\": 1}", "'extra'");
  expect_error("{\"views\": [", "not valid JSON: it ends early (line 1, column 12)");
  expect_error("{\n  \"views\": [\n    {\"name\": x}\n  ]\n}", "not valid JSON at line 3, column");
  tsr_rig *r;
  ck_assert_int_eq(tsr_rig_get(ctx, "ring9", &r), TSR_E_INVALID);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "ring9"));
  ck_assert_int_eq(tsr_rig_get(ctx, "/no/such/rig.json", &r), TSR_E_IO);
}
END_TEST

/* 100,000 views parse in linear time (quadratic parsing took 109 s here;
 * the case's 60 s timeout fails it), and a duplicate among them is found. */
START_TEST(huge_rigs_parse_linearly) {
  const int n = 100000;
  size_t cap = (size_t)n * 80 + 64;
  char *json = malloc(cap), *p = json;
  p += sprintf(p, "{\"views\": [");
  for (int i = 0; i < n; i++)
    p += sprintf(p, "%s{\"name\": \"v%d\", \"yaw\": %d, \"hfov\": 60, \"width\": 8, \"height\": 8}", i ? "," : "",
                 i, i % 360);
  sprintf(p, "]}");
  tsr_context *ctx = tt_context("cpu");
  tsr_rig *r = NULL;
  double t0 = tsr__now();
  ck_assert_int_eq(tsr_rig_parse(ctx, json, "huge", &r), TSR_OK);
  printf("rig: %d views parsed in %.2f s\n", n, tsr__now() - t0);
  ck_assert_int_eq(r->nviews, n);
  tsr_rig_free(r);
  char *dup = strstr(json, "\"v77777\"");
  memcpy(dup, "\"v12345\"", 8);
  ck_assert_int_eq(tsr_rig_parse(ctx, json, "huge", &r), TSR_E_INVALID);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "views[77777].name 'v12345' is used twice"));
  tsr_context_destroy(ctx);
  free(json);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rig");
  TCase *tc = tcase_create("rig");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, builtins);
  tcase_add_test(tc, json_file);
  tcase_add_test(tc, json_errors);
  tcase_add_test(tc, huge_rigs_parse_linearly);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
