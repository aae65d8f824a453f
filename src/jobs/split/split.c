/* tessera split: equirectangular frames to a rig's perspective views, on
 * the shared pipeline (src/pipeline/):
 *   prepare  (reader)   decodes a frame, only the planned row band at the
 *                       planned DCT scale for JPEG; picks the plan of its
 *                       kind (size, channels, depth, codec)
 *   compute  (caller)   on an OpenCL device: the planned batch of frames
 *                       goes into a warp stream (upload of the next batch
 *                       overlaps this one's kernel); on the CPU backend,
 *                       and after a device failure, frames go straight on
 *   units    (workers)  one per view: the CPU warp through the plan's
 *                       sampling data (unless the device made the view),
 *                       encode, write atomically, append the manifest.
 * Plans are made once per input kind (src/jobs/split/split_plan.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jobs/split/split_impl.h"
#include "ops/warp_impl.h"
#include "pipeline/pipeline.h"

#define MAX_PLANS 16
#define POOL_MAX 16

/* A plan with its output format and a pool of output images per view. */
#define SPARE_BANDS 2

typedef struct split split;

typedef struct {
  tsr__split_plan plan;
  const char *ext;
  int warp_built;
  pthread_t builder; /* builds the warp's plan while the reader decodes the first frames */
  int builder_started;
  split *sp;
  tsr_image **pool; /* nviews * POOL_MAX */
  int *npool;
  /* Decoded JPEG bands of finished frames, for the next frames to decode
   * into: a fresh 30 MB band per 8K frame costs its page faults again. */
  tsr_image *spare[SPARE_BANDS];
  int nspare;
} kind;

/* A batch on the device: its items, in order. */
typedef struct {
  int n;
  tsr__item *items[];
} chunk;

struct split {
  tsr_context *ctx;
  const tsr_split_options *o;
  tsr_rig *rig;
  tsr__manifest man;
  uint8_t **mask_png;
  size_t *mask_size;
  pthread_mutex_t lock; /* plans, pools, stats */
  kind *kinds[MAX_PLANS];
  int nkinds;
  tsr_split_stats *st;
  /* the compute stage's device state */
  tsr__warp_stream *stream;
  int stream_kind;
  int cpu_only; /* no device, --copy-only, or the device failed */
  int bands_kept_max; /* the most decoded bands held for reuse at once (--stats) */
};

static void add_time(split *sp, double *field, double t) {
  pthread_mutex_lock(&sp->lock);
  *field += t;
  pthread_mutex_unlock(&sp->lock);
}

/* ---- paths and resume ---------------------------------------------------- */
static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The extension of view v's existing output for this stem, or NULL. Unless
 * --format fixes it, either extension counts (each kind has its own). */
static const char *existing_ext(split *sp, int v, const char *stem) {
  static const char *const exts[] = {"jpg", "png"};
  char path[4096];
  for (int k = 0; k < 2; k++) {
    if (sp->o->format && strcmp(sp->o->format, exts[k])) continue;
    snprintf(path, sizeof path, "%s/%s/%s.%s", sp->o->outdir, sp->rig->views[v].name, stem, exts[k]);
    if (exists(path)) return exts[k];
  }
  return NULL;
}

/* A stream's frames are not skipped: frame_000001 of this stream need not
 * be frame_000001 of the last one, so they are always written. */
static int frame_complete(void *job, tsr__item *it) {
  split *sp = job;
  if (sp->o->overwrite || it->from_stdin) return 0;
  char path[4096];
  for (int v = 0; v < sp->rig->nviews; v++) {
    if (!existing_ext(sp, v, it->name)) return 0;
    if (sp->o->mask_nadir > 0) {
      snprintf(path, sizeof path, "%s/masks/%s/%s.png", sp->o->outdir, sp->rig->views[v].name, it->name);
      if (!exists(path)) return 0;
    }
  }
  return 1;
}

static tsr_status manifest_line(tsr_context *ctx, split *sp, const char *stem, int v, const char *ext) {
  const tsr_rig_view *rv = &sp->rig->views[v];
  double fx, fy, cx, cy;
  tsr_rig_view_intrinsics(rv, &fx, &fy, &cx, &cy);
  char path[600];
  snprintf(path, sizeof path, "%s/%s.%s", rv->name, stem, ext);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "frame", stem);
  cJSON_AddStringToObject(j, "view", rv->name);
  cJSON_AddStringToObject(j, "path", path);
  cJSON_AddNumberToObject(j, "yaw", rv->yaw);
  cJSON_AddNumberToObject(j, "pitch", rv->pitch);
  cJSON_AddNumberToObject(j, "roll", rv->roll);
  cJSON_AddNumberToObject(j, "fx", fx);
  cJSON_AddNumberToObject(j, "fy", fy);
  cJSON_AddNumberToObject(j, "cx", cx);
  cJSON_AddNumberToObject(j, "cy", cy);
  cJSON_AddNumberToObject(j, "width", rv->width);
  cJSON_AddNumberToObject(j, "height", rv->height);
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!s) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  size_t n = strlen(s);
  char *line = malloc(n + 2);
  tsr_status st = TSR_E_NOMEM;
  if (line) {
    memcpy(line, s, n);
    memcpy(line + n, "\n", 2);
    st = tsr__manifest_add(ctx, &sp->man, stem, rv->name, line);
    free(line);
  }
  cJSON_free(s);
  return st;
}

