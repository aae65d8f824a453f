/* tessera split: equirectangular frames to a rig's perspective views.
 *
 * Three stages joined by bounded queues (src/queue.c), so memory does not
 * grow with the number of frames:
 *   reader   (1 thread)  reads and decodes frames (only the planned row band,
 *                        at the planned DCT scale) -> frames queue
 *   compute  (caller)    warps a batch of frames into all views: fixed-point
 *                        maps on the CPU backend, tsr_warp on an OpenCL
 *                        device -> jobs queue (one job per frame and view)
 *   encoders (N threads) encode, write atomically, append the manifest.
 * The plan (src/split_plan.c) is made once, from the first frame's size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "queue.h"
#include "split_impl.h"
#include "warp_impl.h"


typedef struct {
  char stem[256];
  const char *path;  /* input file, or NULL for a frame from a stream */
  tsr_image *img;    /* the decoded band; freed after the warp */
  int views_left;
  int failed;
} frame;

/* One view of one frame. With out == NULL the worker also makes the view
 * (CPU warp through the maps, or the codec floor's copy) before encoding:
 * on the CPU backend warping and encoding share one pool of threads, so no
 * stage's threads spin while another's wait for a core. */
typedef struct {
  frame *f;
  int view;
  tsr_image *out;
} job;

typedef struct {
  tsr_context *ctx;
  const tsr_split_options *o;
  tsr_rig *rig;
  const char *ext; /* "jpg", "png", or NULL until the first frame decides */
  tsr__manifest man;
  tsr__split_plan plan;
  int have_plan, reader_done; /* under lock; plan_ready signals either */
  pthread_cond_t plan_ready;
  uint8_t **mask_png;
  size_t *mask_size;
  tsr__queue frames, jobs;
  const char *const *inputs;
  int ninputs;
  pthread_mutex_t lock; /* counters, stats, failures, the image pool */
  tsr_split_stats *st;
  tsr_status first_err;
  char first_msg[TSR_ERRMSG_MAX];
  int fatal;
  tsr_image ***pool; /* per view: free output images */
  tsr_image *bands[8]; /* free decoded bands: reused, so the heap does not creep */
  int nbands;
  int *npool;
  double t0, last_progress;
} split;

/* A context for one worker thread: its own error message, CPU backend. */
static void worker_ctx(tsr_context *c, const tsr_context *parent) {
  memset(c, 0, sizeof *c);
  c->dev = tsr__cpu_device();
  c->threads = 1;
  c->quiet = parent->quiet;
  pthread_mutex_init(&c->lock, NULL);
}

static void add_time(split *sp, double *field, double t) {
  pthread_mutex_lock(&sp->lock);
  *field += t;
  pthread_mutex_unlock(&sp->lock);
}

static void progress(split *sp, int final) {
  if (!sp->o->progress) return;
  double t = tsr__now();
  if (!final && t - sp->last_progress < 0.25) return;
  sp->last_progress = t;
  const tsr_split_stats *s = sp->st;
  int done = s->frames_done + s->frames_skipped + s->frames_failed;
  double el = t - sp->t0, rate = el > 0 ? done / el : 0;
  char eta[32] = "";
  if (s->frames_total > 0 && rate > 0) {
    int left = (int)((s->frames_total - done) / rate + 0.5);
    snprintf(eta, sizeof eta, "  ETA %d:%02d", left / 60, left % 60);
  }
  char total[24] = "?";
  if (s->frames_total >= 0) snprintf(total, sizeof total, "%d", s->frames_total);
  fprintf(stderr, "\rsplit: %d/%s frames  %.2f frames/s%s   %s", done, total, rate, eta, final ? "\n" : "");
  fflush(stderr);
}

static void frame_failed(split *sp, const char *name, tsr_status status, const char *msg) {
  pthread_mutex_lock(&sp->lock);
  sp->st->frames_failed++;
  if (!sp->first_err) {
    sp->first_err = status;
    snprintf(sp->first_msg, sizeof sp->first_msg, "%s", msg);
  }
  if (sp->o->progress) fputc('\n', stderr);
  fprintf(stderr, "tessera: skipped frame %s: %s\n", name, msg);
  progress(sp, 0);
  pthread_mutex_unlock(&sp->lock);
}

