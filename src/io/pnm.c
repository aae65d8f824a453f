/* Netpbm PGM (P5), PPM (P6) and PAM (P7), 8- and 16-bit (maxval 255 or
 * 65535). Samples are big-endian in the file and host order in memory. The
 * decoder reports how many bytes one image used, so a stream of
 * concatenated images (ffmpeg's image2pipe) can be split. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/codec.h"

typedef struct {
  const uint8_t *b;
  size_t n, pos;
} cursor;

static void skip_space(cursor *c) {
  while (c->pos < c->n) {
    if (c->b[c->pos] == '#')
      while (c->pos < c->n && c->b[c->pos] != '\n') c->pos++;
    else if (isspace(c->b[c->pos]))
      c->pos++;
    else
      break;
  }
}

static int read_uint(cursor *c, uint64_t *v) {
  skip_space(c);
  if (c->pos >= c->n || !isdigit(c->b[c->pos])) return 0;
  uint64_t x = 0;
  while (c->pos < c->n && isdigit(c->b[c->pos])) {
    x = x * 10 + (uint64_t)(c->b[c->pos++] - '0');
    if (x > 0xFFFFFFFFull) return 0;
  }
  *v = x;
  return 1;
}

static int read_word(cursor *c, char *w, size_t len) {
  skip_space(c);
  size_t i = 0;
  while (c->pos < c->n && !isspace(c->b[c->pos]) && i + 1 < len) w[i++] = (char)c->b[c->pos++];
  w[i] = 0;
  return i > 0;
}

/* Parses the header; TSR_E_EMPTY (no message) when the buffer ends inside
 * it, so a stream reader can wait for more bytes. */
static tsr_status parse_header(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, uint64_t *pw,
                               uint64_t *ph, uint64_t *pdepth, int *pbits, size_t *hdr) {
  cursor c = {buf, size, 2};
  uint64_t w = 0, h = 0, maxval = 0, depth = 0;
  if (size < 3) return TSR_E_EMPTY;
  char kind = (char)buf[1];
#define NEED_MORE_OR(call) \
  do {                     \
    if (c.pos >= c.n) return TSR_E_EMPTY; \
    return (call);         \
  } while (0)
  if (kind == '7') {
    char word[64];
    for (;;) {
      if (!read_word(&c, word, sizeof word) || c.pos >= c.n)
        NEED_MORE_OR(tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PAM header", name));
      if (!strcmp(word, "ENDHDR")) break;
      if (!strcmp(word, "TUPLTYPE")) {
        while (c.pos < c.n && c.b[c.pos] != '\n') c.pos++;
        if (c.pos >= c.n) return TSR_E_EMPTY;
        continue;
      }
      uint64_t v;
      if (!read_uint(&c, &v) || c.pos >= c.n)
        NEED_MORE_OR(tsr__fail(ctx, TSR_E_CORRUPT, "%s: bad PAM header field %s", name, word));
      if (!strcmp(word, "WIDTH")) w = v;
      else if (!strcmp(word, "HEIGHT")) h = v;
      else if (!strcmp(word, "DEPTH")) depth = v;
      else if (!strcmp(word, "MAXVAL")) maxval = v;
      else return tsr__fail(ctx, TSR_E_CORRUPT, "%s: unknown PAM header field %s", name, word);
    }
    if (c.pos < c.n && c.b[c.pos] == '\n') c.pos++;
    else NEED_MORE_OR(tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PAM header", name));
    if (depth < 1 || depth > 4)
      return tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: PAM depth %llu not supported (1 to 4 channels)", name,
                       (unsigned long long)depth);
  } else {
    depth = kind == '5' ? 1 : 3;
    if (!read_uint(&c, &w) || !read_uint(&c, &h) || !read_uint(&c, &maxval))
      NEED_MORE_OR(tsr__fail(ctx, TSR_E_CORRUPT, "%s: bad or truncated PNM header", name));
    /* Exactly one whitespace byte separates the header from the samples. */
    if (c.pos >= c.n) return TSR_E_EMPTY;
    if (!isspace(c.b[c.pos])) return tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PNM header", name);
    c.pos++;
  }
#undef NEED_MORE_OR
  if (maxval != 255 && maxval != 65535)
    return tsr__fail(ctx, TSR_E_UNSUPPORTED, "%s: maxval %llu not supported (255 for 8-bit, 65535 for 16-bit)",
                     name, (unsigned long long)maxval);
  *pbits = maxval == 255 ? 8 : 16;
  tsr_status st = tsr__check_dims(ctx, name, w, h, (int)depth, *pbits);
  if (st) return st;
  *pw = w;
  *ph = h;
  *pdepth = depth;
  *hdr = c.pos;
  return TSR_OK;
}

tsr_status tsr__pnm_frame_size(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, size_t *header,
                               size_t *data) {
  uint64_t w, h, depth;
  int bits;
  if (size >= 2 && (buf[0] != 'P' || (buf[1] != '5' && buf[1] != '6' && buf[1] != '7')))
    return tsr__fail(ctx, TSR_E_FORMAT, "%s: not a PPM/PGM/PAM frame", name);
  tsr_status st = parse_header(ctx, buf, size, name, &w, &h, &depth, &bits, header);
  if (st) return st;
  *data = (size_t)w * (size_t)depth * (size_t)(bits / 8) * (size_t)h;
  return TSR_OK;
}

tsr_status tsr__pnm_decode(tsr_context *ctx, const uint8_t *buf, size_t size, const char *name, tsr_image **out,
                           size_t *consumed) {
  uint64_t w, h, depth;
  int bits;
  size_t pos;
  tsr_status st = parse_header(ctx, buf, size, name, &w, &h, &depth, &bits, &pos);
  if (st == TSR_E_EMPTY) return tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PNM header", name);
  if (st) return st;
  cursor c = {buf, size, pos};
  size_t row = (size_t)w * depth * (size_t)(bits / 8);
  uint64_t need = (uint64_t)row * h;
  if (need > size - c.pos)
    return tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PNM data (%llu of %llu bytes)", name,
                     (unsigned long long)(size - c.pos), (unsigned long long)need);
  tsr_image *img;
  if ((st = tsr_image_create((int)w, (int)h, (int)depth, bits, &img)))
    return tsr__fail(ctx, st, "%s: cannot allocate image", name);
  const uint8_t *src = buf + c.pos;
  if (bits == 8) {
    memcpy(img->data, src, need);
  } else {
    uint16_t *d = (uint16_t *)img->data;
    for (uint64_t i = 0; i < need / 2; i++) d[i] = (uint16_t)((src[2 * i] << 8) | src[2 * i + 1]);
  }
  *consumed = c.pos + need;
  *out = img;
  return TSR_OK;
}