/* A frame whose outputs all exist: add any manifest lines an interrupted
 * run did not get to write. */
static void frame_skipped(void *job, tsr_context *lc, tsr__item *it) {
  split *sp = job;
  for (int v = 0; v < sp->rig->nviews; v++) {
    const char *ext = existing_ext(sp, v, it->name);
    if (ext && manifest_line(lc, sp, it->name, v, ext))
      tsr__warn(sp->ctx, "%s: %s", it->name, tsr_context_error(lc));
  }
}

/* ---- plans per input kind -------------------------------------------------- */
static void *builder_main(void *arg);

static void kind_free(kind *k, int nviews) {
  if (!k) return;
  if (k->builder_started) pthread_join(k->builder, NULL);
  if (k->pool)
    for (int v = 0; v < nviews; v++)
      for (int i = 0; i < k->npool[v]; i++) tsr_image_free(k->pool[v * POOL_MAX + i]);
  for (int i = 0; i < k->nspare; i++) tsr_image_free(k->spare[i]);
  free(k->pool);
  free(k->npool);
  tsr__split_plan_free(&k->plan);
  free(k);
}

/* The plan for frames of this kind, made on first sight. */
static tsr_status kind_for(split *sp, tsr_context *lc, const char *name, int w, int h, int ch, int depth, int jpeg,
                           int *index) {
  pthread_mutex_lock(&sp->lock);
  for (int i = 0; i < sp->nkinds; i++) {
    const tsr__split_plan *p = &sp->kinds[i]->plan;
    if (p->src_w == w && p->src_h == h && p->channels == ch && p->depth == depth && p->jpeg == jpeg) {
      *index = i;
      pthread_mutex_unlock(&sp->lock);
      return TSR_OK;
    }
  }
  pthread_mutex_unlock(&sp->lock);
  const tsr_split_options *o = sp->o;
  if (o->format && !strcmp(o->format, "jpg") && (depth != 8 || ch == 2 || ch == 4))
    return tsr__fail(lc, TSR_E_UNSUPPORTED, "%s: JPEG output cannot hold %s; use --format png", name,
                     depth != 8 ? "16-bit samples" : "an alpha channel");
  if (sp->nkinds == MAX_PLANS)
    return tsr__fail(lc, TSR_E_UNSUPPORTED, "%s: more than %d kinds of frame (size, channels, depth, codec) in one run",
                     name, MAX_PLANS);
  double t = tsr__now();
  kind *k = calloc(1, sizeof *k);
  int nv = sp->rig->nviews;
  if (!k || !(k->pool = calloc((size_t)nv * POOL_MAX, sizeof *k->pool)) || !(k->npool = calloc((size_t)nv, sizeof *k->npool))) {
    kind_free(k, nv);
    return tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  }
  tsr_status st = tsr__split_plan_make(lc, sp->rig, o->interp, !o->no_antialias, !o->full_decode, w, h, ch, depth,
                                       jpeg, &k->plan);
  if (st) {
    kind_free(k, nv);
    return st;
  }
  k->ext = o->format ? o->format : depth == 8 && (ch == 1 || ch == 3) ? "jpg" : "png";
  k->sp = sp;
  /* The warp's plan (every backend samples through it) is built now,
   * beside the reader's decode of this first frame, not after it. */
  if (!o->copy_only) k->builder_started = pthread_create(&k->builder, NULL, builder_main, k) == 0;
  pthread_mutex_lock(&sp->lock);
  *index = sp->nkinds;
  sp->kinds[sp->nkinds++] = k;
  tsr_split_stats *s = sp->st;
  s->plans = sp->nkinds;
  s->plan_s += tsr__now() - t;
  if (sp->nkinds == 1) {
    s->src_width = w;
    s->src_height = h;
    s->dct_denom = k->plan.denom;
    s->band_row0 = k->plan.row0;
    s->band_rows = k->plan.rows;
  }
  pthread_mutex_unlock(&sp->lock);
  return TSR_OK;
}

static kind *kind_at(split *sp, int i) {
  pthread_mutex_lock(&sp->lock);
  kind *k = sp->kinds[i];
  pthread_mutex_unlock(&sp->lock);
  return k;
}

