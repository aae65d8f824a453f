/* Middlebury's calib.txt (src/io/disparity.c): key=value lines, of
 * which tessera reads the size, ndisp (the search range) and vmin/vmax
 * (the picture's colours). */
#ifndef TSR_IO_DISPARITY_H
#define TSR_IO_DISPARITY_H

#include "core/internal.h"

typedef struct {
  int ndisp, width, height, has_size; /* has_size: both width= and height= */
  double vmin, vmax;
  int has_v; /* both, and vmax > vmin */
} tsr__calib;

/* ndisp must be there and a positive integer (a line number and the key
 * name the problem otherwise), width and height positive integers when
 * present, vmin and vmax numbers; other keys are ignored. */
tsr_status tsr__calib_read(tsr_context *ctx, const char *path, tsr__calib *c);

#endif