/* ---- paths and resume ---------------------------------------------------- */
static void stem_of(const char *path, char *out, size_t n) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, n, "%s", b);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = 0;
}

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The extension of view v's existing output for this stem, or NULL. With
 * the format still undecided either extension counts. */
static const char *existing_ext(split *sp, int v, const char *stem) {
  static const char *const exts[] = {"jpg", "png"};
  char path[4096];
  for (int k = 0; k < 2; k++) {
    if (sp->ext && strcmp(sp->ext, exts[k])) continue;
    snprintf(path, sizeof path, "%s/%s/%s.%s", sp->o->outdir, sp->rig->views[v].name, stem, exts[k]);
    if (exists(path)) return exts[k];
  }
  return NULL;
}

static int frame_complete(split *sp, const char *stem) {
  char path[4096];
  for (int v = 0; v < sp->rig->nviews; v++) {
    if (!existing_ext(sp, v, stem)) return 0;
    if (sp->o->mask_nadir > 0) {
      snprintf(path, sizeof path, "%s/masks/%s/%s.png", sp->o->outdir, sp->rig->views[v].name, stem);
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
static void frame_skipped(split *sp, tsr_context *lc, const char *stem) {
  for (int v = 0; v < sp->rig->nviews; v++) {
    const char *ext = existing_ext(sp, v, stem);
    if (ext && manifest_line(lc, sp, stem, v, ext)) frame_failed(sp, stem, TSR_E_IO, tsr_context_error(lc));
  }
  pthread_mutex_lock(&sp->lock);
  sp->st->frames_skipped++;
  progress(sp, 0);
  pthread_mutex_unlock(&sp->lock);
}

/* ---- reader -------------------------------------------------------------- */
static tsr_status ensure_plan(split *sp, tsr_context *lc, const char *name, int w, int h, int ch, int depth,
                              int jpeg) {
  if (sp->have_plan) {
    const tsr__split_plan *p = &sp->plan;
    if (w != p->src_w || h != p->src_h || ch != p->channels || depth != p->depth)
      return tsr__fail(lc, TSR_E_INVALID, "%s: %dx%d, %d channel(s), %d-bit differs from the sequence's %dx%d, %d, %d-bit",
                       name, w, h, ch, depth, p->src_w, p->src_h, p->channels, p->depth);
    if (p->jpeg != jpeg && (p->denom > 1 || p->rows < p->scaled_h))
      return tsr__fail(lc, TSR_E_INVALID, "%s: not a JPEG like the sequence's first frame", name);
    return TSR_OK;
  }
  const tsr_split_options *o = sp->o;
  if (o->format && !strcmp(o->format, "jpg") && (depth != 8 || ch == 2 || ch == 4)) {
    sp->fatal = 1;
    return tsr__fail(lc, TSR_E_UNSUPPORTED, "%s: JPEG output cannot hold %s; use --format png", name,
                     depth != 8 ? "16-bit samples" : "an alpha channel");
  }
  double t = tsr__now();
  tsr_status st = tsr__split_plan_make(lc, sp->rig, o->interp, !o->no_antialias, !o->full_decode, w, h, ch, depth,
                                       jpeg, &sp->plan);
  if (st) {
    sp->fatal = 1;
    return st;
  }
  pthread_mutex_lock(&sp->lock);
  if (!sp->ext) sp->ext = depth == 8 && (ch == 1 || ch == 3) ? "jpg" : "png";
  sp->have_plan = 1;
  pthread_cond_broadcast(&sp->plan_ready);
  tsr_split_stats *s = sp->st;
  s->plan_s += tsr__now() - t;
  s->src_width = w;
  s->src_height = h;
  s->dct_denom = sp->plan.denom;
  s->band_row0 = sp->plan.row0;
  s->band_rows = sp->plan.rows;
  pthread_mutex_unlock(&sp->lock);
  return TSR_OK;
}

static tsr_status decode_frame(split *sp, tsr_context *lc, const char *name, const uint8_t *buf, size_t size,
                               tsr_image **img) {
  *img = NULL;
  int jpeg = size >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF;
  tsr_status st;
  if (jpeg && !sp->o->full_decode) {
    int w, h, ch;
    if ((st = tsr__jpeg_info(lc, buf, size, name, &w, &h, &ch))) return st;
    if ((st = ensure_plan(sp, lc, name, w, h, ch, 8, 1))) return st;
    tsr_image *reuse = NULL;
    pthread_mutex_lock(&sp->lock);
    if (sp->nbands) reuse = sp->bands[--sp->nbands];
    pthread_mutex_unlock(&sp->lock);
    *img = reuse;
    st = tsr__jpeg_decode_band(lc, buf, size, name, sp->plan.denom, sp->plan.row0, sp->plan.rows, img);
    if (!st && *img != reuse) tsr_image_free(reuse); /* not taken: the shape changed */
    if (st) *img = NULL;
    return st;
  }
  tsr_image *im;
  if ((st = tsr_image_decode(lc, buf, size, name, 0, &im))) return st;
  if ((st = ensure_plan(sp, lc, name, im->width, im->height, im->channels, im->depth, jpeg))) {
    tsr_image_free(im);
    return st;
  }
  *img = im;
  return TSR_OK;
}

static void submit(split *sp, frame *f) {
  f->views_left = sp->rig->nviews;
  if (tsr__queue_push(&sp->frames, f)) {
    tsr_image_free(f->img);
    free(f);
  }
}

static frame *frame_new(const char *stem, const char *path) {
  frame *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  snprintf(f->stem, sizeof f->stem, "%s", stem);
  f->path = path;
  return f;
}

/* Concatenated PPM/PAM frames from stdin (ffmpeg -f image2pipe -c:v ppm).
 * Frames are parsed from a growing buffer; a frame is complete once the
 * PNM decoder accepts it, and the bytes it consumed are dropped. */
static void read_stream(split *sp, tsr_context *lc) {
  size_t cap = 1 << 20, len = 0;
  uint8_t *buf = malloc(cap);
  int eof = 0, n = 0;
  while (buf && !sp->fatal) {
    if (len == 0 && eof) break;
    char stem[32];
    snprintf(stem, sizeof stem, "frame_%06d", n + 1);
    if (len >= 2 && (buf[0] != 'P' || (buf[1] != '5' && buf[1] != '6' && buf[1] != '7'))) {
      frame_failed(sp, stem, TSR_E_FORMAT, "stdin: not a PPM/PGM/PAM frame (use ffmpeg ... -f image2pipe -c:v ppm -); the rest of the stream is ignored");
      break;
    }
    tsr_image *img = NULL;
    size_t used = 0;
    double t = tsr__now();
    tsr_status st = len ? tsr__pnm_decode(lc, buf, len, stem, &img, &used) : TSR_E_CORRUPT;
    if (st && !eof) {
      if (len == cap) {
        if (cap > TSR_MAX_IMAGE_BYTES) {
          frame_failed(sp, stem, st, tsr_context_error(lc));
          break;
        }
        uint8_t *g = realloc(buf, cap * 2);
        if (!g) break;
        buf = g;
        cap *= 2;
      }
      size_t r = fread(buf + len, 1, cap - len, stdin);
      len += r;
      if (r == 0) eof = 1;
      add_time(sp, &sp->st->read_s, tsr__now() - t);
      continue;
    }
    n++;
    pthread_mutex_lock(&sp->lock);
    sp->st->frames_total = n;
    pthread_mutex_unlock(&sp->lock);
    if (st) {
      frame_failed(sp, stem, st, tsr_context_error(lc));
      break; /* a truncated last frame */
    }
    memmove(buf, buf + used, len - used);
    len -= used;
    add_time(sp, &sp->st->decode_s, tsr__now() - t);
    if ((st = ensure_plan(sp, lc, stem, img->width, img->height, img->channels, img->depth, 0))) {
      frame_failed(sp, stem, st, tsr_context_error(lc));
      tsr_image_free(img);
      continue;
    }
    if (frame_complete(sp, stem)) {
      tsr_image_free(img);
      frame_skipped(sp, lc, stem);
      continue;
    }
    frame *f = frame_new(stem, NULL);
    if (!f) {
      tsr_image_free(img);
      break;
    }
    f->img = img;
    submit(sp, f);
  }
  free(buf);
}

static void *reader_main(void *arg) {
  split *sp = arg;
  tsr_context lc;
  worker_ctx(&lc, sp->ctx);
  for (int i = 0; i < sp->ninputs && !sp->fatal; i++) {
    const char *path = sp->inputs[i];
    if (!strcmp(path, "-")) {
      read_stream(sp, &lc);
      continue;
    }
    char stem[256];
    stem_of(path, stem, sizeof stem);
    if (frame_complete(sp, stem)) {
      frame_skipped(sp, &lc, stem);
      continue;
    }
    double t = tsr__now();
    uint8_t *buf;
    size_t size;
    tsr_status st = tsr__read_file(&lc, path, &buf, &size);
    if (st) {
      frame_failed(sp, path, st, tsr_context_error(&lc));
      continue;
    }
    double t1 = tsr__now();
    add_time(sp, &sp->st->read_s, t1 - t);
    tsr_image *img;
    st = decode_frame(sp, &lc, path, buf, size, &img);
    free(buf);
    add_time(sp, &sp->st->decode_s, tsr__now() - t1);
    if (st) {
      frame_failed(sp, path, st, tsr_context_error(&lc));
      continue;
    }
    frame *f = frame_new(stem, path);
    if (!f) {
      tsr_image_free(img);
      break;
    }
    f->img = img;
    submit(sp, f);
  }
  tsr__queue_close(&sp->frames);
  pthread_mutex_lock(&sp->lock);
  sp->reader_done = 1;
  pthread_cond_broadcast(&sp->plan_ready);
  pthread_mutex_unlock(&sp->lock);
  pthread_mutex_destroy(&lc.lock);
  return NULL;
}

/* ---- output images --------------------------------------------------------- */
static tsr_image *out_get(split *sp, int v) {
  tsr_image *im = NULL;
  pthread_mutex_lock(&sp->lock);
  if (sp->npool[v]) im = sp->pool[v][--sp->npool[v]];
  pthread_mutex_unlock(&sp->lock);
  if (!im) {
    const tsr_rig_view *rv = &sp->rig->views[v];
    if (tsr_image_create(rv->width, rv->height, sp->plan.channels, sp->plan.depth, &im)) return NULL;
  }
  return im;
}

static void release_band(split *sp, tsr_image *im) {
  if (!im) return;
  pthread_mutex_lock(&sp->lock);
  if (sp->nbands < (int)(sizeof sp->bands / sizeof *sp->bands)) {
    sp->bands[sp->nbands++] = im;
    im = NULL;
  }
  pthread_mutex_unlock(&sp->lock);
  tsr_image_free(im);
}

#define POOL_MAX 16
static void out_put(split *sp, int v, tsr_image *im) {
  pthread_mutex_lock(&sp->lock);
  if (sp->npool[v] < POOL_MAX) {
    sp->pool[v][sp->npool[v]++] = im;
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

static int use_device(split *sp) {
  return tsr__use_device(sp->ctx) && !sp->o->copy_only;
}

static void warp_cpu(split *sp, frame *f, int v, tsr_image *out) {
  tsr__split_plan *p = &sp->plan;
  tsr__remap_or_warp(&p->maps[v], &p->sd, &p->vd[v], f->img->data, out->data, 1);
}

static void push_jobs(split *sp, frame *f, tsr_image **outs) {
  for (int v = 0; v < sp->rig->nviews; v++) {
    job *j = malloc(sizeof *j);
    if (j) {
      j->f = f;
      j->view = v;
      j->out = outs ? outs[v] : NULL;
    }
    /* The jobs queue closes only after the compute stage ends. */
    if (!j || tsr__queue_push(&sp->jobs, j)) free(j);
  }
}

/* CPU backend: build the maps once (all threads), then hand each view to
 * the worker pool. */
/* CPU backend: the views' maps, built once by the compute stage (all
 * threads). Called as soon as the plan exists, so the building overlaps
 * the reader's decoding of the first frames. */
static void build_maps(split *sp) {
  tsr__split_plan *p = &sp->plan;
  if (sp->o->copy_only || use_device(sp)) return;
  double t = tsr__now();
  int built = 0;
  for (int v = 0; v < p->nviews; v++)
    if (tsr__remap_applies(&p->sd, &p->vd[v]) && !p->maps[v].off) {
      tsr__remap_build(&p->sd, &p->vd[v], sp->ctx->threads, &p->maps[v]); /* on failure: generic path */
      built = 1;
    }
  if (built) add_time(sp, &sp->st->plan_s, tsr__now() - t);
}

static void compute_device(split *sp, frame **fr, int n) {
  int nv = sp->rig->nviews;
  tsr_image **outs = calloc((size_t)n * (size_t)nv, sizeof *outs);
  int ok = outs != NULL;
  for (int i = 0; ok && i < n * nv; i++) ok = (outs[i] = out_get(sp, i % nv)) != NULL;
  double t = tsr__now();
  if (ok) {
    const tsr_image *srcs[64];
    for (int i = 0; i < n; i++) srcs[i] = fr[i]->img;
    tsr_warp_stats ws;
    tsr_status st = tsr_warp(sp->ctx, srcs, n, sp->plan.views, nv, sp->o->interp, TSR_BORDER_SPHERE, outs, &ws);
    pthread_mutex_lock(&sp->lock);
    sp->st->retries += ws.retries;
    sp->st->upload_s += ws.upload_s;
    sp->st->kernel_s += ws.kernel_s;
    sp->st->download_s += ws.download_s;
    sp->st->pinned |= ws.pinned;
    sp->st->fell_back |= ws.fell_back;
    if (ws.device_bytes > sp->st->device_bytes) sp->st->device_bytes = ws.device_bytes;
    pthread_mutex_unlock(&sp->lock);
    ok = st == TSR_OK;
  }
  add_time(sp, &sp->st->warp_s, tsr__now() - t);
  for (int i = 0; i < n; i++) {
    release_band(sp, fr[i]->img);
    fr[i]->img = NULL;
    if (!ok) {
      frame_failed(sp, fr[i]->path ? fr[i]->path : fr[i]->stem, TSR_E_NOMEM, "out of memory for the views");
      for (int v = 0; v < nv; v++)
        if (outs && outs[i * nv + v]) tsr_image_free(outs[i * nv + v]);
      free(fr[i]);
      continue;
    }
    push_jobs(sp, fr[i], outs + (size_t)i * (size_t)nv);
  }
  free(outs);
}

/* Frames per launch: 1 on the CPU (maps, frame after frame), else what
 * the planner fits in the device budget, capped by --batch. */
static int batch_size(split *sp) {
  if (!use_device(sp)) return 1;
  tsr_mem_need need = tsr_warp_mem_need(sp->plan.sd.width, sp->plan.sd.height, sp->plan.channels,
                                        sp->plan.depth, sp->plan.views, sp->plan.nviews);
  tsr_plan pl;
  int b = 1;
  if (tsr_plan_batch(&need, sp->ctx->budget, sp->ctx->dev->max_alloc, 64, &pl) == TSR_OK) b = pl.batch;
  if (sp->o->batch > 0 && sp->o->batch < b) b = sp->o->batch;
  return b < 1 ? 1 : (b > 64 ? 64 : b);
}

/* ---- encoders ------------------------------------------------------------- */
static tsr_status encode_job(split *sp, tsr_context *lc, job *j) {
  const tsr_rig_view *rv = &sp->rig->views[j->view];
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s.%s", sp->o->outdir, rv->name, j->f->stem, sp->ext);
  double t = tsr__now();
  char *mem = NULL;
  size_t n = 0;
  FILE *fp = open_memstream(&mem, &n);
  if (!fp) return tsr__fail(lc, TSR_E_NOMEM, "%s: out of memory", path);
  tsr_status st;
  if (!strcmp(sp->ext, "jpg")) {
    tsr_write_options wo = {0};
    wo.quality = sp->o->quality ? sp->o->quality : 95;
    st = tsr__jpeg_encode(lc, j->out, path, &wo, fp);
  } else {
    st = tsr__png_encode(lc, j->out, path, fp);
  }
  if (fclose(fp) && !st) st = tsr__fail(lc, TSR_E_NOMEM, "%s: out of memory", path);
  double t1 = tsr__now();
  add_time(sp, &sp->st->encode_s, t1 - t);
  if (!st) st = tsr__write_atomic(lc, path, mem, n);
  free(mem);
  if (!st && sp->mask_png) {
    snprintf(path, sizeof path, "%s/masks/%s/%s.png", sp->o->outdir, rv->name, j->f->stem);
    st = tsr__write_atomic(lc, path, sp->mask_png[j->view], sp->mask_size[j->view]);
  }
  if (!st) st = manifest_line(lc, sp, j->f->stem, j->view, sp->ext);
  add_time(sp, &sp->st->write_s, tsr__now() - t1);
  return st;
}

static void *encoder_main(void *arg) {
  split *sp = arg;
  tsr_context lc;
  worker_ctx(&lc, sp->ctx);
  job *j;
  while ((j = tsr__queue_pop(&sp->jobs))) {
    tsr_status st = TSR_OK;
    if (!j->out) {
      double t = tsr__now();
      j->out = out_get(sp, j->view);
      if (!j->out) st = tsr__fail(&lc, TSR_E_NOMEM, "out of memory for view %s", sp->rig->views[j->view].name);
      else if (sp->o->copy_only) copy_region(j->f->img, j->view, j->out);
      else warp_cpu(sp, j->f, j->view, j->out);
      add_time(sp, &sp->st->warp_s, tsr__now() - t);
    }
    if (!st) st = encode_job(sp, &lc, j);
    frame *f = j->f;
    if (j->out) out_put(sp, j->view, j->out);
    free(j);
    pthread_mutex_lock(&sp->lock);
    int report = 0, last = --f->views_left == 0;
    if (st && !f->failed) {
      f->failed = 1;
      report = 1;
    }
    if (!st) sp->st->views_written++;
    if (last && !f->failed) {
      sp->st->frames_done++;
      progress(sp, 0);
    }
    pthread_mutex_unlock(&sp->lock);
    if (report) frame_failed(sp, f->path ? f->path : f->stem, st, tsr_context_error(&lc));
    if (last) {
      release_band(sp, f->img);
      free(f);
    }
  }
  pthread_mutex_destroy(&lc.lock);
  return NULL;
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
    st = fp ? tsr__png_encode(sp->ctx, m, "mask", fp) : TSR_E_NOMEM;
    if (fp) fclose(fp);
    tsr_image_free(m);
    sp->mask_png[v] = (uint8_t *)mem;
    sp->mask_size[v] = n;
    if (st) return st;
  }
  return TSR_OK;
}

typedef struct {
  char stem[256];
  const char *path;
} named_input;

static int cmp_stem(const void *a, const void *b) {
  return strcmp(((const named_input *)a)->stem, ((const named_input *)b)->stem);
}

/* Two inputs with one stem would write the same outputs; frame_NNNNNN
 * names belong to stdin. Sorted once, so long frame lists start at once. */
static tsr_status check_inputs(tsr_context *ctx, const char *const *in, int n) {
  int stdin_count = 0, m = 0;
  for (int i = 0; i < n; i++) stdin_count += !strcmp(in[i], "-");
  if (stdin_count > 1) return tsr__fail(ctx, TSR_E_INVALID, "'-' (stdin) given more than once");
  named_input *v = malloc((size_t)(n ? n : 1) * sizeof *v);
  if (!v) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  tsr_status st = TSR_OK;
  for (int i = 0; i < n && !st; i++) {
    if (!strcmp(in[i], "-")) continue;
    stem_of(in[i], v[m].stem, sizeof v[m].stem);
    v[m].path = in[i];
    if (stdin_count && !strncmp(v[m].stem, "frame_", 6))
      st = tsr__fail(ctx, TSR_E_INVALID, "%s: its name could clash with frames read from stdin", in[i]);
    m++;
  }
  if (!st && m > 1) qsort(v, (size_t)m, sizeof *v, cmp_stem);
  for (int i = 1; i < m && !st; i++)
    if (!strcmp(v[i - 1].stem, v[i].stem))
      st = tsr__fail(ctx, TSR_E_INVALID, "%s and %s would write the same outputs (both named %s)", v[i - 1].path,
                     v[i].path, v[i].stem);
  free(v);
  return st;
}

static void write_stats(split *sp) {
  const tsr_split_stats *s = sp->st;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "device", s->device);
  cJSON_AddNumberToObject(j, "frames_total", s->frames_total);
  cJSON_AddNumberToObject(j, "frames_done", s->frames_done);
  cJSON_AddNumberToObject(j, "frames_skipped", s->frames_skipped);
  cJSON_AddNumberToObject(j, "frames_failed", s->frames_failed);
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
  cJSON_AddNumberToObject(j, "retries", s->retries);
  cJSON_AddBoolToObject(j, "fell_back_to_cpu", s->fell_back);
  cJSON *d = cJSON_AddObjectToObject(j, "decode_plan");
  cJSON_AddNumberToObject(d, "source_width", s->src_width);
  cJSON_AddNumberToObject(d, "source_height", s->src_height);
  cJSON_AddNumberToObject(d, "dct_scale_denominator", s->dct_denom);
  cJSON_AddNumberToObject(d, "first_row", s->band_row0);
  cJSON_AddNumberToObject(d, "rows", s->band_rows);
  tsr__write_json(sp->ctx, sp->o->stats_path, j);
  cJSON_Delete(j);
}

tsr_status tsr_split(tsr_context *ctx, const tsr_split_options *o, const char *const *inputs, int ninputs,
                     tsr_split_stats *stats) {
  if (!ctx || !o || !o->outdir || (!inputs && ninputs)) return tsr__fail(ctx, TSR_E_INVALID, "tsr_split: no output folder");
  if (o->format && strcmp(o->format, "jpg") && strcmp(o->format, "png"))
    return tsr__fail(ctx, TSR_E_INVALID, "--format %s: use jpg or png", o->format);
  if ((unsigned)o->interp > TSR_INTERP_LANCZOS3) return tsr__fail(ctx, TSR_E_INVALID, "unknown interpolation");
  if (o->quality < 0 || o->quality > 100) return tsr__fail(ctx, TSR_E_INVALID, "--quality %d not in 1..100", o->quality);
  tsr_split_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  tsr_status st = check_inputs(ctx, inputs, ninputs);
  if (st) return st;

  split sp;
  memset(&sp, 0, sizeof sp);
  sp.ctx = ctx;
  sp.o = o;
  sp.st = stats;
  sp.inputs = inputs;
  sp.ninputs = ninputs;
  sp.ext = o->format;
  sp.t0 = tsr__now();
  sp.man.fd = -1;
  stats->frames_total = ninputs;
  for (int i = 0; i < ninputs; i++)
    if (!strcmp(inputs[i], "-")) stats->frames_total = -1;
  snprintf(stats->device, sizeof stats->device, "%s (%s)", ctx->dev->id, ctx->dev->name);
  pthread_mutex_init(&sp.lock, NULL);
  pthread_cond_init(&sp.plan_ready, NULL);
  pthread_t reader, *enc = NULL;
  int nenc = o->encoders > 0 ? o->encoders : ctx->threads, started = 0, reader_started = 0;

  if ((st = tsr_rig_get(ctx, o->rig ? o->rig : "ring8", &sp.rig))) goto done;
  if ((st = apply_overrides(ctx, o, sp.rig))) goto done;
  char path[4096];
  if (tsr__mkdirs(o->outdir)) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", o->outdir, strerror(errno));
    goto done;
  }
  for (int v = 0; v < sp.rig->nviews; v++) {
    snprintf(path, sizeof path, "%s/%s", o->outdir, sp.rig->views[v].name);
    int bad = tsr__mkdirs(path);
    if (!bad && o->mask_nadir > 0) {
      snprintf(path, sizeof path, "%s/masks/%s", o->outdir, sp.rig->views[v].name);
      bad = tsr__mkdirs(path);
    }
    if (bad) {
      st = tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", path, strerror(errno));
      goto done;
    }
  }
  if (o->mask_nadir > 0 && (st = make_masks(&sp))) goto done;
  if ((st = tsr__write_colmap(ctx, sp.rig, o->outdir))) goto done;
  snprintf(path, sizeof path, "%s/manifest.jsonl", o->outdir);
  if ((st = tsr__manifest_open(ctx, path, &sp.man))) goto done;
  sp.pool = calloc((size_t)sp.rig->nviews, sizeof *sp.pool);
  sp.npool = calloc((size_t)sp.rig->nviews, sizeof *sp.npool);
  enc = calloc((size_t)nenc, sizeof *enc);
  int ok = sp.pool && sp.npool && enc;
  for (int v = 0; ok && v < sp.rig->nviews; v++) ok = (sp.pool[v] = calloc(POOL_MAX, sizeof **sp.pool)) != NULL;
  if (!ok || tsr__queue_init(&sp.frames, 2) || tsr__queue_init(&sp.jobs, 2 * sp.rig->nviews)) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    goto done;
  }

  if (pthread_create(&reader, NULL, reader_main, &sp)) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "cannot start the reader thread");
    goto done;
  }
  reader_started = 1;
  for (; started < nenc; started++)
    if (pthread_create(&enc[started], NULL, encoder_main, &sp)) break;
  if (!started) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "cannot start encoder threads");
    tsr__queue_close(&sp.frames);
    goto done;
  }

  /* The compute stage runs here: first the maps, while the reader decodes. */
  pthread_mutex_lock(&sp.lock);
  while (!sp.have_plan && !sp.reader_done) pthread_cond_wait(&sp.plan_ready, &sp.lock);
  int planned = sp.have_plan;
  pthread_mutex_unlock(&sp.lock);
  if (planned) build_maps(&sp);
  int batch = 0;
  frame *fr[64];
  for (;;) {
    frame *f = tsr__queue_pop(&sp.frames);
    if (!f) break;
    if (!batch) batch = batch_size(&sp);
    int n = 0;
    fr[n++] = f;
    while (n < batch && (f = tsr__queue_try_pop(&sp.frames))) fr[n++] = f;
    if (batch > 1 || use_device(&sp)) compute_device(&sp, fr, n);
    else push_jobs(&sp, fr[0], NULL); /* the workers warp through the maps */
  }
  stats->batch = batch ? batch : 1;