/* Reader: decode the frame (JPEG: the band at the DCT scale), pick its plan. */
static tsr_status prepare(void *job, tsr_context *lc, tsr__item *it) {
  split *sp = job;
  const char *name = it->path ? it->path : it->name;
  tsr_status st;
  it->group = -1; /* no plan until one is found */
  if (it->bytes) {
    const uint8_t *buf = it->bytes;
    size_t size = it->size;
    int jpeg = size >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF;
    if (jpeg && !sp->o->full_decode) {
      int w, h, ch;
      if ((st = tsr__jpeg_info(lc, buf, size, name, &w, &h, &ch))) return st;
      if ((st = kind_for(sp, lc, name, w, h, ch, 8, 1, &it->group))) return st;
      kind *k = kind_at(sp, it->group);
      const tsr__split_plan *p = &k->plan;
      tsr_image *reuse = NULL, *img;
      pthread_mutex_lock(&sp->lock);
      if (k->nspare) reuse = k->spare[--k->nspare];
      pthread_mutex_unlock(&sp->lock);
      img = reuse;
      st = tsr__jpeg_decode_band(lc, buf, size, name, p->denom, p->row0, p->rows, &img);
      /* Not taken (another shape), the band is still ours to free; taken,
       * it is the result, or already freed on failure. */
      if (st) tsr_image_free(img);
      else if (img != reuse) tsr_image_free(reuse);
      if (!st) it->img = img;
      return st;
    }
    if ((st = tsr_image_decode(lc, buf, size, name, 0, &it->img))) return st;
  }
  tsr_image *im = it->img;
  return kind_for(sp, lc, name, im->width, im->height, im->channels, im->depth, 0, &it->group);
}

/* ---- output images ------------------------------------------------------------ */
static tsr_image *out_get(split *sp, kind *k, int v) {
  tsr_image *im = NULL;
  pthread_mutex_lock(&sp->lock);
  if (k->npool[v]) im = k->pool[v * POOL_MAX + --k->npool[v]];
  pthread_mutex_unlock(&sp->lock);
  if (!im) {
    const tsr_rig_view *rv = &sp->rig->views[v];
    if (tsr_image_create(rv->width, rv->height, k->plan.channels, k->plan.depth, &im)) return NULL;
  }
  return im;
}

static void out_put(split *sp, kind *k, int v, tsr_image *im) {
  if (!im) return;
  pthread_mutex_lock(&sp->lock);
  if (k->npool[v] < POOL_MAX) {
    k->pool[v * POOL_MAX + k->npool[v]++] = im;
    im = NULL;
  }
  pthread_mutex_unlock(&sp->lock);
  tsr_image_free(im);
}

/* ---- compute ----------------------------------------------------------------- */
/* The codec floor's stand-in for the warp: an equally sized region of the
 * decoded band, rows and columns wrapping where the band is smaller. */
static void copy_region(const tsr_image *src, int v, tsr_image *dst) {
  size_t bpp = tsr_image_bytes_per_pixel(src);
  int x0 = src->width > dst->width ? (v * dst->width) % (src->width - dst->width + 1) : 0;
  for (int y = 0; y < dst->height; y++) {
    const uint8_t *s = src->data + (size_t)(y % src->height) * src->stride;
    uint8_t *d = dst->data + (size_t)y * dst->stride;
    if (dst->width + x0 <= src->width) {
      memcpy(d, s + (size_t)x0 * bpp, (size_t)dst->width * bpp);
    } else {
      for (int x = 0; x < dst->width; x++) memcpy(d + (size_t)x * bpp, s + (size_t)((x0 + x) % src->width) * bpp, bpp);
    }
  }
}

/* The kind's warp plan (sampling data for every backend), built once with
 * every thread. A failure leaves it unbuilt; the frames then fail. */
static void make_warp(split *sp, kind *k) {
  double t = tsr__now();
  if (tsr__split_plan_warp(NULL, &k->plan, sp->ctx->threads))
    tsr__warn(sp->ctx, "out of memory planning the warp of %d views", k->plan.nviews);
  add_time(sp, &sp->st->plan_s, tsr__now() - t);
}

static void *builder_main(void *arg) {
  kind *k = arg;
  make_warp(k->sp, k);
  return NULL;
}

/* Compute stage: the plan is ready once this returns (built here, or by
 * the builder thread kind_for started). */
static void build_warp(split *sp, kind *k) {
  if (k->warp_built || sp->o->copy_only) return;
  if (k->builder_started) pthread_join(k->builder, NULL);
  else make_warp(sp, k);
  k->builder_started = 0;
  k->warp_built = 1;
}

/* CPU backend: the pyramid levels the kind's views sample, for one frame
 * (the compute stage builds them before the frame's views go out). */
static void cpu_levels(split *sp, tsr__item *it) {
  kind *k = kind_at(sp, it->group);
  const tsr__warp_plan *wp = &k->plan.wp;
  if (sp->o->copy_only || !wp->vd || !wp->level_bytes || it->levels) return;
  double t = tsr__now();
  if ((it->levels = malloc(wp->level_bytes))) tsr__warp_levels_cpu(wp, it->img->data, it->levels, 1);
  add_time(sp, &sp->st->warp_s, tsr__now() - t);
}

/* Hands a frame's views to the workers; outs (the device's) or NULL. */
static void emit(tsr__pipeline *p, tsr__item *it, int nviews) {
  tsr_image **outs = it->data;
  for (int v = 0; v < nviews; v++) tsr__pipeline_emit(p, it, v, outs ? outs[v] : NULL);
}

static void emit_chunk(split *sp, tsr__pipeline *p, chunk *c) {
  if (!c) return;
  for (int i = 0; i < c->n; i++) emit(p, c->items[i], sp->rig->nviews);
  free(c);
}

