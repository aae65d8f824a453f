/* Host images. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

tsr_status tsr_image_create(int width, int height, int channels, int depth, tsr_image **out) {
  if (!out) return TSR_E_INVALID;
  *out = NULL;
  if (width < 1 || height < 1 || channels < 1 || channels > 4 || (depth != 8 && depth != 16))
    return TSR_E_INVALID;
  if (width > TSR_MAX_DIM || height > TSR_MAX_DIM) return TSR_E_TOO_LARGE;
  size_t stride = (size_t)width * (size_t)channels * (size_t)(depth / 8);
  uint64_t bytes = (uint64_t)stride * (uint64_t)height;
  if (bytes > TSR_MAX_IMAGE_BYTES) return TSR_E_TOO_LARGE;
  tsr_image *img = calloc(1, sizeof *img);
  if (!img) return TSR_E_NOMEM;
  img->data = malloc(bytes);
  if (!img->data) {
    free(img);
    return TSR_E_NOMEM;
  }
  img->width = width;
  img->height = height;
  img->channels = channels;
  img->depth = depth;
  img->stride = stride;
  *out = img;
  return TSR_OK;
}

void tsr_image_free(tsr_image *img) {
  if (!img) return;
  free(img->data);
  free(img->meta);
  free(img);
}
