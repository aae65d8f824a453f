/* Kernel sources and shared headers from cl/, embedded at build time by
 * cmake/EmbedKernels.cmake. The table ends with a {NULL, NULL, 0} entry. */
#ifndef TSR_EMBEDDED_H
#define TSR_EMBEDDED_H
#include <stddef.h>

typedef struct {
  const char *name; /* file name, e.g. "warp.cl" */
  const char *text; /* NUL-terminated */
  size_t size;      /* bytes, without the NUL */
} tsr__embedded_source;

extern const tsr__embedded_source tsr__embedded_sources[];

#endif
