/* An output folder's manifest.jsonl as a resumed run reads it (torn last
 * line cut, (frame, view) pairs remembered), then one line appended. */
#include "fuzz_common.h"
#include "io/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, ".jsonl");
  tsr__manifest m;
  if (!tsr__manifest_open(fuzz_ctx(), path, &m)) {
    tsr__manifest_add(fuzz_ctx(), &m, "frame", "view", "{\"frame\":\"frame\",\"view\":\"view\"}\n");
    tsr__manifest_close(&m);
  }
  return 0;
}
