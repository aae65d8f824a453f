/* Middlebury calib.txt files as a stereo batch reads them. */
#include "fuzz_common.h"
#include "io/disparity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(data, size, ".txt");
  tsr__calib c;
  if (tsr__calib_read(fuzz_ctx(), path, &c) == TSR_OK && (c.ndisp < 1 || (c.has_size && (c.width < 1 || c.height < 1))))
    abort(); /* accepted values are what the job relies on */
  return 0;
}
