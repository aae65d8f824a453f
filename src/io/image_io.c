/* Image reading and writing: format detection by content, limits, and the
 * dispatch to the codecs in io_jpeg.c, io_png.c and io_pnm.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/codec.h"

static const char *fmt_name(tsr_format f) {
  return f == TSR_FMT_JPEG ? "JPEG" : f == TSR_FMT_PNG ? "PNG" : f == TSR_FMT_PNM ? "PNM" : "unknown";
}

tsr_format tsr_format_from_name(const char *path) {
  const char *dot = path ? strrchr(path, '.') : NULL;
  if (!dot || strchr(dot, '/')) return TSR_FMT_AUTO;
  dot++;
  if (!strcasecmp(dot, "jpg") || !strcasecmp(dot, "jpeg")) return TSR_FMT_JPEG;
  if (!strcasecmp(dot, "png")) return TSR_FMT_PNG;
  if (!strcasecmp(dot, "ppm") || !strcasecmp(dot, "pgm") || !strcasecmp(dot, "pam") || !strcasecmp(dot, "pnm"))
    return TSR_FMT_PNM;
  return TSR_FMT_AUTO;
}

static tsr_format sniff(const uint8_t *b, size_t n) {
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return TSR_FMT_JPEG;
  if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return TSR_FMT_PNG;
  if (n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6' || b[1] == '7')) return TSR_FMT_PNM;
  return TSR_FMT_AUTO;
}

tsr_status tsr__check_dims(tsr_context *ctx, const char *name, uint64_t w, uint64_t h, int channels, int depth) {
  if (w == 0 || h == 0) return tsr__fail(ctx, TSR_E_CORRUPT, "%s: zero image size %llux%llu", name,
                                         (unsigned long long)w, (unsigned long long)h);
  if (w > TSR_MAX_DIM || h > TSR_MAX_DIM)
    return tsr__fail(ctx, TSR_E_TOO_LARGE, "%s: %llux%llu exceeds the limit of %d pixels per side", name,
                     (unsigned long long)w, (unsigned long long)h, TSR_MAX_DIM);
  if (w * h * (uint64_t)channels * (uint64_t)(depth / 8) > TSR_MAX_IMAGE_BYTES)
    return tsr__fail(ctx, TSR_E_TOO_LARGE, "%s: %llux%llu would need more than 4 GiB", name,
                     (unsigned long long)w, (unsigned long long)h);
  return TSR_OK;
}

tsr_status tsr_image_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int flags,
                            tsr_image **img) {
  if (!img || (!buf && size)) return TSR_E_INVALID;
  *img = NULL;
  if (!name) name = "(memory)";
  if (size == 0) return tsr__fail(ctx, TSR_E_EMPTY, "%s: empty input", name);
  tsr_format f = sniff(buf, size);
  if (f == TSR_FMT_AUTO) return tsr__fail(ctx, TSR_E_FORMAT, "%s: not a JPEG, PNG or PPM/PGM/PAM file", name);
  tsr_format by_name = tsr_format_from_name(name);
  if (by_name != TSR_FMT_AUTO && by_name != f)
    return tsr__fail(ctx, TSR_E_FORMAT, "%s: content is %s but the name says %s", name, fmt_name(f),
                     fmt_name(by_name));
  size_t used;
  switch (f) {
  case TSR_FMT_JPEG: return tsr__jpeg_decode(ctx, buf, size, name, flags, img);
  case TSR_FMT_PNG: return tsr__png_decode(ctx, buf, size, name, img);
  default: return tsr__pnm_decode(ctx, buf, size, name, img, &used);
  }
}

tsr_status tsr_image_read(tsr_context *ctx, const char *path, int flags, tsr_image **img) {
  if (!path || !img) return TSR_E_INVALID;
  *img = NULL;
  uint8_t *buf;
  size_t size;
  tsr_status st = tsr__read_file(ctx, path, &buf, &size);
  if (st) return st;
  st = tsr_image_decode(ctx, buf, size, path, flags, img);
  free(buf);
  return st;
}

tsr_status tsr_image_write(tsr_context *ctx, const tsr_image *img, const char *path,
                           const tsr_write_options *opts) {
  if (!img || !path || !img->data) return TSR_E_INVALID;
  tsr_format f = tsr_format_from_name(path);
  if (f == TSR_FMT_AUTO)
    return tsr__fail(ctx, TSR_E_FORMAT, "%s: unknown output extension (use .jpg, .png, .ppm, .pgm or .pam)", path);
  tsr_write_options o = TSR_WRITE_OPTIONS_INIT;
  if (opts && !opts->struct_size)
    return tsr__fail(ctx, TSR_E_INVALID, "%s: tsr_write_options.struct_size is 0 (use TSR_WRITE_OPTIONS_INIT)", path);
  if (opts) memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
  tsr__atomic_file af;
  tsr_status st = tsr__atomic_open(ctx, path, &af);
  if (st) return st;
  switch (f) {
  case TSR_FMT_JPEG: st = tsr__jpeg_encode(ctx, img, path, &o, af.fp); break;
  case TSR_FMT_PNG: st = tsr__png_encode(ctx, img, path, o.png_level, af.fp); break;
  default: st = tsr__pnm_encode(ctx, img, path, af.fp); break;
  }
  if (st) {
    tsr__atomic_abort(&af);
    return st;
  }
  return tsr__atomic_commit(ctx, &af);
}