done:
  if (reader_started) pthread_join(reader, NULL);
  if (sp.jobs.items) tsr__queue_close(&sp.jobs);
  for (int i = 0; i < started; i++) pthread_join(enc[i], NULL);
  free(enc);
  stats->wall_s = tsr__now() - sp.t0;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) stats->peak_rss = (uint64_t)ru.ru_maxrss * 1024;
  if (reader_started) progress(&sp, 1);
  if (!st && o->stats_path) write_stats(&sp);
  if (!st && sp.first_err) {
    st = sp.first_err;
    tsr__fail(ctx, st, "%d of %d frames failed (first: %s)", stats->frames_failed,
              stats->frames_done + stats->frames_skipped + stats->frames_failed, sp.first_msg);
  }
  tsr__queue_destroy(&sp.frames);
  tsr__queue_destroy(&sp.jobs);
  if (sp.pool)
    for (int v = 0; v < sp.rig->nviews; v++) {
      for (int k = 0; k < sp.npool[v]; k++) tsr_image_free(sp.pool[v][k]);
      free(sp.pool[v]);
    }
  free(sp.pool);
  free(sp.npool);
  for (int i = 0; i < sp.nbands; i++) tsr_image_free(sp.bands[i]);
  if (sp.mask_png)
    for (int v = 0; v < sp.rig->nviews; v++) free(sp.mask_png[v]);
  free(sp.mask_png);
  free(sp.mask_size);
  tsr__manifest_close(&sp.man);
  tsr__split_plan_free(&sp.plan);
  tsr_rig_free(sp.rig);
  pthread_mutex_destroy(&sp.lock);
  pthread_cond_destroy(&sp.plan_ready);
  return st;
}
