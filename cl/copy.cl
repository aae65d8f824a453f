/* The bench's roofline: a plain copy, one 16-byte vector per work-item.
 * Achieved bandwidth = bytes read + bytes written over the kernel time. */
__kernel void tsr_copy(__global const uint4 *src, __global uint4 *dst) {
  size_t i = get_global_id(0);
  dst[i] = src[i];
}