/* Outputs the device made are given back; the CPU makes them instead. */
static void to_cpu(split *sp, tsr__pipeline *p, tsr__item *it) {
  tsr_image **outs = it->data;
  kind *k = kind_at(sp, it->group);
  if (outs)
    for (int v = 0; v < sp->rig->nviews; v++) out_put(sp, k, v, outs[v]);
  free(outs);
  it->data = NULL;
  cpu_levels(sp, it);
  emit(p, it, sp->rig->nviews);
}

static void close_stream(split *sp, int keep) {
  if (!sp->stream) return;
  tsr_warp_stats ws;
  tsr__warp_stream_stats(sp->stream, &ws);
  tsr_split_stats *s = sp->st;
  pthread_mutex_lock(&sp->lock);
  s->upload_s += ws.upload_s;
  s->kernel_s += ws.kernel_s;
  s->download_s += ws.download_s;
  s->launches += ws.launches;
  s->launches_overlapped += ws.overlapped;
  if (ws.batch_run_max > s->batch) s->batch = ws.batch_run_max;
  s->pinned |= ws.pinned;
  if (ws.device_bytes > s->device_bytes) s->device_bytes = ws.device_bytes;
  pthread_mutex_unlock(&sp->lock);
  tsr__warp_stream_close(sp->stream, keep);
  sp->stream = NULL;
}

/* The device failed: everything it holds and the batch in hand go to the
 * CPU backend's fast path, and so does the rest of the job. */
static void fall_back(split *sp, tsr__pipeline *p, tsr__item **items, int n) {
  tsr__device_failed(sp->ctx);
  tsr__warn(sp->ctx, "%s (%s) failed, the CPU backend finishes the split: %s", sp->ctx->dev->id, sp->ctx->dev->name,
            tsr_context_error(sp->ctx));
  sp->cpu_only = 1;
  sp->st->fell_back = 1;
  pthread_mutex_lock(&sp->lock);
  for (int i = 0; i < sp->nkinds; i++) {
    kind *k = sp->kinds[i];
    pthread_mutex_unlock(&sp->lock);
    build_warp(sp, k);
    pthread_mutex_lock(&sp->lock);
  }
  pthread_mutex_unlock(&sp->lock);
  void *tags[4];
  int npend = sp->stream ? tsr__warp_stream_pending(sp->stream, tags) : 0;
  close_stream(sp, 0); /* waits for the queues: no transfer touches the frames after this */
  for (int t = 0; t < npend; t++) {
    chunk *c = tags[t];
    for (int i = 0; i < c->n; i++) to_cpu(sp, p, c->items[i]);
    free(c);
  }
  for (int i = 0; i < n; i++) to_cpu(sp, p, items[i]);
}

/* Collects every batch on the device and hands its views on. */
static void flush(void *job, tsr__pipeline *p) {
  split *sp = job;
  while (sp->stream) {
    void *tag = NULL;
    if (tsr__warp_stream_collect(sp->stream, &tag)) {
      fall_back(sp, p, NULL, 0);
      return;
    }
    if (!tag) break;
    emit_chunk(sp, p, tag);
  }
}

static void drain(void *job, tsr__pipeline *p) {
  flush(job, p);
  close_stream(job, 1);
}

/* Frames per compute call: the device stream's planned batch (opened here,
 * per kind), 1 on the CPU. */
static int batch_for(void *job, tsr__pipeline *p, tsr__item *first) {
  split *sp = job;
  kind *k = kind_at(sp, first->group);
  if (!sp->cpu_only && sp->stream && sp->stream_kind != first->group) drain(sp, p);
  if (!sp->cpu_only && !sp->stream) {
    /* An OpenCL CPU device shares the host's cores and memory: a frame
     * already gives it millions of work-items, and more frames per launch
     * only stop decoding and encoding from overlapping the kernel. */
    int max = sp->o->batch > 0 ? sp->o->batch : tsr_context_device(sp->ctx)->type == TSR_DEVTYPE_CL_CPU ? 1 : 64;
    int retries = 0;
    build_warp(sp, k);
    tsr_status st = k->plan.wp.vd ? tsr__warp_stream_open(sp->ctx, &k->plan.wp, max, &sp->stream, &retries)
                                  : TSR_E_NOMEM;
    sp->st->retries += retries;
    if (st) {
      fall_back(sp, p, NULL, 0);
    } else {
      sp->stream_kind = first->group;
      pthread_mutex_lock(&sp->lock);
      if (tsr__warp_stream_batch(sp->stream) > sp->st->batch_planned)
        sp->st->batch_planned = tsr__warp_stream_batch(sp->stream);
      pthread_mutex_unlock(&sp->lock);
    }
  }
  if (sp->cpu_only) {
    build_warp(sp, k);
    return 1;
  }
  return tsr__warp_stream_batch(sp->stream);
}

