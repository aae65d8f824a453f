/* tessera augment's per-pixel colour math (issue 13, first part), shared
 * by the CPU loops and the kernels: integers only, factors in Q12 (4096 =
 * 1.0), so every backend writes the same bytes. Each result is the exact
 * value rounded half up and clamped to 0..255 (tests/test_augment_ops.c
 * checks them against double references). Luma (grayscale, the base of
 * saturation) is tsr_luma8 of tsr_compat.h. */
#ifndef TSR_AUGMENT_H
#define TSR_AUGMENT_H
#include "tsr_compat.h"

#define TSR_AUG_Q 12
#define TSR_AUG_ONE (1 << TSR_AUG_Q)
/* The largest factor (Q12): 16.0. */
#define TSR_AUG_FMAX (16 << TSR_AUG_Q)

TSR_INLINE tsr_i32 tsr_aug_clamp8(tsr_i32 v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/* base + (v - base) * f / 4096, rounded half up, clamped: brightness
 * (base 0), contrast (base: the image's mean luma), saturation (base: the
 * pixel's luma). v and base in 0..255, 0 <= f <= TSR_AUG_FMAX. An offset
 * keeps the shifted value positive, so no negative number is shifted (its
 * meaning differs between C and OpenCL C). */
TSR_INLINE tsr_i32 tsr_aug_blend(tsr_i32 v, tsr_i32 base, tsr_i32 f) {
  const tsr_i32 k = 8192; /* k * 4096 exceeds 255 * TSR_AUG_FMAX; the sum stays below 2^31 */
  tsr_i32 t = (v - base) * f + (TSR_AUG_ONE >> 1) + (k << TSR_AUG_Q);
  return tsr_aug_clamp8(base + (t >> TSR_AUG_Q) - k);
}

#ifndef TSR_OPENCL
/* A factor in double (host side, from the drawn parameters) to Q12,
 * rounded half up and capped at TSR_AUG_FMAX. */
TSR_INLINE tsr_i32 tsr_aug_q12(double f) {
  double q = f * TSR_AUG_ONE + 0.5;
  return q < 0 ? 0 : q > TSR_AUG_FMAX ? TSR_AUG_FMAX : (tsr_i32)q;
}
#endif

#endif
