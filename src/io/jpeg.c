/* JPEG through the TurboJPEG API. EXIF (APP1) and ICC (APP2) segments can be
 * carried from a decoded image to an encoded one. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "io/codec.h"

/* Copies the APP1/APP2 segments that precede the scan. Walking the segment
 * headers needs no codec: each is FF xx followed by a big-endian length. */
static void collect_meta(const uint8_t *b, size_t n, tsr_image *img) {
  size_t pos = 2, total = 0;
  uint8_t *out = NULL;
  while (pos + 4 <= n && b[pos] == 0xFF) {
    uint8_t marker = b[pos + 1];
    if (marker == 0xDA || marker == 0xD9) break;
    size_t len = ((size_t)b[pos + 2] << 8) | b[pos + 3];
    if (len < 2 || pos + 2 + len > n) break;
    if (marker == 0xE1 || marker == 0xE2) {
      uint8_t *grown = realloc(out, total + len + 2);
      if (!grown) break;
      out = grown;
      memcpy(out + total, b + pos, len + 2);
      total += len + 2;
    }
    pos += 2 + len;
  }
  img->meta = out;
  img->meta_size = out ? total : 0;
}

/* Whether the frame is progressive (SOF2, 6, 10, 14): its decoder buffers
 * the whole image's coefficients, which TurboJPEG's whole-image call does
 * not let us cap. Walks the marker segments up to the frame header. */
static int progressive(const uint8_t *b, size_t n) {
  size_t i = 2;
  while (i + 4 <= n && b[i] == 0xFF) {
    uint8_t m = b[i + 1];
    if (m == 0xFF) { /* fill byte */
      i++;
      continue;
    }
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) return m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE;
    i += 2 + (((size_t)b[i + 2] << 8) | b[i + 3]);
  }
  return 0;
}

tsr_status tsr__jpeg_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int flags,
                            tsr_image **out) {
  if (progressive(buf, size)) {
    /* Through the libjpeg API, whose decoder memory is capped (a 200-byte
     * progressive file can claim 8 GB of coefficient buffers). */
    int w, h, ch;
    tsr_status st = tsr__jpeg_info(ctx, buf, size, name, &w, &h, &ch);
    tsr_image *img = NULL;
    if (!st) st = tsr__jpeg_decode_band(ctx, buf, size, name, 1, 0, h, &img);
    if (st) return st;
    if (flags & TSR_READ_KEEP_METADATA) collect_meta(buf, size, img);
    *out = img;
    return TSR_OK;
  }
  tjhandle tj = tjInitDecompress();
  if (!tj) return tsr__fail(ctx, TSR_E_NOMEM, "%s: cannot start the JPEG decoder", name);
  int w = 0, h = 0, subsamp = 0, cs = 0;
  tsr_image *img = NULL;
  tsr_status st = TSR_OK;
  if (size > (size_t)0xFFFFFFFFu) {
    st = tsr__fail(ctx, TSR_E_TOO_LARGE, "%s: file larger than 4 GiB", name);
    goto done;
  }
  /* A header cut short can "succeed" without a frame header: check the size. */
  if (tjDecompressHeader3(tj, buf, (unsigned long)size, &w, &h, &subsamp, &cs) || w <= 0 || h <= 0) {
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: bad or truncated JPEG header: %s", name,
                   w <= 0 || h <= 0 ? "no frame header" : tjGetErrorStr2(tj));
    goto done;
  }
  if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
    st = tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: CMYK JPEG is not supported", name);
    goto done;
  }
  int channels = cs == TJCS_GRAY ? 1 : 3;
  if ((st = tsr__check_dims(ctx, name, (uint64_t)w, (uint64_t)h, channels, 8))) goto done;
  if ((st = tsr_image_create(w, h, channels, 8, &img))) {
    st = tsr__fail(ctx, st, "%s: cannot allocate %dx%d image", name, w, h);
    goto done;
  }
  /* Stop on warnings: a truncated file otherwise "decodes" with grey rows. */
  if (tjDecompress2(tj, buf, (unsigned long)size, img->data, w, (int)img->stride, h,
                    channels == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING | TJFLAG_ACCURATEDCT)) {
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: corrupt or truncated JPEG: %s", name, tjGetErrorStr2(tj));
    goto done;
  }
  if (flags & TSR_READ_KEEP_METADATA) collect_meta(buf, size, img);
done:
  tjDestroy(tj);
  if (st) tsr_image_free(img);
  else *out = img;
  return st;
}

