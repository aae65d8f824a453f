/* tessera images: in-memory pixels and the codecs that read and write them. */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H

#include "tessera/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- images --------------------------------------------------------------- */
typedef struct {
  int width, height;
  int channels; /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
  int depth;    /* bits per sample: 8 or 16 (16-bit samples in host order) */
  size_t stride;  /* bytes per row */
  uint8_t *data;
  /* JPEG APPn segments (EXIF, ICC), each with its marker and length, kept
   * when read with TSR_READ_KEEP_METADATA and written back by the JPEG
   * encoder. */
  uint8_t *meta;
  size_t meta_size;
} tsr_image;

TSR_API tsr_status tsr_image_create(int width, int height, int channels, int depth, tsr_image **img);
TSR_API void tsr_image_free(tsr_image *img);
static inline size_t tsr_image_bytes_per_pixel(const tsr_image *img) {
  return (size_t)img->channels * (size_t)(img->depth / 8);
}

typedef enum { TSR_FMT_AUTO = 0, TSR_FMT_JPEG, TSR_FMT_PNG, TSR_FMT_PNM } tsr_format;

#define TSR_READ_KEEP_METADATA 1

typedef struct {
  size_t struct_size; /* sizeof(tsr_write_options): TSR_WRITE_OPTIONS_INIT */
  int quality;     /* JPEG 1..100, 0: 95 */
  int subsampling; /* JPEG chroma: 444, 422 or 420; 0: 420 */
  int keep_metadata; /* write img->meta segments into JPEG output */
  int png_level;   /* PNG: zlib level 1..9; 0: 3 */
} tsr_write_options;
#define TSR_WRITE_OPTIONS_INIT {.struct_size = sizeof(tsr_write_options)}

/* Reads a JPEG, PNG or PPM/PGM/PAM file; the format comes from the content,
 * and a name whose extension says another format is an error. */
TSR_API tsr_status tsr_image_read(tsr_context *ctx, const char *path, int flags, tsr_image **img);
/* Decodes an in-memory file; name is used in messages only. */
TSR_API tsr_status tsr_image_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name,
                            int flags, tsr_image **img);
/* Writes by extension (.jpg/.jpeg, .png, .ppm/.pgm/.pam/.pnm), to a temporary
 * file in the same folder renamed into place: never a partial file. opts
 * may be NULL (defaults); a struct_size of 0 is refused. */
TSR_API tsr_status tsr_image_write(tsr_context *ctx, const tsr_image *img, const char *path,
                           const tsr_write_options *opts);
TSR_API tsr_format tsr_format_from_name(const char *path);

#ifdef __cplusplus
}
#endif
#endif
