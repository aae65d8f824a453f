/* Precomputed fixed-point maps for the CPU warp (cpu/remap_cpu.c): built
 * once per (view, source size), applied to every frame. */
#ifndef TSR_REMAP_H
#define TSR_REMAP_H

#include <stdint.h>

#include "tsr_types.h"

typedef struct {
  int width, height;
  uint32_t *off;  /* byte offset of the top-left tap; UINT32_MAX: computed generically */
  uint16_t *frac; /* x fraction | y fraction << 8, in 1/256 */
} tsr__remap;

/* Whether the map path handles this source and view: 8-bit, nearest or
 * bilinear, one sample per pixel. Otherwise use tsr__warp_cpu. */
int tsr__remap_applies(const tsr_src_desc *s, const tsr_view_desc *v);
/* 0 or -1 when out of memory. 6 bytes per output pixel. */
int tsr__remap_build(const tsr_src_desc *s, const tsr_view_desc *v, int threads, tsr__remap *m);
void tsr__remap_apply(const tsr__remap *m, const tsr_src_desc *s, const tsr_view_desc *v, const uint8_t *src,
                      uint8_t *dst, int threads);
void tsr__remap_free(tsr__remap *m);
/* The CPU backend's warp of one view: through its map when it has one (m
 * may be NULL or unbuilt), else per pixel. */
void tsr__remap_or_warp(const tsr__remap *m, const tsr_src_desc *s, const tsr_view_desc *v, const uint8_t *src,
                        uint8_t *dst, int threads);

#endif