static void compute(void *job, tsr__pipeline *p, tsr__item **items, int n) {
  split *sp = job;
  int nv = sp->rig->nviews;
  if (sp->cpu_only) {
    for (int i = 0; i < n; i++) {
      cpu_levels(sp, items[i]);
      emit(p, items[i], nv);
    }
    return;
  }
  kind *k = kind_at(sp, items[0]->group);
  double t = tsr__now();
  chunk *c = malloc(sizeof *c + sizeof *c->items * (size_t)n);
  const tsr_image **srcs = malloc(sizeof *srcs * (size_t)n);
  tsr_image **outs = malloc(sizeof *outs * (size_t)n * (size_t)nv);
  int ok = c && srcs && outs;
  for (int i = 0; i < n && ok; i++) {
    tsr_image **o = calloc((size_t)nv, sizeof *o);
    items[i]->data = o;
    ok = o != NULL;
    for (int v = 0; v < nv && ok; v++) ok = (o[v] = outs[i * nv + v] = out_get(sp, k, v)) != NULL;
    srcs[i] = items[i]->img;
  }
  if (!ok) {
    free(c);
    free(srcs);
    free(outs);
    for (int i = 0; i < n; i++) to_cpu(sp, p, items[i]); /* host memory is short: go frame by frame */
    return;
  }
  c->n = n;
  memcpy(c->items, items, sizeof *items * (size_t)n);
  void *done = NULL;
  tsr_status st = tsr__warp_stream_submit(sp->stream, srcs, n, outs, c, &done);
  free(srcs);
  free(outs);
  add_time(sp, &sp->st->warp_s, tsr__now() - t);
  emit_chunk(sp, p, done); /* collected before the submit, even when the submit then failed */
  if (st) {
    free(c);
    fall_back(sp, p, items, n);
  }
}

/* ---- workers: warp on the CPU, encode, write ------------------------------------- */
static tsr_status unit(void *job, tsr_context *lc, tsr__item *it, int v, void *data) {
  split *sp = job;
  kind *k = kind_at(sp, it->group);
  tsr__split_plan *p = &k->plan;
  tsr_image *out = data;
  if (!out) {
    double t = tsr__now();
    if (!(out = out_get(sp, k, v))) return tsr__fail(lc, TSR_E_NOMEM, "out of memory for view %s", sp->rig->views[v].name);
    if (sp->o->copy_only) {
      copy_region(it->img, v, out);
    } else if (!p->wp.vd || (p->wp.level_bytes && !it->levels)) {
      out_put(sp, k, v, out);
      return tsr__fail(lc, TSR_E_NOMEM, "out of memory for the warp of view %s", sp->rig->views[v].name);
    } else {
      tsr__warp_view_cpu(&p->wp, v, it->img->data, it->levels, out->data, 1);
    }
    add_time(sp, &sp->st->warp_s, tsr__now() - t);
  } else {
    ((tsr_image **)it->data)[v] = NULL; /* the worker owns it now */
  }
  const tsr_rig_view *rv = &sp->rig->views[v];
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s.%s", sp->o->outdir, rv->name, it->name, k->ext);
  double t = tsr__now();
  char *mem = NULL;
  size_t n = 0;
  FILE *fp = open_memstream(&mem, &n);
  tsr_status st;
  if (!fp) {
    st = tsr__fail(lc, TSR_E_NOMEM, "%s: out of memory", path);
  } else {
    if (!strcmp(k->ext, "jpg")) {
      tsr_write_options wo = TSR_WRITE_OPTIONS_INIT;
      wo.quality = sp->o->quality ? sp->o->quality : 95;
      st = tsr__jpeg_encode(lc, out, path, &wo, fp);
    } else {
      st = tsr__png_encode(lc, out, path, 0, fp);
    }
    if (fclose(fp) && !st) st = tsr__fail(lc, TSR_E_NOMEM, "%s: out of memory", path);
  }
  out_put(sp, k, v, out);
  double t1 = tsr__now();
  add_time(sp, &sp->st->encode_s, t1 - t);
  if (!st) st = tsr__write_atomic(lc, path, mem, n);
  free(mem);
  if (!st && sp->mask_png) {
    snprintf(path, sizeof path, "%s/masks/%s/%s.png", sp->o->outdir, rv->name, it->name);
    st = tsr__write_atomic(lc, path, sp->mask_png[v], sp->mask_size[v]);
  }
  if (!st) st = manifest_line(lc, sp, it->name, v, k->ext);
  add_time(sp, &sp->st->write_s, tsr__now() - t1);
  return st;
}

static void release(void *job, tsr__item *it) {
  split *sp = job;
  tsr_image **outs = it->data;
  kind *k = it->group >= 0 ? kind_at(sp, it->group) : NULL;
  if (outs)
    for (int v = 0; v < sp->rig->nviews; v++) out_put(sp, k, v, outs[v]);
  free(outs);
  it->data = NULL;
  if (k && it->img && k->plan.jpeg && !sp->o->full_decode) { /* a band: kept for the next frame of this kind */
    pthread_mutex_lock(&sp->lock);
    if (k->nspare < SPARE_BANDS) {
      k->spare[k->nspare++] = it->img;
      it->img = NULL;
      int held = 0;
      for (int i = 0; i < sp->nkinds; i++) held += sp->kinds[i]->nspare;
      if (held > sp->bands_kept_max) sp->bands_kept_max = held;
    }
    pthread_mutex_unlock(&sp->lock);
  }
}

