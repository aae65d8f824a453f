/* Augment's CSV manifests: opening one (resume) and merging it. */
#include "fuzz_common.h"
#include "io/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, ".csv");
  tsr__manifest m;
  if (tsr__manifest_open_csv(fuzz_ctx(), path, "output,label,source,copy,fold,seed,params", &m) == TSR_OK)
    tsr__manifest_close(&m);
  const char *in[2] = {path, path};
  char out[300];
  snprintf(out, sizeof out, "%s.merged", path);
  tsr_manifest_merge(fuzz_ctx(), in, 2, out);
  unlink(out);
  return 0;
}
