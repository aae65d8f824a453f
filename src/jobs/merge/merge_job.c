/* tessera merge on a split's output folder. The geometry comes from the
 * folder's manifest.jsonl (each line: a view's name, angles, focal length
 * and size, as the split wrote them), so the merge needs no rig or field of
 * view on the command line, and a split made with --size or --hfov merges
 * back right.
 *
 * Every frame of the manifest runs through the pipeline: prepare (reader)
 * reads the frame's views, compute blends them on the context's device
 * (tsr_merge), a worker writes the panorama. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "pipeline/pipeline.h"

typedef struct {
  char frame[256];
  tsr_rig_view view;
  char path[512];
} entry;

typedef struct {
  entry *e;
  int n, cap;
  int *by_frame;       /* entry indices sorted by (frame, manifest order): a frame's views are a run */
  const char **frames; /* distinct frame names (into e), in order of first appearance */
  int nframes;
} manifest;

static void manifest_free(manifest *m) {
  free(m->e);
  free(m->by_frame);
  free(m->frames);
  memset(m, 0, sizeof *m);
}

/* qsort has no context argument: the entries being sorted. */
static _Thread_local const entry *g_entries;
static int cmp_by_frame(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  int c = strcmp(g_entries[x].frame, g_entries[y].frame);
  return c ? c : (x > y) - (x < y);
}
static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* Sorts the entries by frame once, so finding a frame's views and listing
 * the frames cost n log n, not n per frame. */
static tsr_status manifest_index(tsr_context *ctx, manifest *m) {
  m->by_frame = malloc((size_t)(m->n ? m->n : 1) * sizeof *m->by_frame);
  int *first = malloc((size_t)(m->n ? m->n : 1) * sizeof *first);
  m->frames = malloc((size_t)(m->n ? m->n : 1) * sizeof *m->frames);
  if (!m->by_frame || !first || !m->frames) {
    free(first);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  for (int i = 0; i < m->n; i++) m->by_frame[i] = i;
  g_entries = m->e;
  qsort(m->by_frame, (size_t)m->n, sizeof *m->by_frame, cmp_by_frame);
  int nf = 0;
  for (int i = 0; i < m->n; i++)
    if (!i || strcmp(m->e[m->by_frame[i - 1]].frame, m->e[m->by_frame[i]].frame)) first[nf++] = m->by_frame[i];
  qsort(first, (size_t)nf, sizeof *first, cmp_int);
  for (int i = 0; i < nf; i++) m->frames[i] = m->e[first[i]].frame;
  m->nframes = nf;
  free(first);
  return TSR_OK;
}

/* The run of by_frame holding a frame's views: *start, and the count. */
static int frame_run(const manifest *m, const char *frame, int *start) {
  int lo = 0, hi = m->n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (strcmp(m->e[m->by_frame[mid]].frame, frame) < 0) lo = mid + 1;
    else hi = mid;
  }
  int end = lo;
  while (end < m->n && !strcmp(m->e[m->by_frame[end]].frame, frame)) end++;
  *start = lo;
  return end - lo;
}

static double num(const cJSON *j, const char *k, int *ok) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  if (!cJSON_IsNumber(v)) *ok = 0;
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Every line of outdir/manifest.jsonl, with the field of view from fx. */
static tsr_status manifest_read(tsr_context *ctx, const char *outdir, manifest *m) {
  memset(m, 0, sizeof *m);
  char path[4096];
  snprintf(path, sizeof path, "%s/manifest.jsonl", outdir);
  uint8_t *buf;
  size_t size;
  tsr_status st = tsr__read_file(ctx, path, &buf, &size);
  if (st) return tsr__fail(ctx, st, "%s: no manifest.jsonl (is it a tessera split's output folder?)", outdir);
  size_t start = 0;
  int line_no = 0;
  for (size_t i = 0; i < size && !st; i++) {
    if (buf[i] != '\n') continue;
    line_no++;
    cJSON *j = cJSON_ParseWithLength((const char *)buf + start, i - start);
    start = i + 1;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "frame"), *v = cJSON_GetObjectItemCaseSensitive(j, "view"),
                *p = cJSON_GetObjectItemCaseSensitive(j, "path");
    int ok = cJSON_IsString(f) && cJSON_IsString(v) && cJSON_IsString(p);
    entry e;
    memset(&e, 0, sizeof e);
    double fx = 0;
    if (ok) {
      snprintf(e.frame, sizeof e.frame, "%s", f->valuestring);
      snprintf(e.view.name, sizeof e.view.name, "%s", v->valuestring);
      snprintf(e.path, sizeof e.path, "%s", p->valuestring);
      e.view.yaw = num(j, "yaw", &ok);
      e.view.pitch = num(j, "pitch", &ok);
      e.view.roll = num(j, "roll", &ok);
      fx = num(j, "fx", &ok);
      e.view.width = (int)num(j, "width", &ok);
      e.view.height = (int)num(j, "height", &ok);
    }
    cJSON_Delete(j);
    if (!ok || !(fx > 0) || e.view.width < 1 || e.view.height < 1 || e.view.width > TSR_MAX_DIM ||
        e.view.height > TSR_MAX_DIM) {
      st = tsr__fail(ctx, TSR_E_CORRUPT, "%s:%d: not a manifest line with a view's geometry", path, line_no);
      break;
    }
    e.view.hfov = 2.0 * atan(0.5 * e.view.width / fx) * 180.0 / 3.14159265358979323846;
    if (m->n == m->cap) {
      int cap = m->cap ? m->cap * 2 : 64;
      entry *g = realloc(m->e, (size_t)cap * sizeof *g);
      if (!g) {
        st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
        break;
      }
      m->e = g;
      m->cap = cap;
    }
    m->e[m->n++] = e;
  }
  free(buf);
  if (!st) st = manifest_index(ctx, m);
  if (st) manifest_free(m);
  return st;
}