/* ---- setup and the run --------------------------------------------------- */
static tsr_status apply_overrides(tsr_context *ctx, const tsr_split_options *o, tsr_rig *rig) {
  for (int i = 0; i < rig->nviews; i++) {
    tsr_rig_view *v = &rig->views[i];
    if (o->width > 0 && o->height > 0) {
      v->width = o->width;
      v->height = o->height;
    }
    if (o->hfov > 0) {
      if (o->hfov >= 180) return tsr__fail(ctx, TSR_E_INVALID, "--hfov %g: a pinhole view needs less than 180 degrees", o->hfov);
      v->hfov = o->hfov;
    }
  }
  return TSR_OK;
}

static tsr_status make_masks(split *sp) {
  int nv = sp->rig->nviews;
  sp->mask_png = calloc((size_t)nv, sizeof *sp->mask_png);
  sp->mask_size = calloc((size_t)nv, sizeof *sp->mask_size);
  if (!sp->mask_png || !sp->mask_size) return tsr__fail(sp->ctx, TSR_E_NOMEM, "out of memory");
  for (int v = 0; v < nv; v++) {
    tsr_image *m;
    tsr_status st = tsr__nadir_mask(&sp->rig->views[v], sp->o->mask_nadir, &m);
    if (st) return tsr__fail(sp->ctx, st, "out of memory for masks");
    char *mem = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&mem, &n);
    st = fp ? tsr__png_encode(sp->ctx, m, "mask", 0, fp) : TSR_E_NOMEM;
    if (fp) fclose(fp);
    tsr_image_free(m);
    sp->mask_png[v] = (uint8_t *)mem;
    sp->mask_size[v] = n;
    if (st) return st;
  }
  return TSR_OK;
}

/* Everything that determines the outputs, for OUT/run.json. */
static cJSON *fingerprint(const split *sp) {
  const tsr_split_options *o = sp->o;
  static const char *const interp[] = {"nearest", "bilinear", "bicubic", "lanczos3"};
  cJSON *f = cJSON_CreateObject();
  cJSON *views = cJSON_AddArrayToObject(f, "rig");
  for (int v = 0; v < sp->rig->nviews; v++) {
    const tsr_rig_view *rv = &sp->rig->views[v];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", rv->name);
    cJSON_AddNumberToObject(j, "yaw", rv->yaw);
    cJSON_AddNumberToObject(j, "pitch", rv->pitch);
    cJSON_AddNumberToObject(j, "roll", rv->roll);
    cJSON_AddNumberToObject(j, "hfov", rv->hfov);
    cJSON_AddNumberToObject(j, "width", rv->width);
    cJSON_AddNumberToObject(j, "height", rv->height);
    cJSON_AddItemToArray(views, j);
  }
  cJSON_AddStringToObject(f, "interp", interp[o->interp]);
  cJSON_AddBoolToObject(f, "antialias", !o->no_antialias);
  cJSON_AddStringToObject(f, "format", o->format ? o->format : "auto");
  cJSON_AddNumberToObject(f, "quality", o->quality ? o->quality : 95);
  cJSON_AddNumberToObject(f, "mask_nadir", o->mask_nadir);
  cJSON_AddBoolToObject(f, "full_decode", o->full_decode);
  cJSON_AddBoolToObject(f, "copy_only", o->copy_only);
  cJSON *s = cJSON_AddObjectToObject(f, "video_sampling");
  cJSON_AddNumberToObject(s, "fps", o->fps);
  cJSON_AddNumberToObject(s, "every", o->every);
  cJSON_AddNumberToObject(s, "start", o->start);
  cJSON_AddNumberToObject(s, "duration", o->duration);
  return f;
}

