/* Rigs: sets of perspective views of a 360° frame, and their camera geometry. */
#ifndef TESSERA_RIG_H
#define TESSERA_RIG_H

#include "tessera/warp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- rigs: sets of views of a 360° frame --------------------------------- */
typedef struct {
  char name[64]; /* output folder name: letters, digits, '-', '_', '.', '+' */
  double yaw, pitch, roll, hfov; /* degrees, conventions of tsr_view_equirect */
  int width, height;
} tsr_rig_view;

typedef struct {
  char name[64];
  int nviews;
  tsr_rig_view *views;
} tsr_rig;

/* Names of the built-in rigs (ring8, ring12, cube, dome16, colmap12). */
TSR_API const char *const *tsr_rig_builtin_names(int *count);
/* A built-in rig by name, or a JSON rig file when `name_or_path` is not a
 * built-in name: {"views": [{"name", "yaw", "pitch", "roll", "hfov",
 * "width", "height" | "vfov"}, ...]}. Unknown keys and bad values are errors
 * naming the key. The caller frees the rig with tsr_rig_free. */
TSR_API tsr_status tsr_rig_get(tsr_context *ctx, const char *name_or_path, tsr_rig **rig);
/* Parses rig JSON text; `origin` names it in messages. */
TSR_API tsr_status tsr_rig_parse(tsr_context *ctx, const char *json, const char *origin, tsr_rig **rig);
TSR_API void tsr_rig_free(tsr_rig *rig);
/* The panorama (8-bit gray or RGB), dimmed, with each view's footprint
 * outlined in its own colour and numbered at its centre (1 = first view).
 * The caller frees *out (8-bit RGB, the panorama's size). */
TSR_API tsr_status tsr_rig_coverage(tsr_context *ctx, const tsr_rig *rig, const tsr_image *pano, tsr_image **out);


/* The geometry the split writes, for one view of a rig: focal lengths and
 * principal point in pixels (pixel centres at i + 0.5), and the rotation
 * from the rig frame (the first view's camera) to this view's camera as a
 * quaternion w, x, y, z, both camera frames COLMAP's (x right, y down, z
 * forward). */
TSR_API void tsr_rig_view_intrinsics(const tsr_rig_view *v, double *fx, double *fy, double *cx, double *cy);
TSR_API void tsr_rig_cam_from_rig(const tsr_rig *rig, int view, double q[4]);

#ifdef __cplusplus
}
#endif
#endif
