/* PNG: every bit depth and colour type libpng accepts, through tessera's
 * checks. */
#include "fuzz_common.h"
#include "io/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tsr_image *img = NULL;
  if (!tsr__png_decode(fuzz_ctx(), data, size, "fuzz.png", &img)) tsr_image_free(img);
  return 0;
}