static void write_stats(split *sp) {
  const tsr_split_stats *s = sp->st;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "device", s->device);
  cJSON_AddNumberToObject(j, "frames_total", s->frames_total);
  cJSON_AddNumberToObject(j, "frames_done", s->frames_done);
  cJSON_AddNumberToObject(j, "frames_skipped", s->frames_skipped);
  cJSON_AddNumberToObject(j, "frames_failed", s->frames_failed);
  cJSON_AddNumberToObject(j, "frames_dropped", s->frames_dropped);
  cJSON_AddNumberToObject(j, "views_written", (double)s->views_written);
  cJSON *t = cJSON_AddObjectToObject(j, "seconds");
  cJSON_AddNumberToObject(t, "wall", s->wall_s);
  cJSON_AddNumberToObject(t, "plan", s->plan_s);
  cJSON_AddNumberToObject(t, "read", s->read_s);
  cJSON_AddNumberToObject(t, "decode", s->decode_s);
  cJSON_AddNumberToObject(t, "warp", s->warp_s);
  cJSON_AddNumberToObject(t, "encode", s->encode_s);
  cJSON_AddNumberToObject(t, "write", s->write_s);
  cJSON_AddNumberToObject(t, "upload", s->upload_s);
  cJSON_AddNumberToObject(t, "kernel", s->kernel_s);
  cJSON_AddNumberToObject(t, "download", s->download_s);
  cJSON_AddStringToObject(j, "stage_seconds_note",
                          "summed over the threads of each stage; upload, kernel and download are OpenCL device "
                          "times (profiling events) within warp, 0 on the CPU backend");
  cJSON_AddBoolToObject(j, "pinned_transfers", s->pinned);
  cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)s->peak_rss);
  cJSON_AddNumberToObject(j, "peak_device_bytes", (double)s->device_bytes);
  cJSON_AddNumberToObject(j, "batch", s->batch);
  cJSON_AddNumberToObject(j, "batch_planned", s->batch_planned);
  cJSON_AddNumberToObject(j, "launches", s->launches);
  cJSON_AddNumberToObject(j, "launches_overlapped", s->launches_overlapped);
  cJSON_AddNumberToObject(j, "retries", s->retries);
  cJSON_AddBoolToObject(j, "fell_back_to_cpu", s->fell_back);
  cJSON_AddNumberToObject(j, "plans", s->plans);
  /* decoded JPEG bands kept for the next frame (never full frames of other
   * codecs: memory would grow with them) */
  cJSON_AddNumberToObject(j, "decode_bands_kept_max", sp->bands_kept_max);
  cJSON *d = cJSON_AddObjectToObject(j, "decode_plan");
  cJSON_AddNumberToObject(d, "source_width", s->src_width);
  cJSON_AddNumberToObject(d, "source_height", s->src_height);
  cJSON_AddNumberToObject(d, "dct_scale_denominator", s->dct_denom);
  cJSON_AddNumberToObject(d, "first_row", s->band_row0);
  cJSON_AddNumberToObject(d, "rows", s->band_rows);
  if (s->video_decoded_frames || s->video_kept_frames) {
    cJSON *v = cJSON_AddObjectToObject(j, "video");
    cJSON_AddNumberToObject(v, "decoded_frames", (double)s->video_decoded_frames);
    cJSON_AddNumberToObject(v, "kept_frames", (double)s->video_kept_frames);
    cJSON_AddNumberToObject(v, "seeks", (double)s->video_seeks);
    cJSON_AddNumberToObject(v, "gop_frames", s->video_gop_frames);
    cJSON_AddNumberToObject(v, "gops_decoded_per_kept_frame",
                            s->video_kept_frames && s->video_gop_frames > 0
                                ? (double)s->video_decoded_frames / (double)s->video_kept_frames / s->video_gop_frames
                                : 0);
  }
  tsr__write_json(sp->ctx, sp->o->stats_path, j);
  cJSON_Delete(j);
}

void tsr_split_options_init(tsr_split_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->interp = TSR_INTERP_BILINEAR;
}

