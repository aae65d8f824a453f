/* PNM/PAM images, one after another as in a file of several frames. */
#include "fuzz_common.h"
#include "io/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t off = 0;
  for (int k = 0; k < 8 && off < size; k++) {
    tsr_image *img = NULL;
    size_t used = 0;
    if (tsr__pnm_decode(fuzz_ctx(), data + off, size - off, "fuzz.pnm", &img, &used)) break;
    tsr_image_free(img);
    if (!used) break;
    off += used;
  }
  return 0;
}
