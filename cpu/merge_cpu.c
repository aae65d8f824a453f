/* OpenMP loop around tsr_merge_pixel() (cl/merge.h). */
#include "merge.h"
#include "ops/merge_impl.h"

void tsr__merge_cpu(int threads, const uint8_t *views, const tsr_view_desc *vd, const tsr_src_desc *pano,
                    uint8_t *dst) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
  for (int y = 0; y < pano->height; y++)
    for (int x = 0; x < pano->width; x++) tsr_merge_pixel(views, vd, pano, dst, x, y);
}
