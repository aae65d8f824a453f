/* Rigs: the built-in sets of views and the JSON rig file format. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static const char *const k_builtin[] = {"ring8", "ring12", "cube", "dome16", "colmap12"};

const char *const *tsr_rig_builtin_names(int *count) {
  *count = (int)(sizeof k_builtin / sizeof *k_builtin);
  return k_builtin;
}

void tsr_rig_free(tsr_rig *rig) {
  if (!rig) return;
  free(rig->views);
  free(rig);
}

static tsr_rig *rig_new(const char *name, int n) {
  tsr_rig *r = calloc(1, sizeof *r);
  if (r) r->views = calloc((size_t)n, sizeof *r->views);
  if (!r || !r->views) {
    tsr_rig_free(r);
    return NULL;
  }
  snprintf(r->name, sizeof r->name, "%s", name);
  return r;
}

static void add_view(tsr_rig *r, const char *name, double yaw, double pitch, double hfov, int w, int h) {
  tsr_rig_view *v = &r->views[r->nviews++];
  if (name) snprintf(v->name, sizeof v->name, "%s", name);
  else snprintf(v->name, sizeof v->name, "y%03d_p%+03d", (int)lround(yaw), (int)lround(pitch));
  v->yaw = yaw;
  v->pitch = pitch;
  v->hfov = hfov;
  v->width = w;
  v->height = h;
}

static tsr_rig *builtin(const char *name) {
  tsr_rig *r = NULL;
  if (!strcmp(name, "ring8") && (r = rig_new(name, 8)))
    for (int i = 0; i < 8; i++) add_view(r, NULL, 45.0 * i, 0, 90, 1920, 1080);
  if (!strcmp(name, "ring12") && (r = rig_new(name, 12)))
    for (int i = 0; i < 12; i++) add_view(r, NULL, 30.0 * i, 0, 60, 1920, 1080);
  if (!strcmp(name, "cube") && (r = rig_new(name, 6))) {
    static const char *faces[6] = {"front", "right", "back", "left", "up", "down"};
    static const double yaw[6] = {0, 90, 180, 270, 0, 0}, pitch[6] = {0, 0, 0, 0, 90, -90};
    for (int i = 0; i < 6; i++) add_view(r, faces[i], yaw[i], pitch[i], 90, 1920, 1920);
  }
  if (!strcmp(name, "dome16") && (r = rig_new(name, 16))) {
    for (int i = 0; i < 8; i++) add_view(r, NULL, 45.0 * i, 0, 90, 1920, 1080);
    for (int i = 0; i < 4; i++) add_view(r, NULL, 90.0 * i, 45, 90, 1920, 1080);
    for (int i = 0; i < 4; i++) add_view(r, NULL, 45 + 90.0 * i, -45, 90, 1920, 1080); /* offset: fills the gaps */
  }
  if (!strcmp(name, "colmap12") && (r = rig_new(name, 12)))
    for (int p = -35; p <= 35; p += 35)
      for (int i = 0; i < 4; i++) add_view(r, NULL, 90.0 * i, p, 90, 1920, 1080);
  return r;
}

static int name_ok(const char *s) {
  if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) >= 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          strchr("-_.+", *s)))
      return 0;
  return 1;
}

static tsr_status number(tsr_context *ctx, const char *origin, int i, const cJSON *item, double lo, double hi,
                         double *out) {
  if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < lo || item->valuedouble > hi)
    return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d].%s must be a number in [%g, %g]", origin, i, item->string,
                     lo, hi);
  *out = item->valuedouble;
  return TSR_OK;
}

static tsr_status parse_view(tsr_context *ctx, const char *origin, int i, const cJSON *jv, tsr_rig_view *v) {
  if (!cJSON_IsObject(jv)) return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d] is not an object", origin, i);
  double w = 0, h = 0, vfov = 0;
  int has_h = 0, has_vfov = 0, has_w = 0;
  v->hfov = 90;
  snprintf(v->name, sizeof v->name, "view%02d", i);
  tsr_status st = TSR_OK;
  for (const cJSON *k = jv->child; k && !st; k = k->next) {
    if (!strcmp(k->string, "name")) {
      if (!cJSON_IsString(k) || !name_ok(k->valuestring))
        return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d].name must be a folder name (letters, digits, - _ . +)",
                         origin, i);
      snprintf(v->name, sizeof v->name, "%s", k->valuestring);
    } else if (!strcmp(k->string, "yaw")) st = number(ctx, origin, i, k, -360, 360, &v->yaw);
    else if (!strcmp(k->string, "pitch")) st = number(ctx, origin, i, k, -90, 90, &v->pitch);
    else if (!strcmp(k->string, "roll")) st = number(ctx, origin, i, k, -360, 360, &v->roll);
    else if (!strcmp(k->string, "hfov")) st = number(ctx, origin, i, k, 1, 179, &v->hfov);
    else if (!strcmp(k->string, "vfov")) st = number(ctx, origin, i, k, 1, 179, &vfov), has_vfov = 1;
    else if (!strcmp(k->string, "width")) st = number(ctx, origin, i, k, 1, TSR_MAX_DIM, &w), has_w = 1;
    else if (!strcmp(k->string, "height")) st = number(ctx, origin, i, k, 1, TSR_MAX_DIM, &h), has_h = 1;
    else return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d] has unknown key '%s'", origin, i, k->string);
  }
  if (st) return st;
  if (!has_w) return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d].width is missing", origin, i);
  if (has_h == has_vfov)
    return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d] needs exactly one of 'height' and 'vfov'", origin, i);
  if (w != floor(w) || h != floor(h))
    return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d].width/height must be whole numbers", origin, i);
  if (has_vfov) {
    /* Square pixels: the height that gives this vertical field of view. */
    const double d = 3.14159265358979323846 / 360.0;
    h = round(w * tan(vfov * d) / tan(v->hfov * d));
    if (h < 1 || h > TSR_MAX_DIM)
      return tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d].vfov gives a height of %.0f", origin, i, h);
  }
  v->width = (int)w;
  v->height = (int)h;
  return TSR_OK;
}

