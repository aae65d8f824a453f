/* A program built against an installed tessera (scripts/test.sh, install
 * check): once through find_package(tessera), once through pkg-config. It
 * includes the public header only. */
#include <tessera/tessera.h>

#include <stdio.h>

#define W 8
#define H 6

static unsigned char sample(int x, int y, int c) { return (unsigned char)(x * 20 + y * 7 + c * 3); }

int main(void) {
  tsr_context_options opts;
  tsr_context_options_init(&opts);
  opts.device = "cpu";
  opts.quiet = 1;
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&opts, &ctx);
  if (st != TSR_OK) {
    fprintf(stderr, "consumer: tsr_context_create: %s\n", tsr_strerror(st));
    return 1;
  }

  tsr_image *src = NULL, *dst = NULL;
  if ((st = tsr_image_create(W, H, 3, 8, &src)) != TSR_OK || (st = tsr_image_create(4, 3, 3, 8, &dst)) != TSR_OK) {
    fprintf(stderr, "consumer: tsr_image_create: %s\n", tsr_strerror(st));
    return 1;
  }
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < 3; c++) src->data[(size_t)y * src->stride + (size_t)x * 3 + c] = sample(x, y, c);

  /* A pure translation by (2, 1) pixels: output pixel centres land on
   * source pixel centres, so every output pixel is a source pixel. */
  const double a[6] = {1, 0, 2, 0, 1, 1};
  tsr_warp_view view;
  tsr_view_affine(&view, dst->width, dst->height, a);
  const tsr_image *srcs[1] = {src};
  tsr_image *dsts[1] = {dst};
  tsr_warp_stats stats;
  st = tsr_warp(ctx, srcs, 1, &view, 1, TSR_INTERP_BILINEAR, TSR_BORDER_CLAMP, dsts, &stats);
  if (st != TSR_OK) {
    fprintf(stderr, "consumer: tsr_warp: %s: %s\n", tsr_strerror(st), tsr_context_error(ctx));
    return 1;
  }

  int bad = 0;
  for (int y = 0; y < dst->height; y++)
    for (int x = 0; x < dst->width; x++)
      for (int c = 0; c < 3; c++) {
        unsigned char got = dst->data[(size_t)y * dst->stride + (size_t)x * 3 + c];
        if (got != sample(x + 2, y + 1, c)) {
          if (!bad++) fprintf(stderr, "consumer: pixel (%d,%d) channel %d: %u, expected %u\n", x, y, c, got,
                              sample(x + 2, y + 1, c));
        }
      }
  if (stats.backend != TSR_BACKEND_CPU) {
    fprintf(stderr, "consumer: the warp ran on backend %d, not the CPU\n", (int)stats.backend);
    bad++;
  }

  tsr_image_free(dst);
  tsr_image_free(src);
  tsr_context_destroy(ctx);
  if (bad) return 1;
  printf("consumer ok: tessera %s\n", TSR_VERSION_STRING);
  return 0;
}
