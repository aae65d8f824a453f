/* The PPM/PAM stream reader (split's stdin), reading from a file
 * descriptor frame by frame until the end or an error. */
#include <fcntl.h>

#include "fuzz_common.h"
#include "pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, ".ppm");
  tsr__pnm_stream s = {0};
  s.fd = open(path, O_RDONLY);
  if (s.fd < 0) abort();
  for (int k = 0; k < 16; k++) {
    tsr_image *img = NULL;
    if (tsr__pnm_stream_next(fuzz_ctx(), &s, "stdin", &img, NULL, NULL) || !img) break;
    tsr_image_free(img);
  }
  close(s.fd);
  tsr__pnm_stream_free(&s);
  return 0;
}