tsr_status tsr__pnm_encode(tsr_context *ctx, const tsr_image *img, const char *name, FILE *fp) {
  const char *dot = strrchr(name, '.');
  int pam = dot && !strcasecmp(dot, ".pam");
  if (dot && !strcasecmp(dot, ".pgm") && img->channels != 1)
    return tsr__fail(ctx, TSR_E_FORMAT, "%s: PGM holds 1 channel, image has %d; use .pam", name, img->channels);
  if (dot && !strcasecmp(dot, ".ppm") && img->channels != 3)
    return tsr__fail(ctx, TSR_E_FORMAT, "%s: PPM holds 3 channels, image has %d; use .pam", name, img->channels);
  if (img->channels == 2 || img->channels == 4) pam = 1;
  unsigned maxval = img->depth == 16 ? 65535u : 255u;
  int ok;
  if (pam) {
    static const char *tupl[5] = {"", "GRAYSCALE", "GRAYSCALE_ALPHA", "RGB", "RGB_ALPHA"};
    ok = fprintf(fp, "P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL %u\nTUPLTYPE %s\nENDHDR\n", img->width,
                 img->height, img->channels, maxval, tupl[img->channels]) > 0;
  } else {
    ok = fprintf(fp, "P%c\n%d %d\n%u\n", img->channels == 1 ? '5' : '6', img->width, img->height, maxval) > 0;
  }
  size_t row = (size_t)img->width * tsr_image_bytes_per_pixel(img);
  uint8_t *tmp = img->depth == 16 ? malloc(row) : NULL;
  if (img->depth == 16 && !tmp) return tsr__fail(ctx, TSR_E_NOMEM, "%s: out of memory", name);
  for (int y = 0; ok && y < img->height; y++) {
    const uint8_t *r = img->data + (size_t)y * img->stride;
    if (tmp) {
      const uint16_t *s = (const uint16_t *)r;
      for (size_t i = 0; i < row / 2; i++) {
        tmp[2 * i] = (uint8_t)(s[i] >> 8);
        tmp[2 * i + 1] = (uint8_t)s[i];
      }
      r = tmp;
    }
    ok = fwrite(r, 1, row, fp) == row;
  }
  free(tmp);
  return ok ? TSR_OK : tsr__fail(ctx, TSR_E_IO, "%s: write failed", name);
}
