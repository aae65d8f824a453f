/* Disparity errors against ground truth, by Middlebury's rules: pixels
 * whose ground truth is unknown (inf or NaN in its PFMs; 0 in KITTI's
 * PNGs) or outside the mask are not counted; a pixel without a
 * disparity counts as bad at every threshold. */
#include <math.h>
#include <string.h>

#include "tessera/stereo.h"

void tsr_stereo_evaluate(const float *disp, const float *gt, const uint8_t *mask, int width, int height,
                         int gt_zero_unknown, tsr_stereo_eval *ev) {
  memset(ev, 0, sizeof *ev);
  if (!disp || !gt || width < 1 || height < 1) return;
  uint64_t bad[4] = {0, 0, 0, 0}, valid = 0;
  static const double thr[4] = {0.5, 1.0, 2.0, 4.0};
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < (size_t)width * (size_t)height; i++) {
    float g = gt[i];
    if (!isfinite(g) || (gt_zero_unknown && g <= 0)) continue;
    if (mask && mask[i] != 255) continue;
    ev->known++;
    float d = disp[i];
    if (!isfinite(d)) {
      ev->invalid++;
      for (int k = 0; k < 4; k++) bad[k]++;
      continue;
    }
    double e = fabs((double)d - (double)g);
    valid++;
    sum += e;
    sum2 += e * e;
    for (int k = 0; k < 4; k++)
      if (e > thr[k]) bad[k]++;
  }
  if (!ev->known) return;
  double n = (double)ev->known;
  ev->bad05 = 100.0 * (double)bad[0] / n;
  ev->bad1 = 100.0 * (double)bad[1] / n;
  ev->bad2 = 100.0 * (double)bad[2] / n;
  ev->bad4 = 100.0 * (double)bad[3] / n;
  ev->invalid_pct = 100.0 * (double)ev->invalid / n;
  if (valid) {
    ev->avgerr = sum / (double)valid;
    ev->rms = sqrt(sum2 / (double)valid);
  }
}
