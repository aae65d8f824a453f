/* tessera merge: a rig's views blended back into a panorama. */
#ifndef TESSERA_MERGE_H
#define TESSERA_MERGE_H

#include "tessera/rig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reverse of the split: the rig's views (views[i] is rig->views[i]'s
 * image, all with the same channels and depth) blended back into a
 * width x height equirectangular panorama with feathered weights. The
 * result carries an alpha channel: zero where no view sees the direction
 * (views that have alpha keep it, scaled by coverage). Runs on the
 * context's device; the CPU backend finishes if the device fails. The
 * caller frees *pano. */
TSR_API tsr_status tsr_merge(tsr_context *ctx, const tsr_rig *rig, const tsr_image *const *views, int width, int height,
                     tsr_image **pano);

/* The merge of one frame of a split's output folder: the views and their
 * geometry (angles, focal length, size) come from outdir/manifest.jsonl, so
 * any rig, --size or --hfov the split used merges back right. frame: the
 * frame's name, or NULL for the first one in the manifest (its name is
 * copied to frame_used when not NULL). The caller frees *pano. */
TSR_API tsr_status tsr_merge_split(tsr_context *ctx, const char *outdir, const char *frame, int width, int height,
                                   tsr_image **pano, char *frame_used, size_t frame_used_len);

/* Every frame of a split's output folder, merged on the streaming
 * pipeline into dest/<frame>.png (dest is created). dest/run.json records
 * the size and the split folder: a re-run with the same ones skips frames
 * whose panorama exists (resume), another size stops with TSR_E_MISMATCH
 * unless overwrite. A frame that cannot be merged is reported and the
 * others complete; tsr_context_cancel stops after the frames in flight. */
TSR_API tsr_status tsr_merge_frames(tsr_context *ctx, const char *outdir, const char *dest, int width, int height,
                                    int overwrite, int *frames_done, int *frames_skipped);

#ifdef __cplusplus
}
#endif
#endif