tsr_status tsr_split(tsr_context *ctx, const tsr_split_options *opts, const char *const *inputs, int ninputs,
                     tsr_split_stats *stats) {
  tsr_split_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  if (!ctx) return TSR_E_INVALID;
  if (!opts || !opts->struct_size)
    return tsr__fail(ctx, TSR_E_INVALID, "tsr_split: options not initialised (tsr_split_options_init)");
  tsr_split_options oo;
  tsr_split_options_init(&oo);
  memcpy(&oo, opts, opts->struct_size < sizeof oo ? opts->struct_size : sizeof oo);
  const tsr_split_options *o = &oo;
  if (!o->outdir || (!inputs && ninputs)) return tsr__fail(ctx, TSR_E_INVALID, "tsr_split: no output folder");
  if (o->format && strcmp(o->format, "jpg") && strcmp(o->format, "png"))
    return tsr__fail(ctx, TSR_E_INVALID, "--format %s: use jpg or png", o->format);
  if ((unsigned)o->interp > TSR_INTERP_LANCZOS3) return tsr__fail(ctx, TSR_E_INVALID, "unknown interpolation");
  if (o->quality < 0 || o->quality > 100) return tsr__fail(ctx, TSR_E_INVALID, "--quality %d not in 1..100", o->quality);
  /* NaN fails every comparison: each range is written so that it fails it. */
  if (!(o->hfov >= 0 && o->hfov < 180)) return tsr__fail(ctx, TSR_E_INVALID, "--hfov %g: 0 to 180 degrees", o->hfov);
  if (!(o->mask_nadir >= 0 && o->mask_nadir <= 180))
    return tsr__fail(ctx, TSR_E_INVALID, "--mask-nadir %g: 0 to 180 degrees", o->mask_nadir);
  if (o->width < 0 || o->height < 0 || o->width > TSR_MAX_DIM || o->height > TSR_MAX_DIM)
    return tsr__fail(ctx, TSR_E_INVALID, "--size %dx%d: each side must be 1 to %d", o->width, o->height, TSR_MAX_DIM);
  if (!(o->fps >= 0) || o->every < 0 || !(o->start >= 0) || !(o->duration >= 0) || (o->fps > 0 && o->every > 0))
    return tsr__fail(ctx, TSR_E_INVALID, "video sampling: --fps, --every, --start, --duration must be >= 0, and "
                                         "--fps and --every cannot be combined");

  split sp;
  memset(&sp, 0, sizeof sp);
  sp.ctx = ctx;
  sp.o = o;
  sp.st = stats;
  sp.man.fd = -1;
  sp.cpu_only = !tsr__use_device(ctx) || o->copy_only;
  snprintf(stats->device, sizeof stats->device, "%s (%s)", ctx->dev->id, ctx->dev->name);
  stats->batch = stats->batch_planned = 1;
  pthread_mutex_init(&sp.lock, NULL);
  tsr_status st;
  char path[4096];
  cJSON *fp = NULL;
  int lock_fd = -1, tidy = 0;

  if ((st = tsr_rig_get(ctx, o->rig ? o->rig : "ring8", &sp.rig))) goto done;
  if ((st = apply_overrides(ctx, o, sp.rig))) goto done;
  if (tsr__mkdirs(o->outdir)) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", o->outdir, strerror(errno));
    goto done;
  }
  if ((st = tsr__outdir_lock(ctx, o->outdir, &lock_fd))) goto done;
  fp = fingerprint(&sp);
  if ((st = tsr__run_record(ctx, o->outdir, "split", fp, o->overwrite))) goto done;
  /* Nothing is written through a link inside the output folder: a view
   * folder, masks/ or masks/<view> pointing elsewhere is refused, before
   * anything is created inside it. */
  for (int v = 0; v < sp.rig->nviews && !st; v++) {
    st = tsr__mkdirs_inside(ctx, o->outdir, sp.rig->views[v].name);
    if (!st && o->mask_nadir > 0) {
      snprintf(path, sizeof path, "masks/%s", sp.rig->views[v].name);
      st = tsr__mkdirs_inside(ctx, o->outdir, path);
    }
  }
  if (st) goto done;
  if (o->mask_nadir > 0 && (st = make_masks(&sp))) goto done;
  if ((st = tsr__write_colmap(ctx, sp.rig, o->outdir))) goto done;
  snprintf(path, sizeof path, "%s/manifest.jsonl", o->outdir);
  if (o->overwrite && unlink(path) && errno != ENOENT) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: cannot remove: %s", path, strerror(errno));
    goto done;
  }
  if ((st = tsr__manifest_open(ctx, path, &sp.man))) goto done;

  tsr__pipeline_config cfg = {0};
  cfg.inputs = inputs;
  cfg.ninputs = ninputs;
  cfg.recursive = o->recursive;
  cfg.sampling.fps = o->fps;
  cfg.sampling.every = o->every;
  cfg.sampling.start = o->start;
  cfg.sampling.duration = o->duration;
  cfg.live = o->live;
  cfg.workers = o->encoders;
  cfg.progress = o->progress;
  cfg.what = "split";
  tsr__pipeline_ops ops = {0};
  ops.complete = frame_complete;
  ops.skipped = frame_skipped;
  ops.prepare = prepare;
  ops.batch = batch_for;
  ops.compute = compute;
  ops.flush = flush;
  ops.drain = drain;
  ops.unit = unit;
  ops.release = release;
  ops.units_per_item = sp.rig->nviews;
  tsr__pipeline_stats ps;
  st = tsr__pipeline_run(ctx, &cfg, &ops, &sp, &ps);
  close_stream(&sp, 1);
  stats->frames_total = ps.items_total < 0 ? ps.done + ps.skipped + ps.failed + ps.dropped : ps.items_total;
  stats->frames_done = ps.done;
  stats->frames_skipped = ps.skipped;
  stats->frames_failed = ps.failed;
  stats->frames_dropped = ps.dropped;
  stats->views_written = ps.units_done;
  stats->wall_s = ps.wall_s;
  stats->read_s = ps.read_s;
  stats->decode_s = ps.decode_s;
  stats->peak_rss = ps.peak_rss;
  stats->video_decoded_frames = ps.video.decoded_frames;
  stats->video_kept_frames = ps.video.kept_frames;
  stats->video_seeks = ps.video.seeks;
  stats->video_gop_frames = ps.video.gop_frames;
  if (sp.st->fell_back) snprintf(stats->device, sizeof stats->device, "cpu (after %s failed)", ctx->dev->id);
  if (o->stats_path) write_stats(&sp);
  /* A run that wrote nothing and found nothing already written leaves no
   * empty view folders and no empty manifest behind. */
  tidy = ps.done == 0 && ps.skipped == 0 && ps.units_done == 0;

done:
  cJSON_Delete(fp);
  if (sp.mask_png)
    for (int v = 0; v < sp.rig->nviews; v++) free(sp.mask_png[v]);
  free(sp.mask_png);
  free(sp.mask_size);
  tsr__manifest_close(&sp.man);
  if (tidy) {
    struct stat mb;
    for (int v = 0; v < sp.rig->nviews; v++) {
      snprintf(path, sizeof path, "%s/%s", o->outdir, sp.rig->views[v].name);
      rmdir(path); /* only if empty */
    }
    snprintf(path, sizeof path, "%s/manifest.jsonl", o->outdir);
    if (stat(path, &mb) == 0 && S_ISREG(mb.st_mode) && mb.st_size == 0) unlink(path);
  }
  tsr__outdir_unlock(lock_fd);
  for (int i = 0; i < sp.nkinds; i++) kind_free(sp.kinds[i], sp.rig->nviews);
  tsr_rig_free(sp.rig);
  pthread_mutex_destroy(&sp.lock);
  return st;
}
