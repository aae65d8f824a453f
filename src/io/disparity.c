/* Disparity files: PFM (Middlebury: float32, rows bottom to top, +inf
 * unknown; the scale's sign gives the byte order, negative = little
 * endian), KITTI's 16-bit PNG (disparity x 256, 0 unknown) and a colour
 * picture for people; Middlebury's calib.txt. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/codec.h"
#include "io/disparity.h"
#include "tessera/stereo.h"

static inline float disp_float(int16_t v) {
  return v == TSR_STEREO_INVALID ? INFINITY : (float)v / (float)TSR_STEREO_SCALE;
}

tsr_status tsr_disp_write_pfm(tsr_context *ctx, const char *path, const int16_t *disp, int width, int height) {
  if (!ctx || !path || !disp || width < 1 || height < 1) return TSR_E_INVALID;
  tsr__atomic_file af;
  tsr_status st = tsr__atomic_open(ctx, path, &af);
  if (st) return st;
  fprintf(af.fp, "Pf\n%d %d\n-1\n", width, height);
  float *row = malloc((size_t)width * sizeof *row);
  if (!row) {
    tsr__atomic_abort(&af);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  for (int y = height - 1; y >= 0; y--) {
    for (int x = 0; x < width; x++) {
      float f = disp_float(disp[(size_t)y * (size_t)width + (size_t)x]);
      uint32_t u;
      memcpy(&u, &f, 4);
      uint8_t *b = (uint8_t *)&row[x];
      b[0] = (uint8_t)u;
      b[1] = (uint8_t)(u >> 8);
      b[2] = (uint8_t)(u >> 16);
      b[3] = (uint8_t)(u >> 24);
    }
    if (fwrite(row, 4, (size_t)width, af.fp) != (size_t)width) break;
  }
  free(row);
  if (ferror(af.fp)) {
    int e = errno;
    tsr__atomic_abort(&af);
    return tsr__fail(ctx, TSR_E_IO, "%s: cannot write: %s", path, strerror(e));
  }
  return tsr__atomic_commit(ctx, &af);
}

/* One whitespace-separated header token. */
static int pfm_token(const uint8_t *buf, size_t size, size_t *pos, char *out, size_t n) {
  while (*pos < size && (buf[*pos] == ' ' || buf[*pos] == '\n' || buf[*pos] == '\r' || buf[*pos] == '\t')) (*pos)++;
  size_t k = 0;
  while (*pos < size && buf[*pos] != ' ' && buf[*pos] != '\n' && buf[*pos] != '\r' && buf[*pos] != '\t') {
    if (k + 1 >= n) return -1;
    out[k++] = (char)buf[(*pos)++];
  }
  out[k] = 0;
  return k ? 0 : -1;
}

tsr_status tsr_pfm_read(tsr_context *ctx, const char *path, float **data, int *width, int *height) {
  if (!ctx || !path || !data || !width || !height) return TSR_E_INVALID;
  *data = NULL;
  uint8_t *buf = NULL;
  size_t size = 0;
  tsr_status st = tsr__read_file(ctx, path, &buf, &size);
  if (st) return st;
  char magic[8], ws[16], hs[16], ss[32];
  size_t pos = 0;
  char *end;
  long w = 0, h = 0;
  double scale = 0;
  if (pfm_token(buf, size, &pos, magic, sizeof magic) || strcmp(magic, "Pf")) {
    st = tsr__fail(ctx, strcmp(magic, "PF") ? TSR_E_FORMAT : TSR_E_UNSUPPORTED, "%s: %s", path,
                   strcmp(magic, "PF") ? "not a PFM file" : "a 3-channel PFM; disparities have one channel");
    goto done;
  }
  if (pfm_token(buf, size, &pos, ws, sizeof ws) || pfm_token(buf, size, &pos, hs, sizeof hs) ||
      pfm_token(buf, size, &pos, ss, sizeof ss)) {
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PFM header", path);
    goto done;
  }
  w = strtol(ws, &end, 10);
  if (*end) w = 0;
  h = strtol(hs, &end, 10);
  if (*end) h = 0;
  scale = strtod(ss, &end);
  if (*end || !isfinite(scale) || scale == 0 || w < 1 || h < 1 || w > TSR_MAX_DIM || h > TSR_MAX_DIM) {
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: bad PFM header (%s x %s, scale %s)", path, ws, hs, ss);
    goto done;
  }
  pos++; /* the single whitespace after the scale */
  size_t need = (size_t)w * (size_t)h * 4;
  if (pos > size || size - pos < need) {
    st = tsr__fail(ctx, TSR_E_CORRUPT, "%s: truncated PFM (%zu of %zu data bytes)", path, pos > size ? 0 : size - pos,
                   need);
    goto done;
  }
  float *f = malloc(need);
  if (!f) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    goto done;
  }
  int little = scale < 0;
  for (long y = 0; y < h; y++) {
    const uint8_t *src = buf + pos + (size_t)(h - 1 - y) * (size_t)w * 4;
    for (long x = 0; x < w; x++) {
      const uint8_t *b = src + x * 4;
      uint32_t u = little ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
                          : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
      memcpy(&f[(size_t)y * (size_t)w + (size_t)x], &u, 4);
    }
  }
  *data = f;
  *width = (int)w;
  *height = (int)h;
done:
  free(buf);
  return st;
}