static void frame_views_free(tsr_rig *rig, tsr_image **views) {
  for (int i = 0; rig && i < rig->nviews; i++) tsr_image_free(views[i]);
  free(views);
  if (rig) free(rig->views);
  free(rig);
}

/* The views of one frame: a rig and their images. */
static tsr_status frame_views(tsr_context *ctx, const char *outdir, const manifest *m, const char *frame,
                              tsr_rig **rig_out, tsr_image ***views_out) {
  int first, n = frame_run(m, frame, &first);
  if (!n) return tsr__fail(ctx, TSR_E_INVALID, "%s: no views of frame '%s' in the manifest", outdir, frame);
  tsr_rig *rig = calloc(1, sizeof *rig);
  tsr_image **views = calloc((size_t)n, sizeof *views);
  if (rig) rig->views = calloc((size_t)n, sizeof *rig->views);
  tsr_status st = rig && views && rig->views ? TSR_OK : tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  if (!st) snprintf(rig->name, sizeof rig->name, "manifest");
  for (int i = first; i < first + n && !st; i++) {
    const entry *e = &m->e[m->by_frame[i]];
    char img[4700];
    snprintf(img, sizeof img, "%s/%s", outdir, e->path);
    tsr_image *im = NULL;
    st = tsr_image_read(ctx, img, 0, &im);
    if (!st && (im->width != e->view.width || im->height != e->view.height))
      st = tsr__fail(ctx, TSR_E_CORRUPT, "%s is %dx%d, the manifest says %dx%d", img, im->width, im->height,
                     e->view.width, e->view.height);
    if (st) {
      tsr_image_free(im);
      break;
    }
    views[rig->nviews] = im;
    rig->views[rig->nviews++] = e->view;
  }
  if (st) {
    frame_views_free(rig, views);
    return st;
  }
  *rig_out = rig;
  *views_out = views;
  return TSR_OK;
}

tsr_status tsr_merge_split(tsr_context *ctx, const char *outdir, const char *frame, int width, int height,
                           tsr_image **pano, char *frame_used, size_t frame_used_len) {
  if (!ctx || !outdir || !pano) return TSR_E_INVALID;
  *pano = NULL;
  manifest m;
  tsr_status st = manifest_read(ctx, outdir, &m);
  if (st) return st;
  if (!m.nframes) {
    manifest_free(&m);
    return tsr__fail(ctx, TSR_E_EMPTY, "%s: the manifest lists no views", outdir);
  }
  const char *chosen = frame ? frame : m.frames[0];
  tsr_rig *rig = NULL;
  tsr_image **views = NULL;
  st = frame_views(ctx, outdir, &m, chosen, &rig, &views);
  if (!st) st = tsr_merge(ctx, rig, (const tsr_image *const *)views, width, height, pano);
  if (!st && frame_used) snprintf(frame_used, frame_used_len, "%s", chosen);
  frame_views_free(rig, views);
  manifest_free(&m);
  return st;
}

/* ---- every frame, through the pipeline ------------------------------------------ */
typedef struct {
  tsr_context *ctx;
  const char *outdir, *dest;
  int width, height, overwrite;
  manifest m;
} merge_job;

