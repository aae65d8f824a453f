/* The codecs (src/io/jpeg.c, png.c, pnm.c), private to the library: the
 * layers above read and write images through them or through the public
 * tsr_image_* calls. */
#ifndef TSR_IO_CODEC_H
#define TSR_IO_CODEC_H

#include <stdio.h>

#include "core/internal.h"

/* Decoders check dimensions before allocating. */
tsr_status tsr__jpeg_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                            int flags, tsr_image **img);
/* Size and channels (1 or 3) from the header alone. */
tsr_status tsr__jpeg_info(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int *w, int *h,
                          int *channels);
/* Rows [row0, row0 + rows) of the image decoded at scale 1/denom (1, 2, 4
 * or 8; the scaled image is ceil(w / denom) x ceil(h / denom)). On entry
 * *img is NULL or an image to reuse: taken when its shape matches (it is
 * then the result, or freed on failure), left alone otherwise. */
tsr_status tsr__jpeg_decode_band(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int denom,
                                 int row0, int rows, tsr_image **img);
/* Rows [y0, y0 + h) of columns from x0, w wide, at scale 1/denom: the
 * columns are widened to whole iMCUs (libjpeg's jpeg_crop_scanline), so the
 * image may start left of x0 (*ox0) and be wider than w. The pixels are
 * those of a full decode at that scale (tested). */
tsr_status tsr__jpeg_decode_region(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int denom,
                                   int x0, int y0, int w, int h, tsr_image **img, int *ox0);
tsr_status tsr__jpeg_encode(tsr_context *ctx, const tsr_image *img, const char *name,
                            const tsr_write_options *opts, FILE *fp);
tsr_status tsr__png_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                           tsr_image **img);
/* level: zlib's 1..9; anything else: 3. */
tsr_status tsr__png_encode(tsr_context *ctx, const tsr_image *img, const char *name, int level, FILE *fp);
tsr_status tsr__pnm_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                           tsr_image **img, size_t *consumed);
/* A stream frame's header and sample bytes once its header is complete;
 * TSR_E_EMPTY (no message set) while the header is still incomplete. */
tsr_status tsr__pnm_frame_size(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, size_t *header,
                               size_t *data);
tsr_status tsr__pnm_encode(tsr_context *ctx, const tsr_image *img, const char *name, FILE *fp);
/* Checks width/height/bytes against the limits; names the file on failure. */
tsr_status tsr__check_dims(tsr_context *ctx, const char *name, uint64_t w, uint64_t h, int channels,
                           int depth);

#endif
