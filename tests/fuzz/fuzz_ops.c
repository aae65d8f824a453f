/* tessera augment's --ops text: what the parser accepts must plan and run
 * (its canonical form parses back to itself; a plan's sizes are sane). */
#include "fuzz_common.h"
#include "ops/augment_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  tsr__aug_ops ops;
  if (tsr__aug_parse(fuzz_ctx(), text, &ops) == TSR_OK) {
    char c1[8192], c2[8192];
    tsr__aug_canonical(&ops, c1, sizeof c1);
    tsr__aug_ops again;
    if (tsr__aug_parse(fuzz_ctx(), c1, &again) != TSR_OK) abort();
    tsr__aug_canonical(&again, c2, sizeof c2);
    if (strcmp(c1, c2)) abort();
    tsr__aug_plan plan;
    tsr__aug_plan_item(&ops, 1, 2, 3, 37, 23, &plan);
    if (plan.out_w < 1 || plan.out_h < 1) abort();
    tsr__aug_exec e;
    tsr__aug_exec_make(&ops, &plan, 37, 23, 3, 1, 0, 0, &e);
    /* run it when the output is small */
    if ((uint64_t)e.out_w * (uint64_t)e.out_h <= 256 * 256) {
      uint8_t src[37 * 23 * 3], *dst = malloc((size_t)e.out_w * e.out_h * 3);
      for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 37);
      tsr__aug_scratch wk = {0};
      tsr__aug_run_cpu(&e, src, dst, &wk);
      free(wk.buf);
      free(dst);
    }
  }
  free(text);
  return 0;
}