tsr_status tsr__jpeg_encode(tsr_context *ctx, const tsr_image *img, const char *name,
                            const tsr_write_options *o, FILE *fp) {
  if (img->depth != 8)
    return tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: JPEG holds 8-bit samples only (image is %d-bit); use .png",
                     name, img->depth);
  if (img->channels != 1 && img->channels != 3)
    return tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: JPEG cannot store an alpha channel; use .png", name);
  int q = o->quality ? o->quality : 95;
  if (q < 1 || q > 100) return tsr__fail(ctx, TSR_E_INVALID, "%s: JPEG quality %d not in 1..100", name, q);
  int ss = img->channels == 1 ? TJSAMP_GRAY
           : o->subsampling == 444 ? TJSAMP_444
           : o->subsampling == 422 ? TJSAMP_422
           : (o->subsampling == 420 || o->subsampling == 0) ? TJSAMP_420 : -1;
  if (ss < 0) return tsr__fail(ctx, TSR_E_INVALID, "%s: subsampling %d not 444, 422 or 420", name, o->subsampling);
  tjhandle tj = tjInitCompress();
  if (!tj) return tsr__fail(ctx, TSR_E_NOMEM, "%s: cannot start the JPEG encoder", name);
  unsigned char *jpg = NULL;
  unsigned long len = 0;
  tsr_status st = TSR_OK;
  if (tjCompress2(tj, img->data, img->width, (int)img->stride, img->height,
                  img->channels == 1 ? TJPF_GRAY : TJPF_RGB, &jpg, &len, ss, q, TJFLAG_ACCURATEDCT)) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: JPEG encode failed: %s", name, tjGetErrorStr2(tj));
  } else {
    /* SOI, then the JFIF APP0 if any, then the carried segments. */
    size_t head = 2;
    if (len > 6 && jpg[2] == 0xFF && jpg[3] == 0xE0) head = 4 + (((size_t)jpg[4] << 8) | jpg[5]);
    int ok = fwrite(jpg, 1, head, fp) == head;
    if (ok && o->keep_metadata && img->meta_size) ok = fwrite(img->meta, 1, img->meta_size, fp) == img->meta_size;
    if (ok) ok = fwrite(jpg + head, 1, len - head, fp) == len - head;
    if (!ok) st = tsr__fail(ctx, TSR_E_IO, "%s: write failed", name);
  }
  tjFree(jpg);
  tjDestroy(tj);
  return st;
}

/* ---- band decode through the libjpeg API --------------------------------
 * TurboJPEG decodes whole images; a job that warps often needs only the rows its views
 * sample, at a DCT scale when they sample sparsely. libjpeg's
 * jpeg_skip_scanlines passes over the rows above the band without colour
 * conversion or upsampling, and decoding stops after the band. The rows it
 * returns are the rows a full decode at that scale returns. */
#include <jpeglib.h>
#include <setjmp.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} band_err;

static void band_error_exit(j_common_ptr c) {
  band_err *e = (band_err *)c->err;
  c->err->format_message(c, e->msg);
  longjmp(e->jump, 1);
}

/* Warnings (corrupt data, premature end) end the decode, as TJFLAG_STOPONWARNING does. */
static void band_emit(j_common_ptr c, int level) {
  if (level < 0) band_error_exit(c);
}

tsr_status tsr__jpeg_info(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int *w, int *h,
                          int *channels) {
  tjhandle tj = tjInitDecompress();
  if (!tj) return tsr__fail(ctx, TSR_E_NOMEM, "%s: cannot start the JPEG decoder", name);
  int subsamp = 0, cs = 0;
  *w = *h = 0;
  tsr_status st = TSR_OK;
  if (size > (size_t)0xFFFFFFFFu || tjDecompressHeader3(tj, buf, (unsigned long)size, w, h, &subsamp, &cs) ||
      *w <= 0 || *h <= 0)
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: bad or truncated JPEG header", name);
  else if (cs == TJCS_CMYK || cs == TJCS_YCCK)
    st = tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: CMYK JPEG is not supported", name);
  else
    *channels = cs == TJCS_GRAY ? 1 : 3;
  tjDestroy(tj);
  return st;
}

/* Rows [y0, y0 + rows) at scale 1/denom, all columns (w = 0) or columns
 * [x0, x0 + w) widened to whole iMCUs (*ox0: where they start). *out: an
 * image to reuse (taken when its shape matches) or NULL; the result. */
