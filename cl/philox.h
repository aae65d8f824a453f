/* Philox4x32-10, the counter-based generator of Salmon et al. (SC'11,
 * "Parallel random numbers: as easy as 1, 2, 3"): 4 x 32-bit counter and
 * 2 x 32-bit key in, 4 x 32-bit words out, ten rounds of two 32x32->64
 * multiplications, the key bumped by the Weyl constants between rounds.
 * A draw depends only on (counter, key), never on order, thread or device,
 * which is what deterministic augmentation needs; integer only, so C99
 * hosts and OpenCL C 1.2 devices give the same words (checked against the
 * published known-answer vectors in tests/test_philox.c). */
#ifndef TSR_PHILOX_H
#define TSR_PHILOX_H
#include "tsr_compat.h"

#define TSR_PHILOX_M0 0xD2511F53u
#define TSR_PHILOX_M1 0xCD9E8D57u
#define TSR_PHILOX_W0 0x9E3779B9u
#define TSR_PHILOX_W1 0xBB67AE85u

/* out = Philox4x32-10(ctr, key). out may not alias ctr. */
TSR_INLINE void tsr_philox4x32_10(const tsr_u32 *ctr, const tsr_u32 *key, tsr_u32 *out) {
  tsr_u32 c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3], k0 = key[0], k1 = key[1];
  for (tsr_i32 r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += TSR_PHILOX_W0;
      k1 += TSR_PHILOX_W1;
    }
    tsr_u64 p0 = (tsr_u64)TSR_PHILOX_M0 * (tsr_u64)c0, p1 = (tsr_u64)TSR_PHILOX_M1 * (tsr_u64)c2;
    tsr_u32 hi0 = (tsr_u32)(p0 >> 32), lo0 = (tsr_u32)p0, hi1 = (tsr_u32)(p1 >> 32), lo1 = (tsr_u32)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* A word to an integer in [0, n): the high half of u * n (n >= 1). */
TSR_INLINE tsr_u32 tsr_philox_below(tsr_u32 u, tsr_u32 n) { return (tsr_u32)(((tsr_u64)u * (tsr_u64)n) >> 32); }

/* A word to a number in [0, 1) with 24 bits: exact in float on every
 * device. */
TSR_INLINE float tsr_philox_unit(tsr_u32 u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }

#endif
