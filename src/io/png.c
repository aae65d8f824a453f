/* PNG through libpng: 8- and 16-bit gray, gray+alpha, RGB and RGBA.
 * Palette and low-bit-depth gray are expanded to 8 bits, tRNS to alpha. */
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "io/codec.h"

/* The largest ancillary chunk the decoder reads (ICC profiles, text). */
#define TSR_PNG_CHUNK_MAX (16u << 20)

typedef struct {
  const uint8_t *buf;
  size_t size, pos;
  char msg[256];
  tsr_image *img;
  png_bytep *rows;
} png_state;

static void on_error(png_structp png, png_const_charp msg) {
  png_state *s = png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg; /* benign (e.g. unknown chunk); errors still stop the read */
}

static void mem_read(png_structp png, png_bytep out, png_size_t n) {
  png_state *s = png_get_io_ptr(png);
  if (n > s->size - s->pos) png_error(png, "unexpected end of file");
  memcpy(out, s->buf + s->pos, n);
  s->pos += n;
}

static int host_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

tsr_status tsr__png_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, tsr_image **out) {
  png_state s = {.buf = buf, .size = size};
  png_state *sp = &s;
  volatile tsr_status st = TSR_OK;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, sp, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return tsr__fail(ctx, TSR_E_NOMEM, "%s: cannot start the PNG decoder", name);
  }
  if (setjmp(png_jmpbuf(png))) {
    if (!st) st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: corrupt or truncated PNG: %s", name, sp->msg);
    goto done;
  }
  png_set_read_fn(png, sp, mem_read);
  /* A chunk cannot make the decoder allocate more than this (a 41-byte file
   * whose sCAL chunk claims 2 GB made libpng allocate and zero 2 GB), and
   * the errors libpng calls benign are errors here, not dropped warnings. */
  png_set_chunk_malloc_max(png, TSR_PNG_CHUNK_MAX);
  png_set_benign_errors(png, 0);
  png_read_info(png, info);
  png_uint_32 w, h;
  int depth, ctype, interlace;
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16 && host_little_endian()) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int channels = png_get_channels(png, info);
  int odepth = png_get_bit_depth(png, info);
  if ((odepth != 8 && odepth != 16) || channels < 1 || channels > 4) {
    st = tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: PNG with %d-bit samples and %d channels is not supported", name,
                   odepth, channels);
    goto done;
  }
  if ((st = tsr__check_dims(ctx, name, w, h, channels, odepth))) goto done;
  if ((st = tsr_image_create((int)w, (int)h, channels, odepth, &sp->img))) {
    st = tsr__fail(ctx, st, "%s: cannot allocate %ux%u image", name, (unsigned)w, (unsigned)h);
    goto done;
  }
  sp->rows = malloc(sizeof(png_bytep) * h);
  if (!sp->rows) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "%s: out of memory", name);
    goto done;
  }
  for (png_uint_32 y = 0; y < h; y++) sp->rows[y] = sp->img->data + (size_t)y * sp->img->stride;
  png_read_image(png, sp->rows);
  png_read_end(png, NULL);
done:
  png_destroy_read_struct(&png, &info, NULL);
  free(sp->rows);
  if (st) tsr_image_free(sp->img);
  else *out = sp->img;
  return st;
}

tsr_status tsr__png_encode(tsr_context *ctx, const tsr_image *img, const char *name, int level, FILE *fp) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGBA};
  png_state s = {0};
  png_state *sp = &s;
  volatile tsr_status st = TSR_OK;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, sp, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    return tsr__fail(ctx, TSR_E_NOMEM, "%s: cannot start the PNG encoder", name);
  }
  if (setjmp(png_jmpbuf(png))) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: PNG write failed: %s", name, sp->msg);
    goto done;
  }
  png_init_io(png, fp);
  /* 3 by default: within a few % of level 6, much faster on big frames */
  png_set_compression_level(png, level >= 1 && level <= 9 ? level : 3);
  /* level 1 asks for speed: one filter (Sub, the cheapest that helps
   * photographs) instead of libpng's per-row search over all five, and
   * zlib's run-length strategy (OpenCV's PNG writer makes the same two
   * choices by default) */
  if (level == 1) {
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_set_compression_strategy(png, Z_RLE);
  }
  png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, img->depth, types[img->channels],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if (img->depth == 16 && host_little_endian()) png_set_swap(png);
  for (int y = 0; y < img->height; y++) png_write_row(png, img->data + (size_t)y * img->stride);
  png_write_end(png, NULL);
done:
  png_destroy_write_struct(&png, &info);
  return st;
}
