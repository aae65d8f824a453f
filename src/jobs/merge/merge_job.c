/* tessera merge on a split's output folder: the geometry comes from the
 * folder's manifest.jsonl (each line: the view's name, angles, focal length
 * and size, as the split wrote them), so the merge needs no rig or field of
 * view on the command line, and a split made with --size or --hfov merges
 * back right. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

static double num(const cJSON *j, const char *k, int *ok) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  if (!cJSON_IsNumber(v)) *ok = 0;
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

tsr_status tsr_merge_split(tsr_context *ctx, const char *outdir, const char *frame, int width, int height,
                           tsr_image **pano, char *frame_used, size_t frame_used_len) {
  if (!ctx || !outdir || !pano) return TSR_E_INVALID;
  *pano = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/manifest.jsonl", outdir);
  uint8_t *buf;
  size_t size;
  tsr_status st = tsr__read_file(ctx, path, &buf, &size);
  if (st) return tsr__fail(ctx, st, "%s: no manifest.jsonl (is it a tessera split's output folder?)", outdir);
  tsr_rig *rig = calloc(1, sizeof *rig);
  tsr_image **views = NULL;
  int cap = 0, line_no = 0;
  char chosen[256] = "";
  if (frame) snprintf(chosen, sizeof chosen, "%s", frame);
  size_t start = 0;
  for (size_t i = 0; i < size && !st && rig; i++) {
    if (buf[i] != '\n') continue;
    line_no++;
    cJSON *j = cJSON_ParseWithLength((const char *)buf + start, i - start);
    start = i + 1;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "frame"), *v = cJSON_GetObjectItemCaseSensitive(j, "view"),
                *p = cJSON_GetObjectItemCaseSensitive(j, "path");
    if (!cJSON_IsString(f) || !cJSON_IsString(v) || !cJSON_IsString(p)) {
      st = tsr__fail(ctx, TSR_E_CORRUPT, "%s:%d: not a manifest line", path, line_no);
    } else {
      if (!chosen[0]) snprintf(chosen, sizeof chosen, "%s", f->valuestring);
      if (!strcmp(chosen, f->valuestring)) {
        int ok = 1;
        tsr_rig_view rv;
        memset(&rv, 0, sizeof rv);
        snprintf(rv.name, sizeof rv.name, "%s", v->valuestring);
        rv.yaw = num(j, "yaw", &ok);
        rv.pitch = num(j, "pitch", &ok);
        rv.roll = num(j, "roll", &ok);
        double fx = num(j, "fx", &ok);
        rv.width = (int)num(j, "width", &ok);
        rv.height = (int)num(j, "height", &ok);
        if (!ok || fx <= 0 || rv.width < 1 || rv.height < 1) {
          st = tsr__fail(ctx, TSR_E_CORRUPT, "%s:%d: a view without its geometry", path, line_no);
        } else {
          rv.hfov = 2.0 * atan(0.5 * rv.width / fx) * 180.0 / 3.14159265358979323846;
          if (rig->nviews == cap) {
            cap = cap ? cap * 2 : 16;
            tsr_rig_view *g = realloc(rig->views, (size_t)cap * sizeof *g);
            tsr_image **gv = realloc(views, (size_t)cap * sizeof *gv);
            if (g) rig->views = g;
            if (gv) views = gv;
            if (!g || !gv) st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
          }
          if (!st) {
            char img[4400];
            snprintf(img, sizeof img, "%s/%s", outdir, p->valuestring);
            views[rig->nviews] = NULL;
            st = tsr_image_read(ctx, img, 0, &views[rig->nviews]);
            if (!st && (views[rig->nviews]->width != rv.width || views[rig->nviews]->height != rv.height))
              st = tsr__fail(ctx, TSR_E_CORRUPT, "%s is %dx%d, the manifest says %dx%d", img, views[rig->nviews]->width,
                             views[rig->nviews]->height, rv.width, rv.height);
            if (!st) rig->views[rig->nviews++] = rv;
            else tsr_image_free(views[rig->nviews]);
          }
        }
      }
    }
    cJSON_Delete(j);
  }
  free(buf);
  if (!rig) st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  if (!st && !rig->nviews)
    st = tsr__fail(ctx, TSR_E_INVALID, "%s: no views of frame '%s' in the manifest", outdir, chosen);
  if (!st) snprintf(rig->name, sizeof rig->name, "%s", "manifest");
  if (!st) st = tsr_merge(ctx, rig, (const tsr_image *const *)views, width, height, pano);
  if (!st && frame_used) snprintf(frame_used, frame_used_len, "%s", chosen);
  for (int i = 0; rig && i < rig->nviews; i++) tsr_image_free(views[i]);
  free(views);
  if (rig) free(rig->views);
  free(rig);
  return st;
}
