/* Disparity files as stereo-eval reads them: a PFM (either byte order,
 * rows bottom to top), then written back and read again. */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, ".pfm");
  float *f = NULL;
  int w, h;
  if (tsr_pfm_read(fuzz_ctx(), path, &f, &w, &h) == TSR_OK) {
    /* every value is readable; a small one goes back out through the writer */
    double s = 0;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) s += isfinite(f[i]) ? 1 : 0;
    if (s < 0) abort();
    if ((size_t)w * (size_t)h <= 4096) {
      int16_t *d = malloc((size_t)w * (size_t)h * 2);
      for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        d[i] = isfinite(f[i]) && fabsf(f[i]) < 2000 ? (int16_t)(f[i] * 16) : TSR_STEREO_INVALID;
      char out[300];
      snprintf(out, sizeof out, "%s.out.pfm", path);
      if (tsr_disp_write_pfm(fuzz_ctx(), out, d, w, h)) abort();
      remove(out);
      free(d);
    }
    free(f);
  }
  return 0;
}
