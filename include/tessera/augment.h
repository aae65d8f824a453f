/* tessera augment: dataset augmentation that writes the same bytes on
 * every run, machine, device, thread count and shard.
 *
 * Each output's parameters come from Philox4x32-10 keyed by (seed,
 * xxHash64 of the input's path relative to its input root, copy index, op
 * index), never by order, thread, batch, shard or device; the pixels from
 * integer code shared by the CPU backend and the OpenCL kernels. The ops
 * grammar is in src/ops/augment_ops.h and the README. */
#ifndef TESSERA_AUGMENT_H
#define TESSERA_AUGMENT_H

#include "tessera/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  TSR_AUG_OUT_AUTO = 0, /* the input's format: JPEG stays JPEG, the rest PNG */
  TSR_AUG_OUT_PNG,
  TSR_AUG_OUT_JPEG,
  TSR_AUG_OUT_NPY /* uint8 arrays: (H, W, C) per image, (N, H, W, C) per clip */
} tsr_augment_format;

typedef struct {
  size_t struct_size;  /* sizeof(tsr_augment_options): TSR_AUGMENT_OPTIONS_INIT */
  const char *outdir;
  const char *ops;     /* the op list */
  uint64_t seed;
  int copies;          /* outputs per input (>= 1) */
  int frames;          /* videos: frames per clip, spread evenly (>= 1) */
  tsr_augment_format format;
  int quality;         /* JPEG outputs, 1..100 (0: 95) */
  int png_level;       /* PNG outputs: zlib level 1..9 (0: 1, the fastest) */
  int folds;           /* > 1: each input gets a fold in 0..folds-1 (stratified by label) */
  int shard, shards;   /* this process does shard `shard` of `shards` (0 of 1: all) */
  int batch;           /* items per device batch (0: planned) */
  int full_decode;     /* never decode a JPEG at a reduced DCT scale */
  int overwrite, progress;
} tsr_augment_options;
#define TSR_AUGMENT_OPTIONS_INIT {.struct_size = sizeof(tsr_augment_options), .copies = 1, .frames = 16, .shards = 1}

typedef struct {
  int items;              /* inputs of this shard */
  int done, skipped, failed;
  long outputs;           /* copies written */
  int videos;
  long decoded_frames;    /* video frames the decoder produced */
  long kept_frames;
  uint64_t peak_rss;
  double seconds;
} tsr_augment_result;

/* Augments the inputs (image files, folders of them, video files; the
 * first folder level under a folder input is the label) into outdir:
 * OUT/<relative path>_aug<k>.<ext> (clips: a folder of frames, or one
 * .npy), and OUT/manifest.csv (OUT/manifest.shard-<i>-of-<n>.csv for a
 * shard), appended as each output completes. A re-run resumes; one with
 * other options is refused unless overwrite. Bad inputs are reported by
 * name and the others complete (the first error is returned). */
TSR_API tsr_status tsr_augment(tsr_context *ctx, const char *const *inputs, int ninputs,
                               const tsr_augment_options *opts, tsr_augment_result *res);

/* Joins manifests (of the shards of one run) into out: one header, the
 * rows sorted by output path, duplicates dropped; refuses files whose
 * headers differ. Atomic. */
TSR_API tsr_status tsr_manifest_merge(tsr_context *ctx, const char *const *inputs, int ninputs, const char *out);

#ifdef __cplusplus
}
#endif
#endif
