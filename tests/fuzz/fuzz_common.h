/* What the fuzz targets share: a quiet CPU context made once, and a
 * scratch file holding the input for the parsers that read files. */
#ifndef TSR_FUZZ_COMMON_H
#define TSR_FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/tessera.h"

static inline tsr_context *fuzz_ctx(void) {
  static tsr_context *ctx;
  if (!ctx) {
    tsr_context_options o;
    tsr_context_options_init(&o);
    o.device = "cpu";
    o.threads = 1;
    o.quiet = 1;
    if (tsr_context_create(&o, &ctx)) abort();
  }
  return ctx;
}

/* data written to a file of this process's own (overwritten per input). */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix) {
  static char path[256];
  snprintf(path, sizeof path, "/tmp/tsr-fuzz-%d%s", (int)getpid(), suffix);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  return path;
}
#endif
