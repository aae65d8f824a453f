/* JPEG as the split reads it: the header, the whole image, and row bands at
 * every DCT scale into a band image reused from the previous band (the
 * path where a reused band once leaked when decoding failed early); and a
 * region, as augment reads one per copy. */
#include "fuzz_common.h"
#include "io/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tsr_context *ctx = fuzz_ctx();
  int w, h, ch;
  tsr_image *img = NULL;
  if (!tsr__jpeg_decode(ctx, data, size, "fuzz.jpg", 0, &img)) tsr_image_free(img);
  img = NULL;
  if (tsr__jpeg_info(ctx, data, size, "fuzz.jpg", &w, &h, &ch)) return 0;
  int denom = 1 << (size % 4); /* 1, 2, 4, 8 */
  int sh = (h + denom - 1) / denom, rows = sh > 16 ? 16 : sh;
  tsr_image *band = NULL;
  for (int row0 = 0; row0 < sh && row0 < 64; row0 += rows) {
    int n = row0 + rows > sh ? sh - row0 : rows;
    /* as the split calls it: the band is taken when its shape matches (then
     * the result, or freed on failure), else still the caller's */
    tsr_image *reuse = band, *img2 = reuse;
    if (tsr__jpeg_decode_band(ctx, data, size, "fuzz.jpg", denom, row0, n, &img2)) {
      tsr_image_free(img2);
      band = NULL;
    } else {
      if (img2 != reuse) tsr_image_free(reuse);
      band = img2;
    }
  }
  tsr_image_free(band);
  /* a region, as augment's copies read theirs */
  int sw = (w + denom - 1) / denom, x0 = (int)(size % 7) % sw, y0 = (int)(size % 5) % sh, ox = 0;
  tsr_image *reg = NULL;
  if (!tsr__jpeg_decode_region(ctx, data, size, "fuzz.jpg", denom, x0, y0, sw - x0 > 9 ? 9 : sw - x0,
                               sh - y0 > 7 ? 7 : sh - y0, &reg, &ox))
    tsr_image_free(reg);
  return 0;
}
