/* The definition of the warp's interpolation taps, in double precision on
 * the host (scripts/gen_warp_taps.c turns it into cl/warp_taps.h; the tests
 * check the table against it). Not compiled for devices.
 *
 * A sample at fractional position t = phase / 256 past the centre of tap
 * n/2 - 1 has tap k at distance k - (n/2 - 1) - t. Bicubic is Keys' cubic
 * convolution with a = -0.5 (4 taps); Lanczos-3 is sinc(d) sinc(d / 3) over
 * 6 taps. Each set is normalised to sum 1, scaled to 2048 and rounded; the
 * rounding residue goes to the largest tap, so every row sums to exactly
 * 2048. */
#ifndef TSR_WARP_TAPS_DEF_H
#define TSR_WARP_TAPS_DEF_H
#include <math.h>

static double tsr_taps_kernel(int interp, double d) {
  d = fabs(d);
  if (interp == 2) {
    if (d < 1) return (1.5 * d - 2.5) * d * d + 1;
    if (d < 2) return ((-0.5 * d + 2.5) * d - 4) * d + 2;
    return 0;
  }
  if (d < 1e-12) return 1;
  if (d >= 3) return 0;
  double a = 3.14159265358979323846 * d;
  return 3 * sin(a) * sin(a / 3) / (a * a);
}

static void tsr_taps_define(int interp, int phase, int *w) {
  int n = interp == 2 ? 4 : 6, back = n / 2 - 1, sum = 0, big = 0;
  double f[6], fs = 0, t = phase / 256.0;
  for (int k = 0; k < n; k++) fs += f[k] = tsr_taps_kernel(interp, k - back - t);
  for (int k = 0; k < n; k++) {
    w[k] = (int)floor(f[k] / fs * 2048 + 0.5);
    sum += w[k];
    if (w[k] > w[big]) big = k;
  }
  w[big] += 2048 - sum;
}

#endif