static tsr_status decode_window(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int denom, int x0,
                                int y0, int w, int rows, tsr_image **out, int *ox0) {
  struct jpeg_decompress_struct cinfo;
  band_err err;
  tsr_image *volatile img = NULL;
  tsr_status st = TSR_OK;
  memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = band_error_exit;
  err.pub.emit_message = band_emit;
  if (setjmp(err.jump)) {
    if (strstr(err.msg, "Backing store")) /* the memory cap below */
      st = tsr__fail(ctx, TSR_E_TOO_LARGE, "%s: decoding it would need more than %llu bytes of decoder memory", name,
                     (unsigned long long)TSR_MAX_IMAGE_BYTES);
    else
      st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: corrupt or truncated JPEG: %s", name, err.msg);
    goto done;
  }
  jpeg_create_decompress(&cinfo);
  /* libjpeg's own memory (a progressive or multi-scan file buffers the whole
   * image's coefficients, 2 bytes a sample) is capped at the documented
   * image limit: a 104-byte file claiming 65500x65500 made it take 8.5 GB.
   * Past the cap it fails (no backing store) before allocating. */
  cinfo.mem->max_memory_to_use = (long)TSR_MAX_IMAGE_BYTES;
  jpeg_mem_src(&cinfo, buf, (unsigned long)size);
  jpeg_read_header(&cinfo, TRUE);
  /* The whole frame against the limits, not only the part it decodes. */
  if ((st = tsr__check_dims(ctx, name, cinfo.image_width, cinfo.image_height, cinfo.num_components == 1 ? 1 : 3, 8)))
    goto done;
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    st = tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: CMYK JPEG is not supported", name);
    goto done;
  }
  int channels = cinfo.num_components == 1 ? 1 : 3;
  cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  cinfo.scale_num = 1;
  cinfo.scale_denom = (unsigned)denom;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&cinfo);
  int fw = (int)cinfo.output_width, fh = (int)cinfo.output_height;
  if (y0 < 0 || rows < 1 || y0 + rows > fh || (w && (x0 < 0 || w < 1 || x0 + w > fw))) {
    st = tsr__fail(ctx, TSR_E_INVALID, "%s: rows %d..%d, columns %d..%d outside the %dx%d image at scale 1/%d", name, y0,
                   y0 + rows, x0, x0 + (w ? w : fw), fw, fh, denom);
    goto done;
  }
  JDIMENSION xo = 0, xw = (JDIMENSION)fw;
  if (w && (x0 > 0 || w < fw)) {
    xo = (JDIMENSION)x0;
    xw = (JDIMENSION)w;
    jpeg_crop_scanline(&cinfo, &xo, &xw); /* widened to whole iMCU columns */
  }
  if ((st = tsr__check_dims(ctx, name, xw, (uint64_t)rows, channels, 8))) goto done;
  tsr_image *im = *out;
  if (im && im->width == (int)xw && im->height == rows && im->channels == channels && im->depth == 8) {
    *out = NULL; /* ours now: freed on failure like a new one */
  } else if ((st = tsr_image_create((int)xw, rows, channels, 8, &im))) {
    st = tsr__fail(ctx, st, "%s: cannot allocate the decoded rows", name);
    goto done;
  }
  img = im;
  if (y0 > 0 && jpeg_skip_scanlines(&cinfo, (JDIMENSION)y0) != (JDIMENSION)y0) {
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated JPEG", name);
    goto done;
  }
  while ((int)cinfo.output_scanline < y0 + rows) {
    JSAMPROW r = img->data + (size_t)((int)cinfo.output_scanline - y0) * img->stride;
    if (jpeg_read_scanlines(&cinfo, &r, 1) != 1) {
      st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated JPEG", name);
      goto done;
    }
  }
  if (ox0) *ox0 = (int)xo;
done:
  jpeg_destroy_decompress(&cinfo); /* also ends a decode stopped early */
  if (st) tsr_image_free(img);
  else *out = img;
  return st;
}

tsr_status tsr__jpeg_decode_band(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int denom,
                                 int row0, int rows, tsr_image **out) {
  return decode_window(ctx, buf, size, name, denom, 0, row0, 0, rows, out, NULL);
}

tsr_status tsr__jpeg_decode_region(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, int denom,
                                   int x0, int y0, int w, int h, tsr_image **out, int *ox0) {
  *out = NULL;
  return decode_window(ctx, buf, size, name, denom, x0, y0, w, h, out, ox0);
}
