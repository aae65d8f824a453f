/* Lets one header compile both as OpenCL C 1.2 and as C99/C11.
 *
 * Shared per-pixel code uses only what this header maps: the address-space
 * qualifiers, fixed-width integer names, TSR_INLINE, and the math helpers
 * below. No vector literals such as (float4)(...) in shared code. */
#ifndef TSR_COMPAT_H
#define TSR_COMPAT_H

#ifdef __OPENCL_C_VERSION__
#define TSR_OPENCL 1
#define TSR_INLINE static inline
typedef uchar tsr_u8;
typedef short tsr_i16;
typedef ushort tsr_u16;
typedef int tsr_i32;
typedef uint tsr_u32;
typedef long tsr_i64;
typedef ulong tsr_u64;
#define TSR_GLOBAL __global
#define TSR_CONSTANT __constant
#define TSR_CONSTANT_TABLE __constant
#define TSR_REAL float
#define tsr_atan2r atan2
#define tsr_sqrtr sqrt
#define tsr_floorf floor
#define tsr_fminf fmin
#define tsr_fmaxf fmax
#define tsr_sqrtf sqrt
#define tsr_atan2f atan2
#define tsr_asinf asin
#define tsr_sinf sin
#define tsr_cosf cos
#define tsr_fabsf fabs
#else
#include <math.h>
#include <stdint.h>
#define TSR_INLINE static inline
typedef uint8_t tsr_u8;
typedef int16_t tsr_i16;
typedef uint16_t tsr_u16;
typedef int32_t tsr_i32;
typedef uint32_t tsr_u32;
typedef int64_t tsr_i64;
typedef uint64_t tsr_u64;
#define TSR_GLOBAL
#define TSR_CONSTANT const
#define TSR_CONSTANT_TABLE static const
#define TSR_REAL double
#define tsr_atan2r atan2
#define tsr_sqrtr sqrt
#define tsr_floorf floorf
#define tsr_fminf fminf
#define tsr_fmaxf fmaxf
#define tsr_sqrtf sqrtf
#define tsr_atan2f atan2f
#define tsr_asinf asinf
#define tsr_sinf sinf
#define tsr_cosf cosf
#define tsr_fabsf fabsf
#endif

TSR_INLINE tsr_i32 tsr_clampi(tsr_i32 v, tsr_i32 lo, tsr_i32 hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Luma of an 8-bit RGB pixel, (77 R + 150 G + 29 B + 128) >> 8: what the
 * stereo matcher matches on and augment's grayscale. */
TSR_INLINE tsr_i32 tsr_luma8(tsr_i32 r, tsr_i32 g, tsr_i32 b) { return (77 * r + 150 * g + 29 * b + 128) >> 8; }

/* Floor division remainder: always in [0, n). */
TSR_INLINE tsr_i32 tsr_modi(tsr_i32 a, tsr_i32 n) {
  tsr_i32 r = a % n;
  return r < 0 ? r + n : r;
}

#endif