tsr_status tsr_disp_write_png16(tsr_context *ctx, const char *path, const int16_t *disp, int width, int height) {
  if (!ctx || !path || !disp || width < 1 || height < 1) return TSR_E_INVALID;
  tsr_image *img = NULL;
  tsr_status st = tsr_image_create(width, height, 1, 16, &img);
  if (st) return tsr__fail(ctx, st, "out of memory");
  for (int y = 0; y < height; y++) {
    uint16_t *o = (uint16_t *)(img->data + (size_t)y * img->stride);
    for (int x = 0; x < width; x++) {
      int v = disp[(size_t)y * (size_t)width + (size_t)x];
      /* 1/16 px to 1/256 px; the format holds 0 < d < 256 only: 0 and
       * below read as unknown, larger ones are clamped to 65535/256 */
      o[x] = v == TSR_STEREO_INVALID || v <= 0 ? 0 : v * 16 > 65535 ? 65535 : (uint16_t)(v * 16);
    }
  }
  st = tsr_image_write(ctx, img, path, NULL);
  tsr_image_free(img);
  return st;
}

tsr_status tsr_disp_write_vis(tsr_context *ctx, const char *path, const int16_t *disp, int width, int height,
                              int min_disp, int max_disp) {
  if (!ctx || !path || !disp || width < 1 || height < 1) return TSR_E_INVALID;
  tsr_image *img = NULL;
  tsr_status st = tsr_image_create(width, height, 3, 8, &img);
  if (st) return tsr__fail(ctx, st, "out of memory");
  int span = (max_disp - min_disp) * TSR_STEREO_SCALE;
  if (span < 1) span = 1;
  for (int y = 0; y < height; y++) {
    uint8_t *o = img->data + (size_t)y * img->stride;
    for (int x = 0; x < width; x++) {
      int v = disp[(size_t)y * (size_t)width + (size_t)x];
      uint8_t *p = o + 3 * (size_t)x;
      if (v == TSR_STEREO_INVALID) {
        p[0] = p[1] = p[2] = 0;
        continue;
      }
      /* a "jet"-like ramp in integers: t in 0..1024 through blue, cyan,
       * yellow and red, darkened at both ends */
      int t = (v - min_disp * TSR_STEREO_SCALE) * 1024 / span;
      t = t < 0 ? 0 : t > 1024 ? 1024 : t;
      int r = 1536 - abs(4 * t - 3 * 1024 / 1), g = 1536 - abs(4 * t - 2 * 1024), b = 1536 - abs(4 * t - 1024);
      r = r < 0 ? 0 : r > 1024 ? 1024 : r;
      g = g < 0 ? 0 : g > 1024 ? 1024 : g;
      b = b < 0 ? 0 : b > 1024 ? 1024 : b;
      p[0] = (uint8_t)(r * 255 / 1024);
      p[1] = (uint8_t)(g * 255 / 1024);
      p[2] = (uint8_t)(b * 255 / 1024);
    }
  }
  st = tsr_image_write(ctx, img, path, NULL);
  tsr_image_free(img);
  return st;
}

/* ---- Middlebury's calib.txt ------------------------------------------------------ */
tsr_status tsr__calib_read(tsr_context *ctx, const char *path, tsr__calib *c) {
  memset(c, 0, sizeof *c);
  FILE *f = fopen(path, "r");
  if (!f) return tsr__fail(ctx, TSR_E_IO, "%s: cannot open: %s", path, strerror(errno));
  char line[1024];
  int have_ndisp = 0, have_vmin = 0, have_vmax = 0, lineno = 0;
  tsr_status st = TSR_OK;
  while (!st && fgets(line, sizeof line, f)) {
    lineno++;
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    char *key = line, *val = eq + 1;
    while (isspace((unsigned char)*key)) key++;
    char *ke = key + strlen(key);
    while (ke > key && isspace((unsigned char)ke[-1])) *--ke = 0;
    char *end;
    errno = 0;
    if (!strcmp(key, "ndisp") || !strcmp(key, "width") || !strcmp(key, "height")) {
      long v = strtol(val, &end, 10);
      while (isspace((unsigned char)*end)) end++;
      if (errno || *end || end == val || v < 1 || v > (!strcmp(key, "ndisp") ? 2 * TSR_STEREO_DISP_LIMIT - 2 : 65535)) {
        st = tsr__fail(ctx, TSR_E_FORMAT, "%s:%d: %s must be a positive integer%s", path, lineno, key,
                       !strcmp(key, "ndisp") ? " below 4079" : " up to 65535");
        break;
      }
      if (!strcmp(key, "ndisp")) {
        c->ndisp = (int)v;
        have_ndisp = 1;
      } else if (!strcmp(key, "width")) {
        c->width = (int)v;
      } else {
        c->height = (int)v;
      }
    } else if (!strcmp(key, "vmin") || !strcmp(key, "vmax")) {
      double v = strtod(val, &end);
      while (isspace((unsigned char)*end)) end++;
      if (errno || *end || end == val || !isfinite(v)) {
        st = tsr__fail(ctx, TSR_E_FORMAT, "%s:%d: %s is not a number", path, lineno, key);
        break;
      }
      if (!strcmp(key, "vmin")) {
        c->vmin = v;
        have_vmin = 1;
      } else {
        c->vmax = v;
        have_vmax = 1;
      }
    }
  }
  fclose(f);
  if (st) return st;
  if (!have_ndisp) return tsr__fail(ctx, TSR_E_FORMAT, "%s: no ndisp= line (the disparity range)", path);
  c->has_size = c->width > 0 && c->height > 0;
  c->has_v = have_vmin && have_vmax && c->vmax > c->vmin;
  return TSR_OK;
}