/* qsort has no context argument; rig parsing is rare, a thread-local holds
 * the rig whose names are sorted. */
static _Thread_local const tsr_rig *g_sort_rig;
static int cmp_view_name(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  int c = strcmp(g_sort_rig->views[x].name, g_sort_rig->views[y].name);
  return c ? c : (x > y) - (x < y);
}

tsr_status tsr_rig_parse(tsr_context *ctx, const char *json, const char *origin, tsr_rig **out) {
  *out = NULL;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 0);
  if (!root) {
    /* Where the parser stopped, as an editor counts: line and column from 1. */
    int line = 1, col = 1;
    if (!end || end < json) end = json;
    for (const char *c = json; c < end && *c; c++) {
      if (*c == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    if (!*end)
      return tsr__fail(ctx, TSR_E_INVALID, "%s: not valid JSON: it ends early (line %d, column %d)", origin, line, col);
    return tsr__fail(ctx, TSR_E_INVALID, "%s: not valid JSON at line %d, column %d, near '%.20s'", origin, line, col, end);
  }
  tsr_status st = TSR_OK;
  tsr_rig *r = NULL;
  const cJSON *views = cJSON_GetObjectItemCaseSensitive(root, "views");
  for (const cJSON *k = cJSON_IsObject(root) ? root->child : NULL; k; k = k->next)
    if (strcmp(k->string, "views")) {
      st = tsr__fail(ctx, TSR_E_INVALID, "%s: unknown key '%s' (a rig has only \"views\")", origin, k->string);
      goto done;
    }
  int n = cJSON_GetArraySize(views);
  if (!cJSON_IsArray(views) || n < 1) {
    st = tsr__fail(ctx, TSR_E_INVALID, "%s: 'views' must be a non-empty array", origin);
    goto done;
  }
  if (!(r = rig_new(origin, n))) {
    st = TSR_E_NOMEM;
    goto done;
  }
  /* Linear in the views: walk the array's list, then find duplicate names
   * by sorting their indices. */
  int i = 0;
  for (const cJSON *v = views->child; v && !st; v = v->next, i++) {
    st = parse_view(ctx, origin, i, v, &r->views[i]);
    r->nviews = i + 1;
  }
  if (!st) {
    int *order = malloc((size_t)n * sizeof *order);
    if (!order) {
      st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
      goto done;
    }
    for (int k = 0; k < n; k++) order[k] = k;
    g_sort_rig = r;
    qsort(order, (size_t)n, sizeof *order, cmp_view_name);
    for (int k = 1; k < n && !st; k++)
      if (!strcmp(r->views[order[k - 1]].name, r->views[order[k]].name)) {
        int later = order[k - 1] > order[k] ? order[k - 1] : order[k];
        st = tsr__fail(ctx, TSR_E_INVALID, "%s: views[%d].name '%s' is used twice", origin, later,
                       r->views[later].name);
      }
    free(order);
  }
done:
  cJSON_Delete(root);
  if (st) tsr_rig_free(r);
  else *out = r;
  return st;
}

tsr_status tsr_rig_get(tsr_context *ctx, const char *name_or_path, tsr_rig **out) {
  *out = NULL;
  if (!name_or_path) return TSR_E_INVALID;
  for (size_t i = 0; i < sizeof k_builtin / sizeof *k_builtin; i++)
    if (!strcmp(name_or_path, k_builtin[i])) {
      *out = builtin(name_or_path);
      return *out ? TSR_OK : TSR_E_NOMEM;
    }
  uint8_t *buf;
  size_t size;
  tsr_status st = tsr__read_file(ctx, name_or_path, &buf, &size);
  if (st) {
    if (st == TSR_E_IO && !strchr(name_or_path, '/') && !strchr(name_or_path, '.'))
      return tsr__fail(ctx, TSR_E_INVALID, "'%s' is neither a built-in rig (ring8, ring12, cube, dome16, colmap12) nor a file",
                       name_or_path);
    return st;
  }
  char *text = realloc(buf, size + 1);
  if (!text) {
    free(buf);
    return TSR_E_NOMEM;
  }
  text[size] = 0;
  st = tsr_rig_parse(ctx, text, name_or_path, out);
  free(text);
  return st;
}
