/* Camera geometry of a rig's views in the forms reconstruction tools read:
 * intrinsics, rig-relative rotations, COLMAP's rig_config.json and
 * cameras.txt.
 *
 * Frames: tessera's camera frame is x right, y up, z forward
 * (tsr_rotation_ypr gives camera-to-world); COLMAP's is x right, y down, z
 * forward, so C = diag(1, -1, 1) converts between them. The rig frame is
 * the first view's COLMAP camera frame, hence
 *   cam_i_from_rig = C R_i^T R_0 C. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "ops/warp_impl.h"
#include "ops/rig_impl.h"

void tsr_rig_view_intrinsics(const tsr_rig_view *v, double *fx, double *fy, double *cx, double *cy) {
  *fx = *fy = tsr__focal(v->width, v->hfov);
  *cx = 0.5 * v->width;
  *cy = 0.5 * v->height;
}

/* Rotation matrix (row-major) to a unit quaternion w, x, y, z with w >= 0. */
static void mat_to_quat(const double m[9], double q[4]) {
  double tr = m[0] + m[4] + m[8];
  if (tr > 0) {
    double s = sqrt(tr + 1.0) * 2;
    q[0] = 0.25 * s;
    q[1] = (m[7] - m[5]) / s;
    q[2] = (m[2] - m[6]) / s;
    q[3] = (m[3] - m[1]) / s;
  } else if (m[0] > m[4] && m[0] > m[8]) {
    double s = sqrt(1.0 + m[0] - m[4] - m[8]) * 2;
    q[0] = (m[7] - m[5]) / s;
    q[1] = 0.25 * s;
    q[2] = (m[1] + m[3]) / s;
    q[3] = (m[2] + m[6]) / s;
  } else if (m[4] > m[8]) {
    double s = sqrt(1.0 + m[4] - m[0] - m[8]) * 2;
    q[0] = (m[2] - m[6]) / s;
    q[1] = (m[1] + m[3]) / s;
    q[2] = 0.25 * s;
    q[3] = (m[5] + m[7]) / s;
  } else {
    double s = sqrt(1.0 + m[8] - m[0] - m[4]) * 2;
    q[0] = (m[3] - m[1]) / s;
    q[1] = (m[2] + m[6]) / s;
    q[2] = (m[5] + m[7]) / s;
    q[3] = 0.25 * s;
  }
  if (q[0] < 0)
    for (int i = 0; i < 4; i++) q[i] = -q[i];
  double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  for (int i = 0; i < 4; i++) q[i] /= n;
}

void tsr_rig_cam_from_rig(const tsr_rig *rig, int view, double q[4]) {
  const tsr_rig_view *a = &rig->views[0], *b = &rig->views[view];
  double r0[9], ri[9], m[9];
  tsr_rotation_ypr(a->yaw, a->pitch, a->roll, r0);
  tsr_rotation_ypr(b->yaw, b->pitch, b->roll, ri);
  const double c[3] = {1, -1, 1};
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double s = 0;
      for (int k = 0; k < 3; k++) s += ri[k * 3 + i] * r0[k * 3 + j]; /* (R_i^T R_0)_ij */
      m[i * 3 + j] = c[i] * s * c[j];
    }
  mat_to_quat(m, q);
}

static cJSON *numbers(const double *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
  return a;
}

tsr_status tsr__write_colmap(tsr_context *ctx, const tsr_rig *rig, const char *outdir) {
  cJSON *root = cJSON_CreateArray(), *r = cJSON_CreateObject(), *cams = cJSON_CreateArray();
  cJSON_AddItemToArray(root, r);
  cJSON_AddItemToObject(r, "cameras", cams);
  size_t cap = 256 + (size_t)rig->nviews * 160;
  char *txt = malloc(cap);
  if (!root || !txt) {
    cJSON_Delete(root);
    free(txt);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory writing the rig geometry");
  }
  size_t len = (size_t)snprintf(txt, cap,
                                "# Camera list with one line of data per camera:\n"
                                "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n"
                                "# Number of cameras: %d (one per view of rig %s, in rig order)\n",
                                rig->nviews, rig->name);
  for (int i = 0; i < rig->nviews; i++) {
    const tsr_rig_view *v = &rig->views[i];
    double k[4], q[4];
    tsr_rig_view_intrinsics(v, &k[0], &k[1], &k[2], &k[3]);
    tsr_rig_cam_from_rig(rig, i, q);
    cJSON *c = cJSON_CreateObject();
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%s/", v->name);
    cJSON_AddStringToObject(c, "image_prefix", prefix);
    if (i == 0) {
      cJSON_AddBoolToObject(c, "ref_sensor", 1);
    } else {
      const double t[3] = {0, 0, 0};
      cJSON_AddItemToObject(c, "cam_from_rig_rotation", numbers(q, 4));
      cJSON_AddItemToObject(c, "cam_from_rig_translation", numbers(t, 3));
    }
    cJSON_AddStringToObject(c, "camera_model_name", "PINHOLE");
    cJSON_AddItemToObject(c, "camera_params", numbers(k, 4));
    cJSON_AddItemToArray(cams, c);
    len += (size_t)snprintf(txt + len, cap - len, "%d PINHOLE %d %d %.12g %.12g %.12g %.12g\n", i + 1, v->width,
                            v->height, k[0], k[1], k[2], k[3]);
  }
  size_t n = strlen(outdir) + 32;
  char *path = malloc(n);
  tsr_status st = path ? TSR_OK : tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  if (!st) {
    snprintf(path, n, "%s/rig_config.json", outdir);
    st = tsr__write_json(ctx, path, root);
  }
  if (!st) {
    snprintf(path, n, "%s/cameras.txt", outdir);
    st = tsr__write_atomic(ctx, path, txt, len);
  }
  cJSON_Delete(root);
  free(path);
  free(txt);
  return st;
}
