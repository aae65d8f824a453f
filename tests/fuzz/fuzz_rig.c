/* Rig files (tessera split --rig FILE.json). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  tsr_rig *rig = NULL;
  if (!tsr_rig_parse(fuzz_ctx(), text, "fuzz.json", &rig)) tsr_rig_free(rig);
  free(text);
  return 0;
}
