/* OpenMP loop around tsr_warp_pixel() (cl/warp.h). */
#include "warp.h"
#include "ops/warp_impl.h"

void tsr__warp_cpu(int threads, const tsr_src_desc *s, const uint8_t *src, const tsr_view_desc *view,
                   uint8_t *dst) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int y = 0; y < view->height; y++)
    for (int x = 0; x < view->width; x++) tsr_warp_pixel(src, s, view, dst, x, y);
}
