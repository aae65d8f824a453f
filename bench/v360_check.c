/* Agreement with FFmpeg's v360 (e -> flat, bilinear) on views that are
 * forward, rolled, across the +-180 deg seam and over a pole. Two measures
 * per view:
 *  - geometry: a 16-bit source whose red is 16 x its column and green 16 x
 *    its row; after bilinear sampling each output pixel says, roughly,
 *    which source position it read (to 1/16 px). The largest difference between
 *    tessera's and v360's positions (leaving out pixels whose taps straddle
 *    the seam's wrap or lie on the first/last row, where v360 clamps and
 *    tessera continues over the pole) shows whether yaw/pitch/roll, their
 *    order, the focal length and the pixel-centre convention agree.
 *  - pixels: PSNR and largest difference on a real image, both programs
 *    reading the same decoded pixels from a PNG.
 * Needs ffmpeg on PATH. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/tessera.h"

typedef struct {
  const char *name;
  double yaw, pitch, roll, hfov;
  int w, h;
} view;

static const view k_views[] = {
    {"forward", 0, 0, 0, 90, 640, 480},       {"yaw30_pitch20_roll10", 30, 20, 10, 90, 640, 480},
    {"seam", 180, 0, 0, 100, 640, 480},      {"seam_rolled", -170, -15, -25, 80, 480, 480},
    {"north_pole", -60, 80, -30, 90, 480, 480}, {"south_pole", 120, -90, 0, 90, 480, 480},
};

static double psnr(const tsr_image *a, const tsr_image *b, int *maxd) {
  double se = 0;
  size_t n = (size_t)a->width * a->height * a->channels;
  *maxd = 0;
  for (size_t i = 0; i < n; i++) {
    int d = abs((int)a->data[i] - (int)b->data[i]);
    se += (double)d * d;
    if (d > *maxd) *maxd = d;
  }
  return se ? 10 * log10(255.0 * 255.0 / (se / (double)n)) : INFINITY;
}

int main(int argc, char **argv) {
  const char *in = argc > 1 ? argv[1] : TSR_V360_INPUT;
  if (system("command -v ffmpeg >/dev/null 2>&1")) {
    fprintf(stderr, "v360_check: ffmpeg is not on PATH\n");
    return 2;
  }
  tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
  tsr_context *ctx;
  tsr_image *src;
  if (tsr_context_create(&co, &ctx) || tsr_image_read(ctx, in, 0, &src) || src->channels != 3 || src->depth != 8) {
    fprintf(stderr, "v360_check: %s: %s\n", in, tsr_context_error(ctx));
    return 1;
  }
  char tmpl[] = "/tmp/tsrv360.XXXXXX";
  char *dir = mkdtemp(tmpl), png[512];
  /* Both read the same decoded pixels, losslessly (FFmpeg's JPEG decoder and
   * its YUV 4:2:0 processing would otherwise add their own differences). */
  snprintf(png, sizeof png, "%s/source.png", dir);
  if (!dir || tsr_image_write(ctx, src, png, NULL)) {
    fprintf(stderr, "v360_check: cannot write %s\n", png);
    return 1;
  }
  printf("tessera vs ffmpeg v360 (e -> flat, interp=linear) on %s (%dx%d)\n", in, src->width, src->height);
  /* The position ramp, same size as the image. */
  char ramp_path[512];
  snprintf(ramp_path, sizeof ramp_path, "%s/ramp.png", dir);
  tsr_image *ramp;
  tsr_image_create(src->width, src->height, 3, 16, &ramp);
  for (int y = 0; y < src->height; y++)
    for (int x = 0; x < src->width; x++) {
      uint16_t *q = (uint16_t *)(ramp->data + (size_t)y * ramp->stride) + (size_t)x * 3;
      q[0] = (uint16_t)(x * 16);
      q[1] = (uint16_t)(y * 16);
      q[2] = 0;
    }
  if (src->width * 16 > 65535 || src->height * 16 > 65535 || tsr_image_write(ctx, ramp, ramp_path, NULL)) {
    fprintf(stderr, "v360_check: the source must be at most 4095 pixels wide for the position ramp\n");
    return 1;
  }
  printf("%-22s %26s %36s\n", "view", "position diff max / mean (px)", "pixels: PSNR / max diff");
  int bad = 0;
  for (size_t k = 0; k < sizeof k_views / sizeof *k_views; k++) {
    const view *v = &k_views[k];
    double vfov = 2 * atan(tan(v->hfov * M_PI / 360) * v->h / v->w) * 180 / M_PI;
    char path[512], cmd[2048];
    double worst = 0, p = 0, sum = 0;
    long counted = 0;
    int maxd = 0, skipped = 0;
    for (int pass = 0; pass < 2; pass++) {
      const tsr_image *in_img = pass ? src : ramp;
      snprintf(path, sizeof path, "%s/%s_%d.png", dir, v->name, pass);
      snprintf(cmd, sizeof cmd,
               "ffmpeg -loglevel error -y -i '%s' -vf 'format=%s,v360=input=e:output=flat:yaw=%g:pitch=%g:roll=%g:"
               "h_fov=%g:v_fov=%.6f:w=%d:h=%d:interp=linear' -pix_fmt %s '%s'",
               pass ? png : ramp_path, pass ? "gbrp" : "gbrp16le", v->yaw, v->pitch, v->roll, v->hfov, vfov, v->w,
               v->h, pass ? "rgb24" : "rgb48be", path);
      tsr_image *ff = NULL, *out;
      if (system(cmd) || tsr_image_read(ctx, path, 0, &ff)) {
        fprintf(stderr, "v360_check: ffmpeg failed for %s\n", v->name);
        return 1;
      }
      tsr_warp_view wv;
      tsr_view_equirect(&wv, v->w, v->h, v->yaw, v->pitch, v->roll, v->hfov);
      tsr_image_create(v->w, v->h, 3, in_img->depth, &out);
      if (tsr_warp(ctx, &in_img, 1, &wv, 1, TSR_INTERP_BILINEAR, TSR_BORDER_SPHERE, &out, NULL)) {
        fprintf(stderr, "v360_check: %s\n", tsr_context_error(ctx));
        return 1;
      }
      if (pass) {
        p = psnr(out, ff, &maxd);
      } else {
        for (int y = 0; y < v->h; y++)
          for (int x = 0; x < v->w; x++) {
            const uint16_t *a = (const uint16_t *)(out->data + (size_t)y * out->stride) + (size_t)x * 3;
            const uint16_t *b = (const uint16_t *)(ff->data + (size_t)y * ff->stride) + (size_t)x * 3;
            double du = fabs(a[0] - (double)b[0]) / 16, dv = fabs(a[1] - (double)b[1]) / 16;
            /* Taps across the wrap blend column 0 with column W-1; taps on
             * the first or last row meet the pole rule. */
            int edge = a[0] < 16 || b[0] < 16 || a[0] > (src->width - 2) * 16 || b[0] > (src->width - 2) * 16 ||
                       a[1] < 16 || b[1] < 16 || a[1] > (src->height - 2) * 16 || b[1] > (src->height - 2) * 16;
            if (edge) {
              skipped++;
              continue;
            }
            if (du > worst) worst = du;
            if (dv > worst) worst = dv;
            sum += du + dv;
            counted += 2;
          }
      }
      tsr_image_free(ff);
      tsr_image_free(out);
      unlink(path);
    }
    printf("%-22s %8.3f / %5.3f  (%4d left out) %10.1f dB / %3d\n", v->name, worst, counted ? sum / (double)counted : 0,
           skipped, p, maxd);
    /* A convention mismatch (a sign, the order, the focal) moves positions
     * by many pixels; sub-pixel residue is each program's arithmetic. */
    if (worst > 1.0) bad = 1;
  }
  unlink(ramp_path);
  tsr_image_free(ramp);
  unlink(png);
  rmdir(dir);
  tsr_image_free(src);
  tsr_context_destroy(ctx);
  printf(bad ? "DISAGREE: a view samples positions more than 1 source pixel away from v360's\n"
             : "agree: every view samples within 1 source pixel of where v360 samples\n");
  return bad;
}