typedef struct {
  tsr_rig *rig;
  tsr_image **views;
  tsr_image *pano;
} merge_item;

static void dest_path(const merge_job *j, const char *frame, char *out, size_t n) {
  snprintf(out, n, "%s/%s.png", j->dest, frame);
}

static int merge_complete(void *job, tsr__item *it) {
  if (((merge_job *)job)->overwrite) return 0;
  char p[4600];
  dest_path(job, it->name, p, sizeof p);
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static tsr_status merge_prepare(void *job, tsr_context *lc, tsr__item *it) {
  merge_job *j = job;
  merge_item *mi = calloc(1, sizeof *mi);
  if (!mi) return tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  it->data = mi;
  return frame_views(lc, j->outdir, &j->m, it->name, &mi->rig, &mi->views);
}

static void merge_compute(void *job, tsr__pipeline *p, tsr__item **items, int n) {
  merge_job *j = job;
  for (int i = 0; i < n; i++) {
    merge_item *mi = items[i]->data;
    tsr_status st = tsr_merge(j->ctx, mi->rig, (const tsr_image *const *)mi->views, j->width, j->height, &mi->pano);
    frame_views_free(mi->rig, mi->views); /* the panorama is all the writer needs */
    mi->rig = NULL;
    mi->views = NULL;
    if (st) tsr__pipeline_fail(p, items[i], st, tsr_context_error(j->ctx));
    else tsr__pipeline_emit(p, items[i], 0, NULL);
  }
}

static tsr_status merge_unit(void *job, tsr_context *lc, tsr__item *it, int index, void *data) {
  (void)index;
  (void)data;
  char p[4600];
  dest_path(job, it->name, p, sizeof p);
  return tsr_image_write(lc, ((merge_item *)it->data)->pano, p, NULL);
}

static void merge_release(void *job, tsr__item *it) {
  (void)job;
  merge_item *mi = it->data;
  if (!mi) return;
  frame_views_free(mi->rig, mi->views);
  tsr_image_free(mi->pano);
  free(mi);
  it->data = NULL;
}

tsr_status tsr_merge_frames(tsr_context *ctx, const char *outdir, const char *dest, int width, int height,
                            int overwrite, int *frames_done, int *frames_skipped) {
  if (!ctx || !outdir || !dest) return TSR_E_INVALID;
  if (frames_done) *frames_done = 0;
  if (frames_skipped) *frames_skipped = 0;
  merge_job j;
  memset(&j, 0, sizeof j);
  j.ctx = ctx;
  j.outdir = outdir;
  j.dest = dest;
  j.width = width;
  j.height = height;
  j.overwrite = overwrite;
  tsr_status st = manifest_read(ctx, outdir, &j.m);
  if (st) return st;
  /* The panoramas depend on their size and on the split they come from. */
  char real[4096];
  cJSON *fp = cJSON_CreateObject();
  cJSON_AddNumberToObject(fp, "width", width);
  cJSON_AddNumberToObject(fp, "height", height);
  cJSON_AddStringToObject(fp, "split_folder", realpath(outdir, real) ? real : outdir);
  int lock_fd = -1;
  if (tsr__mkdirs(dest)) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", dest, strerror(errno));
  } else if ((st = tsr__outdir_lock(ctx, dest, &lock_fd)) ||
             (st = tsr__run_record(ctx, dest, "merge", fp, overwrite))) {
    /* the message names what changed */
  } else if (!j.m.nframes) {
    st = tsr__fail(ctx, TSR_E_EMPTY, "%s: the manifest lists no views", outdir);
  } else {
    tsr__pipeline_config cfg = {0};
    cfg.inputs = (const char *const *)j.m.frames;
    cfg.ninputs = j.m.nframes;
    cfg.named = 1;
    cfg.what = "merge";
    tsr__pipeline_ops ops = {0};
    ops.complete = merge_complete;
    ops.prepare = merge_prepare;
    ops.compute = merge_compute;
    ops.unit = merge_unit;
    ops.release = merge_release;
    ops.units_per_item = 1;
    tsr__pipeline_stats ps;
    st = tsr__pipeline_run(ctx, &cfg, &ops, &j, &ps);
    if (frames_done) *frames_done = ps.done;
    if (frames_skipped) *frames_skipped = ps.skipped;
  }
  tsr__outdir_unlock(lock_fd);
  cJSON_Delete(fp);
  manifest_free(&j.m);
  return st;
}
