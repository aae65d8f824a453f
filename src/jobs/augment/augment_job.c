/* tessera augment as a job on the streaming pipeline.
 *
 * The inputs are listed first (files and folders walked in sorted order,
 * each with its path relative to its input root, its label and its key,
 * the xxHash64 of that path); folds and shards come from the keys, so
 * every shard agrees on them. The items are the pipeline's named items (an
 * image or a clip). The reader reads an image's bytes (or decodes a
 * clip's frames: only the GOPs the --frames sampling needs); compute
 * hands each item to a worker (CPU backend) or runs its copies on the
 * OpenCL device; the worker decodes an image (at a reduced JPEG DCT scale
 * where every copy shrinks it by that much), runs the copies not run yet,
 * writes each copy's files and then its manifest line. Memory: two items
 * in the queue and one per worker, whatever the number of inputs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io/codec.h"
#include "io/manifest.h"
#include "ops/augment_ops.h"
#include "pipeline/pipeline.h"
#include "tessera/augment.h"

/* ---- the input list ------------------------------------------------------------- */
typedef struct {
  char *path;  /* as found */
  char *rel;   /* relative to its input root: the key's text and the output's name */
  char *label; /* the first folder level under a folder input; "" */
  uint64_t hash;
  int fold;
  int video;
} spec;

typedef struct {
  spec *v;
  int n, cap;
} spec_list;

static void spec_free(spec *s) {
  free(s->path);
  free(s->rel);
  free(s->label);
}

typedef struct {
  int count;
  tsr_status first;
  char first_msg[1024];
} skipped;

static void skip(tsr_context *ctx, skipped *sk, tsr_status st) {
  tsr__log(ctx, TSR_LOG_ERROR, "skipped %s", tsr_context_error(ctx));
  if (!sk->count++) {
    sk->first = st;
    snprintf(sk->first_msg, sizeof sk->first_msg, "%s", tsr_context_error(ctx));
  }
}

static tsr_status add(tsr_context *ctx, spec_list *l, skipped *sk, const char *path, const char *rel, int depth) {
  for (const char *p = path; *p; p++)
    if ((unsigned char)*p < 32) {
      skip(ctx, sk, tsr__fail(ctx, TSR_E_INVALID, "%s: a control character in the name", path));
      return TSR_OK;
    }
  if (strlen(rel) >= 200) {
    skip(ctx, sk, tsr__fail(ctx, TSR_E_INVALID, "%s: the path below its input folder is too long", path));
    return TSR_OK;
  }
  if (l->n == l->cap) {
    int nc = l->cap ? l->cap * 2 : 256;
    spec *nv = realloc(l->v, (size_t)nc * sizeof *nv);
    if (!nv) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    l->v = nv;
    l->cap = nc;
  }
  spec *s = &l->v[l->n];
  memset(s, 0, sizeof *s);
  s->path = strdup(path);
  s->rel = strdup(rel);
  const char *slash = depth > 0 ? strchr(rel, '/') : NULL;
  s->label = slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
  if (!s->path || !s->rel || !s->label) {
    spec_free(s);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  s->hash = tsr__aug_path_hash(rel);
  s->video = tsr__is_video_name(rel);
  l->n++;
  return TSR_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A folder's images and videos, recursively, in sorted order. */
static tsr_status walk(tsr_context *ctx, spec_list *l, skipped *sk, const char *root, const char *sub, int depth,
                       const struct stat *skip_dir) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s%s%s", root, *sub ? "/" : "", sub);
  DIR *d = opendir(dir);
  if (!d) {
    skip(ctx, sk, tsr__fail(ctx, TSR_E_IO, "%s: cannot open folder: %s", dir, strerror(errno)));
    return TSR_OK;
  }
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  tsr_status st = TSR_OK;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nv = realloc(names, (size_t)cap * sizeof *nv);
      if (!nv) {
        st = TSR_E_NOMEM;
        break;
      }
      names = nv;
    }
    if (!(names[n] = strdup(e->d_name))) {
      st = TSR_E_NOMEM;
      break;
    }
    n++;
  }
  closedir(d);
  if (names) qsort(names, (size_t)n, sizeof *names, cmp_str);
  if (st) st = tsr__fail(ctx, st, "out of memory");
  for (int i = 0; i < n && !st; i++) {
    char path[4096], rel[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path ||
        snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", names[i]) >= (int)sizeof rel) {
      skip(ctx, sk, tsr__fail(ctx, TSR_E_INVALID, "%s/%s: the path is too long", dir, names[i]));
      continue;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) continue;
    struct stat lsb;
    if (S_ISDIR(sb.st_mode) && lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode)) {
      tsr__log(ctx, TSR_LOG_WARN, "%s: a link to a folder, not followed", path); /* links can make cycles */
      continue;
    }
    if (S_ISDIR(sb.st_mode) && skip_dir && sb.st_dev == skip_dir->st_dev && sb.st_ino == skip_dir->st_ino)
      continue; /* the output folder inside an input: its outputs are not inputs */
    if (S_ISDIR(sb.st_mode)) st = walk(ctx, l, sk, root, rel, depth + 1, skip_dir);
    else if (tsr__is_image_name(names[i]) || tsr__is_video_name(names[i])) st = add(ctx, l, sk, path, rel, depth);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return st;
}

static int cmp_rel(const void *a, const void *b) { return strcmp(((const spec *)a)->rel, ((const spec *)b)->rel); }

/* Folds, stratified by label: within a label the inputs in key order take
 * folds 0, 1, ..., K-1, 0, ... */
static int cmp_label_hash(const void *a, const void *b) {
  const spec *x = *(const spec *const *)a, *y = *(const spec *const *)b;
  int c = strcmp(x->label, y->label);
  if (c) return c;
  if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
  return strcmp(x->rel, y->rel);
}

static tsr_status collect(tsr_context *ctx, const char *const *inputs, int n, int folds, const char *outdir, int shard,
                          int shards, spec_list *l, skipped *sk) {
  struct stat out_sb;
  const struct stat *skip_dir = stat(outdir, &out_sb) == 0 ? &out_sb : NULL;
  tsr_status st = TSR_OK;
  for (int i = 0; i < n && !st; i++) {
    struct stat sb;
    if (stat(inputs[i], &sb) != 0) {
      skip(ctx, sk, tsr__fail(ctx, TSR_E_IO, "%s: %s", inputs[i], strerror(errno)));
    } else if (S_ISDIR(sb.st_mode)) {
      char root[4096];
      snprintf(root, sizeof root, "%s", inputs[i]);
      size_t len = strlen(root);
      while (len > 1 && root[len - 1] == '/') root[--len] = 0;
      st = walk(ctx, l, sk, root, "", 0, skip_dir);
    } else if (tsr__is_image_name(inputs[i]) || tsr__is_video_name(inputs[i])) {
      const char *b = strrchr(inputs[i], '/');
      st = add(ctx, l, sk, inputs[i], b ? b + 1 : inputs[i], 0);
    } else {
      skip(ctx, sk, tsr__fail(ctx, TSR_E_FORMAT, "%s: not an image (jpg, png, ppm, pgm, pam) or a video", inputs[i]));
    }
  }
  if (st) return st;
  if (l->n) qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_rel);
  int kept = l->n ? 1 : 0; /* the same path below two inputs: the first is kept, the other named and skipped */
  for (int i = 1; i < l->n; i++) {
    if (!strcmp(l->v[i].rel, l->v[kept - 1].rel)) {
      if (l->v[i].hash % (uint64_t)shards == (uint64_t)shard) /* named by its own shard only */
        skip(ctx, sk, tsr__fail(ctx, TSR_E_INVALID, "%s: the same path below its input (%s) as %s: the outputs would "
                                "collide", l->v[i].path, l->v[i].rel, l->v[kept - 1].path));
      spec_free(&l->v[i]);
    } else {
      l->v[kept++] = l->v[i];
    }
  }
  l->n = kept;
  if (folds > 1 && l->n) {
    spec **order = malloc((size_t)l->n * sizeof *order);
    if (!order) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    for (int i = 0; i < l->n; i++) order[i] = &l->v[i];
    qsort(order, (size_t)l->n, sizeof *order, cmp_label_hash);
    int rank = 0;
    for (int i = 0; i < l->n; i++) {
      if (i && strcmp(order[i]->label, order[i - 1]->label)) rank = 0;
      order[i]->fold = rank++ % folds;
    }
    free(order);
  }
  return TSR_OK;
}

/* ---- the job ------------------------------------------------------------------- */
typedef struct {
  tsr_context *ctx;
  const tsr_augment_options *o;
  tsr__aug_ops ops;
  spec *specs;
  int nspecs;
  tsr__manifest man;
  const char *ext; /* output extension for images and clip frames */
  int device;      /* run the copies on the OpenCL device */
  long outputs, res_decoded, res_kept;
  int res_videos;
  pthread_mutex_t lock;
} job;

typedef struct {
  const spec *sp;
  spec own;           /* a stream frame's, made when it arrives (sp points here) */
  uint8_t *bytes;
  size_t size;
  tsr_image **frames; /* decoded: one for an image, the clip's for a video */
  int nframes;
  int w, h, ch;       /* the size the plans are drawn for, and the channels */
  int jpeg;           /* decoded per copy (copy_source) */
  tsr_image *reg;     /* a JPEG's last decoded region, at 1 / reg_d, reg_rect: x, y, w, h there */
  int reg_d, reg_rect[4];
  uint8_t **outs;     /* the device's results, copies x frames (NULL: run on the CPU) */
} item;

static const spec *find(const job *j, const char *rel) {
  int lo = 0, hi = j->nspecs - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = strcmp(j->specs[mid].rel, rel);
    if (!c) return &j->specs[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* Output k of an input, relative to outdir: <rel without extension>_aug<k>
 * plus .<ext> (images), .npy, or nothing (a clip folder). */
static void out_rel(const job *j, const spec *sp, int k, char *out, size_t n) {
  const char *slash = strrchr(sp->rel, '/'), *dot = strrchr(sp->rel, '.');
  size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - sp->rel) : strlen(sp->rel);
  const char *ext = j->o->format == TSR_AUG_OUT_NPY ? "npy" : sp->video ? NULL : j->ext;
  if (j->o->format == TSR_AUG_OUT_AUTO && !sp->video && dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
    ext = "jpg";
  snprintf(out, n, "%.*s_aug%d%s%s", (int)stem, sp->rel, k, ext ? "." : "", ext ? ext : "");
}

/* A frame of the PPM/PAM stream on stdin: its key is its name
 * (frame_000001, by position), no label; its fold, with no list to
 * stratify, is its hash modulo the folds. */
static void stream_spec(const job *j, const char *name, spec *sp) {
  memset(sp, 0, sizeof *sp);
  sp->path = (char *)"-";
  sp->rel = (char *)name;
  sp->label = (char *)"";
  sp->hash = tsr__aug_path_hash(name);
  sp->fold = j->o->folds > 1 ? (int)(sp->hash % (uint64_t)j->o->folds) : 0;
}

static int complete(void *jp, tsr__item *it) {
  job *j = jp;
  spec tmp;
  const spec *sp = it->from_stdin ? &tmp : find(j, it->name);
  if (it->from_stdin) {
    stream_spec(j, it->name, &tmp);
    if (tmp.hash % (uint64_t)j->o->shards != (uint64_t)j->o->shard) return 1; /* another shard's frame */
  }
  if (j->o->overwrite) return 0;
  if (!sp) return 0;
  for (int k = 0; k < j->o->copies; k++) {
    char rel[512], path[4608];
    out_rel(j, sp, k, rel, sizeof rel);
    if (!tsr__manifest_has(&j->man, rel, "")) return 0;
    snprintf(path, sizeof path, "%s/%s", j->o->outdir, rel);
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
  }
  return 1;
}

/* 8-bit samples (16-bit ones rounded), packed. */
static tsr_status to8(tsr_context *ctx, tsr_image **img) {
  tsr_image *s = *img;
  if (s->depth == 8) return TSR_OK;
  tsr_image *d = NULL;
  if (tsr_image_create(s->width, s->height, s->channels, 8, &d)) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  for (int y = 0; y < s->height; y++) {
    const uint16_t *a = (const uint16_t *)(const void *)(s->data + (size_t)y * s->stride);
    uint8_t *b = d->data + (size_t)y * d->stride;
    for (int x = 0; x < s->width * s->channels; x++) b[x] = (uint8_t)((a[x] * 255u + 32767u) / 65535u);
  }
  tsr_image_free(s);
  *img = d;
  return TSR_OK;
}

static tsr_status prepare(void *jp, tsr_context *lc, tsr__item *it) {
  job *j = jp;
  item *ai = calloc(1, sizeof *ai);
  if (!ai) return tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  it->data = ai;
  it->group = 0;
  if (it->from_stdin) { /* decoded already */
    stream_spec(j, it->name, &ai->own);
    ai->own.rel = it->name; /* the item outlives its data */
    ai->sp = &ai->own;
    tsr_status st = to8(lc, &it->img);
    if (st) return st;
    if (!(ai->frames = malloc(sizeof *ai->frames))) return tsr__fail(lc, TSR_E_NOMEM, "out of memory");
    ai->frames[0] = it->img;
    it->img = NULL; /* the item's data owns it now */
    ai->nframes = 1;
    ai->w = ai->frames[0]->width;
    ai->h = ai->frames[0]->height;
    ai->ch = ai->frames[0]->channels;
    return TSR_OK;
  }
  const spec *sp = ai->sp = find(j, it->name);
  if (!sp) return tsr__fail(lc, TSR_E_INVALID, "%s: unknown input", it->name);
  if (!sp->video) {
    tsr_status st = tsr__read_file(lc, sp->path, &ai->bytes, &ai->size);
    if (st) return st;
    /* JPEG by name and content; anything else (a PNG named .jpg included)
     * goes through tsr_image_decode, which names a mismatch */
    if (tsr_format_from_name(sp->path) == TSR_FMT_JPEG && ai->size >= 3 && ai->bytes[0] == 0xFF &&
        ai->bytes[1] == 0xD8 && ai->bytes[2] == 0xFF) {
      ai->jpeg = 1;
      return tsr__jpeg_info(lc, ai->bytes, ai->size, sp->path, &ai->w, &ai->h, &ai->ch);
    }
    return TSR_OK; /* other formats: the size when decoded */
  }
  tsr__video_sampling s = {0};
  s.count = j->o->frames;
  s.threads = 1; /* a few frames after each seek: decoder threads would only hold more frames (the workers are busy) */
  tsr__video *v = NULL;
  char err[TSR_ERRMSG_MAX];
  tsr_status st = tsr__video_open(sp->path, &s, &v, err, sizeof err);
  if (st) return tsr__fail(lc, st, "%s", err);
  ai->frames = calloc((size_t)j->o->frames, sizeof *ai->frames);
  if (!ai->frames) st = tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  while (!st && ai->nframes < j->o->frames) {
    tsr_image *img = NULL;
    st = tsr__video_next(v, &img, NULL, NULL, err, sizeof err);
    if (st) st = tsr__fail(lc, st, "%s", err);
    else if (!img) break;
    else if (!(st = to8(lc, &img))) ai->frames[ai->nframes++] = img;
    else tsr_image_free(img);
  }
  tsr__video_stats vs;
  tsr__video_get_stats(v, &vs);
  tsr__video_close(v);
  pthread_mutex_lock(&j->lock);
  j->res_decoded += vs.decoded_frames;
  j->res_kept += vs.kept_frames;
  j->res_videos++;
  pthread_mutex_unlock(&j->lock);
  if (!st && !ai->nframes) st = tsr__fail(lc, TSR_E_EMPTY, "%s: no frames", sp->path);
  if (!st) {
    ai->w = ai->frames[0]->width;
    ai->h = ai->frames[0]->height;
    ai->ch = ai->frames[0]->channels;
  }
  return st;
}

/* An image decoded whole, once (kept as the item's only frame). */
static tsr_status decode_whole(tsr_context *lc, item *ai) {
  if (ai->frames) return TSR_OK;
  tsr_image *img = NULL;
  tsr_status st = tsr_image_decode(lc, ai->bytes, ai->size, ai->sp->path, 0, &img);
  if (!st) st = to8(lc, &img);
  if (!st && !(ai->frames = malloc(sizeof *ai->frames))) st = tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  if (st) {
    tsr_image_free(img);
    return st;
  }
  ai->frames[0] = img;
  ai->nframes = 1;
  ai->w = img->width;
  ai->h = img->height;
  ai->ch = img->channels;
  return TSR_OK;
}

/* A JPEG copy's DCT scale (1/2, 1/4, 1/8 where its own map shrinks at
 * least that much) and the region of that decode its resample reads. */
static int jpeg_need(const job *j, const item *ai, const tsr__aug_plan *plan, int r[4]) {
  int d = 1;
  if (!j->o->full_decode) {
    double s = tsr__aug_shrink(plan);
    while (d < 8 && 2.0 * d <= s + 1e-9) d *= 2;
  }
  int sw = (ai->w + d - 1) / d, sh = (ai->h + d - 1) / d;
  tsr__aug_exec probe;
  tsr__aug_exec_make(&j->ops, plan, sw, sh, ai->ch, d, 0, 0, &probe);
  tsr__aug_region(&probe, plan, d, sw, sh, r);
  return d;
}

static int contains(const int a[4], const int b[4]) {
  return b[0] >= a[0] && b[1] >= a[1] && b[0] + b[2] <= a[0] + a[2] && b[1] + b[3] <= a[1] + a[3];
}

/* Copy k's source for frame f and its execution. A JPEG image (with no
 * pixel op before the geometry) is decoded at each copy's own DCT scale,
 * only in the region the copies of that scale still to come read (one
 * decode serves them all); region decodes give the pixels of the whole
 * decode (tested), so a copy's bytes depend only on its own plan. Other
 * inputs are decoded once, whole. *own: what the caller frees. */
static tsr_status copy_source(job *j, tsr_context *lc, item *ai, const tsr__aug_plan *plan, int k, int f,
                              tsr_image **own, const tsr_image **src, tsr__aug_exec *e) {
  *own = NULL;
  const spec *sp = ai->sp;
  if (!sp->video && ai->jpeg && !tsr__aug_has_pre(&j->ops)) {
    int r[4], d = jpeg_need(j, ai, plan, r);
    if (!ai->reg || ai->reg_d != d || !contains(ai->reg_rect, r)) {
      int u[4] = {r[0], r[1], r[0] + r[2], r[1] + r[3]};
      for (int kk = k + 1; kk < j->o->copies && kk <= k + 64; kk++) { /* a window: not quadratic in --copies */
        tsr__aug_plan pk;
        int rk[4];
        tsr__aug_plan_item(&j->ops, j->o->seed, sp->hash, (uint32_t)kk, ai->w, ai->h, &pk);
        if (jpeg_need(j, ai, &pk, rk) != d) continue;
        u[0] = rk[0] < u[0] ? rk[0] : u[0];
        u[1] = rk[1] < u[1] ? rk[1] : u[1];
        u[2] = rk[0] + rk[2] > u[2] ? rk[0] + rk[2] : u[2];
        u[3] = rk[1] + rk[3] > u[3] ? rk[1] + rk[3] : u[3];
      }
      tsr_image_free(ai->reg);
      ai->reg = NULL;
      int ox = 0;
      tsr_status st = tsr__jpeg_decode_region(lc, ai->bytes, ai->size, sp->path, d, u[0], u[1], u[2] - u[0],
                                              u[3] - u[1], &ai->reg, &ox);
      if (st) return st;
      ai->reg_d = d;
      ai->reg_rect[0] = ox;
      ai->reg_rect[1] = u[1];
      ai->reg_rect[2] = ai->reg->width;
      ai->reg_rect[3] = ai->reg->height;
    }
    tsr__aug_exec_make(&j->ops, plan, ai->reg->width, ai->reg->height, ai->reg->channels, d, ai->reg_rect[0],
                       ai->reg_rect[1], e);
    *src = ai->reg;
    return TSR_OK;
  }
  if (!sp->video) {
    tsr_status st = decode_whole(lc, ai);
    if (st) return st;
  }
  const tsr_image *fr = ai->frames[f];
  tsr__aug_exec_make(&j->ops, plan, fr->width, fr->height, fr->channels, 1, 0, 0, e);
  *src = fr;
  return TSR_OK;
}

/* Frames an item's copies have: a clip's, or 1. */
static int item_frames(const item *ai) { return ai->sp->video ? ai->nframes : 1; }

static tsr_status write_npy(tsr_context *lc, const char *path, tsr_image *const *f, int n, int clip) {
  const tsr_image *a = f[0];
  char dict[256];
  int dl = clip ? snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }",
                           n, a->height, a->width, a->channels)
                : snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                           a->height, a->width, a->channels);
  size_t hlen = ((size_t)10 + (size_t)dl + 1 + 63) / 64 * 64; /* magic, version, length, dict, '\n': 64-aligned */
  size_t frame = (size_t)a->width * a->height * a->channels, total = hlen + frame * (size_t)n;
  uint8_t *buf = malloc(total);
  if (!buf) return tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (uint8_t)((hlen - 10) & 255);
  buf[9] = (uint8_t)((hlen - 10) >> 8);
  memset(buf + 10, ' ', hlen - 10);
  memcpy(buf + 10, dict, (size_t)dl);
  buf[hlen - 1] = '\n';
  for (int i = 0; i < n; i++) memcpy(buf + hlen + frame * (size_t)i, f[i]->data, frame);
  tsr_status st = tsr__write_atomic(lc, path, buf, total);
  free(buf);
  return st;
}

/* The folder part of a relative path, made inside outdir. */
static tsr_status make_parent(tsr_context *lc, const char *outdir, const char *rel) {
  const char *slash = strrchr(rel, '/');
  if (!slash) return TSR_OK;
  char sub[512];
  snprintf(sub, sizeof sub, "%.*s", (int)(slash - rel), rel);
  return tsr__mkdirs_inside(lc, outdir, sub);
}

/* Copy k's files and manifest line. */
static tsr_status write_copy(job *j, tsr_context *lc, const item *ai, int k, tsr_image *const *outs,
                             const tsr__aug_plan *plan) {
  const spec *sp = ai->sp;
  char rel[512], path[4608];
  out_rel(j, sp, k, rel, sizeof rel);
  snprintf(path, sizeof path, "%s/%s", j->o->outdir, rel);
  tsr_status st = make_parent(lc, j->o->outdir, rel);
  tsr_write_options wo = TSR_WRITE_OPTIONS_INIT;
  wo.quality = j->o->quality;
  wo.png_level = j->o->png_level ? j->o->png_level : 1;
  if (!st) {
    if (j->o->format == TSR_AUG_OUT_NPY) {
      st = write_npy(lc, path, outs, item_frames(ai), sp->video);
    } else if (!sp->video) {
      st = tsr_image_write(lc, outs[0], path, &wo);
    } else if (!(st = tsr__mkdirs_inside(lc, j->o->outdir, rel))) {
      for (int f = 0; f < item_frames(ai) && !st; f++) {
        char fp[4700];
        snprintf(fp, sizeof fp, "%s/frame_%04d.%s", path, f, j->ext);
        st = tsr_image_write(lc, outs[f], fp, &wo);
      }
    }
  }
  if (st) return st;
  char params[16384], f_out[1100], f_label[600], f_src[8400], f_params[33000], line[45000];
  tsr__aug_params_json(&j->ops, plan, params, sizeof params);
  tsr__csv_field(rel, f_out, sizeof f_out);
  tsr__csv_field(sp->label, f_label, sizeof f_label);
  tsr__csv_field(sp->path, f_src, sizeof f_src);
  tsr__csv_field(params, f_params, sizeof f_params);
  char fold[16] = "";
  if (j->o->folds > 1) snprintf(fold, sizeof fold, "%d", sp->fold);
  snprintf(line, sizeof line, "%s,%s,%s,%d,%s,%llu,%s\n", f_out, f_label, f_src, k, fold,
           (unsigned long long)j->o->seed, f_params);
  st = tsr__manifest_add(lc, &j->man, rel, "", line);
  if (!st) {
    pthread_mutex_lock(&j->lock);
    j->outputs++;
    pthread_mutex_unlock(&j->lock);
  }
  return st;
}

/* Whether copy k is on disk and in the manifest from an earlier run. */
static int copy_done(const job *j, const spec *sp, int k) {
  if (j->o->overwrite) return 0;
  char rel[512], path[4608];
  out_rel(j, sp, k, rel, sizeof rel);
  if (!tsr__manifest_has(&j->man, rel, "")) return 0;
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", j->o->outdir, rel);
  return stat(path, &sb) == 0;
}

static tsr_status unit(void *jp, tsr_context *lc, tsr__item *it, int index, void *data) {
  (void)index;
  (void)data;
  job *j = jp;
  item *ai = it->data;
  int nf = item_frames(ai);
  tsr_image **outs = calloc((size_t)nf, sizeof *outs);
  tsr__aug_scratch work = {0};
  tsr_status st = outs ? TSR_OK : tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  if (!st && !ai->sp->video && !ai->jpeg) st = decode_whole(lc, ai); /* for the size the plans are drawn at */
  for (int k = 0; k < j->o->copies && !st; k++) {
    if (copy_done(j, ai->sp, k)) continue;
    tsr__aug_plan plan;
    tsr__aug_plan_item(&j->ops, j->o->seed, ai->sp->hash, (uint32_t)k, ai->w, ai->h, &plan);
    for (int f = 0; f < nf && !st; f++) {
      if (outs[f] && (outs[f]->width != plan.out_w || outs[f]->height != plan.out_h)) {
        tsr_image_free(outs[f]); /* the size varies by copy where no op sets it */
        outs[f] = NULL;
      }
      int ch = ai->ch;
      if (!outs[f] && tsr_image_create(plan.out_w, plan.out_h, ch, 8, &outs[f])) {
        st = tsr__fail(lc, TSR_E_NOMEM, "out of memory for a %dx%d output", plan.out_w, plan.out_h);
        break;
      }
      if (ai->outs) {
        memcpy(outs[f]->data, ai->outs[(size_t)k * nf + f], (size_t)plan.out_w * plan.out_h * ch);
        continue;
      }
      tsr_image *own = NULL;
      const tsr_image *src = NULL;
      tsr__aug_exec e;
      st = copy_source(j, lc, ai, &plan, k, f, &own, &src, &e);
      if (!st && tsr__aug_run_cpu(&e, src->data, outs[f]->data, &work)) st = tsr__fail(lc, TSR_E_NOMEM, "out of memory");
      tsr_image_free(own);
    }
    if (!st) st = write_copy(j, lc, ai, k, outs, &plan);
  }
  for (int f = 0; outs && f < nf; f++) tsr_image_free(outs[f]);
  free(outs);
  free(work.buf);
  return st;
}

/* The device's share of an item: every copy of every frame, the results
 * kept for the worker that writes them. */
static tsr_status device_item(job *j, item *ai) {
  tsr_context *ctx = j->ctx;
  int nf = item_frames(ai);
  tsr_status st = TSR_OK;
  if (!ai->sp->video && !ai->jpeg) st = decode_whole(ctx, ai);
  if (!st && !(ai->outs = calloc((size_t)j->o->copies * nf, sizeof *ai->outs)))
    st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  for (int k = 0; k < j->o->copies && !st; k++) {
    if (copy_done(j, ai->sp, k)) continue;
    tsr__aug_plan plan;
    tsr__aug_plan_item(&j->ops, j->o->seed, ai->sp->hash, (uint32_t)k, ai->w, ai->h, &plan);
    for (int f = 0; f < nf && !st; f++) {
      tsr_image *own = NULL;
      const tsr_image *src = NULL;
      tsr__aug_exec e;
      st = copy_source(j, ctx, ai, &plan, k, f, &own, &src, &e);
      uint8_t *o = NULL;
      if (!st && !(o = ai->outs[(size_t)k * nf + f] = malloc((size_t)e.out_w * e.out_h * e.ch)))
        st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
      if (!st) st = tsr__aug_run_cl(ctx, &e, src->data, o);
      tsr_image_free(own);
    }
  }
  if (st && ai->outs) {
    for (int i = 0; i < j->o->copies * nf; i++) free(ai->outs[i]);
    free(ai->outs);
    ai->outs = NULL;
  }
  return st;
}

static void compute(void *jp, tsr__pipeline *p, tsr__item **items, int n) {
  job *j = jp;
  for (int i = 0; i < n; i++) {
    item *ai = items[i]->data;
    if (j->device) {
      tsr_status st = device_item(j, ai);
      if (st == TSR_E_DEVICE) {
        tsr__log(j->ctx, TSR_LOG_WARN, "the OpenCL device failed (%s); the remaining items run on the CPU",
                 tsr_context_error(j->ctx));
        j->device = 0;
        st = TSR_OK;
      }
      if (st) {
        char msg[TSR_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", tsr_context_error(j->ctx));
        tsr__pipeline_fail(p, items[i], st, msg);
        continue;
      }
    }
    tsr__pipeline_emit(p, items[i], 0, NULL);
  }
}

static int batch(void *jp, tsr__pipeline *p, tsr__item *first) {
  (void)p;
  (void)first;
  job *j = jp;
  return j->device ? (j->o->batch > 0 ? j->o->batch : 8) : 1;
}

static void release(void *jp, tsr__item *it) {
  job *j = jp;
  item *ai = it->data;
  if (!ai) return;
  free(ai->bytes);
  tsr_image_free(ai->reg);
  for (int f = 0; f < ai->nframes; f++) tsr_image_free(ai->frames[f]);
  free(ai->frames);
  if (ai->outs) {
    for (int k = 0; k < j->o->copies * item_frames(ai); k++) free(ai->outs[k]);
    free(ai->outs);
  }
  free(ai);
  it->data = NULL;
}

static cJSON *fingerprint(const job *j) {
  char canon[8192];
  tsr__aug_canonical(&j->ops, canon, sizeof canon);
  static const char *const fmt[] = {"auto", "png", "jpg", "npy"};
  cJSON *f = cJSON_CreateObject();
  char seed[32];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)j->o->seed);
  cJSON_AddStringToObject(f, "ops", canon);
  cJSON_AddStringToObject(f, "seed", seed);
  cJSON_AddNumberToObject(f, "copies", j->o->copies);
  cJSON_AddNumberToObject(f, "frames", j->o->frames);
  cJSON_AddStringToObject(f, "format", fmt[j->o->format]);
  if (j->o->format == TSR_AUG_OUT_JPEG || j->o->format == TSR_AUG_OUT_AUTO)
    cJSON_AddNumberToObject(f, "quality", j->o->quality ? j->o->quality : 95);
  cJSON_AddNumberToObject(f, "png_level", j->o->png_level ? j->o->png_level : 1);
  cJSON_AddNumberToObject(f, "folds", j->o->folds > 1 ? j->o->folds : 0);
  cJSON_AddBoolToObject(f, "full_decode", j->o->full_decode);
  return f;
}

typedef struct {
  char name[512];
  int index;
} out_name;

static int cmp_out_name(const void *a, const void *b) {
  const out_name *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : x->index - y->index;
}

static tsr_status drop_collisions(tsr_context *ctx, const job *j, spec_list *l, skipped *sk) {
  out_name *v = malloc((size_t)l->n * sizeof *v);
  char *drop = calloc((size_t)l->n, 1);
  if (!v || !drop) {
    free(v);
    free(drop);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  for (int i = 0; i < l->n; i++) {
    out_rel(j, &l->v[i], 0, v[i].name, sizeof v[i].name);
    v[i].index = i;
  }
  qsort(v, (size_t)l->n, sizeof *v, cmp_out_name);
  for (int i = 1; i < l->n; i++)
    if (!strcmp(v[i].name, v[i - 1].name)) {
      int gone = v[i].index; /* the first in path order is kept */
      drop[gone] = 1;
      if (l->v[gone].hash % (uint64_t)j->o->shards == (uint64_t)j->o->shard) /* named by its own shard only */
        skip(ctx, sk, tsr__fail(ctx, TSR_E_INVALID, "%s: its outputs would overwrite those of %s (%s); rename one",
                                l->v[gone].path, l->v[v[i - 1].index].path, v[i].name));
    }
  int n = 0;
  for (int i = 0; i < l->n; i++) {
    if (drop[i]) spec_free(&l->v[i]);
    else l->v[n++] = l->v[i];
  }
  l->n = n;
  free(v);
  free(drop);
  return TSR_OK;
}

/* Manifests without a run record (it was deleted): their options are
 * unknown, so resuming could mix runs. */
static tsr_status check_record(tsr_context *ctx, const tsr_augment_options *o) {
  if (o->overwrite) return TSR_OK;
  char path[4200];
  struct stat sb;
  snprintf(path, sizeof path, "%s/run.json", o->outdir);
  if (stat(path, &sb) == 0) return TSR_OK;
  DIR *d = opendir(o->outdir);
  struct dirent *e;
  int found = 0;
  while (d && (e = readdir(d)))
    found |= !strncmp(e->d_name, "manifest", 8) && strstr(e->d_name, ".csv") != NULL;
  if (d) closedir(d);
  if (!found) return TSR_OK;
  return tsr__fail(ctx, TSR_E_MISMATCH, "%s holds manifests but no run.json, so its options are unknown; add "
                   "--overwrite to redo everything", o->outdir);
}

static const char *const manifest_header = "output,label,source,copy,fold,seed,params";

tsr_status tsr_augment(tsr_context *ctx, const char *const *inputs, int ninputs, const tsr_augment_options *o,
                       tsr_augment_result *res) {
  if (!ctx || !inputs || ninputs < 1 || !o || !o->outdir || !o->struct_size) return TSR_E_INVALID;
  tsr_augment_result local;
  if (!res) res = &local;
  memset(res, 0, sizeof *res);
  if (o->copies < 1 || o->copies > 100000) return tsr__fail(ctx, TSR_E_INVALID, "--copies must be 1..100000");
  if (o->frames < 1 || o->frames > 4096) return tsr__fail(ctx, TSR_E_INVALID, "--frames must be 1..4096");
  if (o->shards < 1 || o->shard < 0 || o->shard >= o->shards)
    return tsr__fail(ctx, TSR_E_INVALID, "--shard %d/%d: I must be 0..N-1", o->shard, o->shards);
  if (o->folds < 0 || o->folds > 1000) return tsr__fail(ctx, TSR_E_INVALID, "--folds must be 0..1000");
  if (o->overwrite && o->shards > 1)
    return tsr__fail(ctx, TSR_E_INVALID, "--overwrite with --shard would redo one shard under options the others do "
                     "not have; start the shards in a new folder");
  double t0 = tsr__now();
  job j;
  memset(&j, 0, sizeof j);
  j.ctx = ctx;
  j.o = o;
  j.man.fd = -1;
  j.ext = o->format == TSR_AUG_OUT_JPEG ? "jpg" : "png";
  j.device = tsr__use_device(ctx);
  pthread_mutex_init(&j.lock, NULL);
  tsr_status st = tsr__aug_parse(ctx, o->ops, &j.ops);
  if (st) {
    pthread_mutex_destroy(&j.lock);
    return st;
  }
  spec_list all = {0};
  skipped sk;
  memset(&sk, 0, sizeof sk);
  /* "-": a PPM/PAM stream on stdin, frame by frame; alone, since its
   * frames are only known as they arrive */
  int stream = 0;
  for (int i = 0; i < ninputs; i++) stream += !strcmp(inputs[i], "-");
  if (stream && ninputs > 1) {
    pthread_mutex_destroy(&j.lock);
    return tsr__fail(ctx, TSR_E_INVALID, "'-' (a PPM stream on stdin) must be the only input");
  }
  if (!stream) st = collect(ctx, inputs, ninputs, o->folds, o->outdir, o->shard, o->shards, &all, &sk);
  /* inputs whose outputs would collide (a.jpg and a.png as PNGs): the
   * later one is skipped with an error; the shard split comes after, so
   * every shard skips the same ones */
  if (!st && all.n > 1) st = drop_collisions(ctx, &j, &all, &sk);
  /* this shard's inputs, in the same order */
  int mine = 0;
  for (int i = 0; !st && i < all.n; i++) {
    if (all.v[i].hash % (uint64_t)o->shards == (uint64_t)o->shard) all.v[mine++] = all.v[i];
    else spec_free(&all.v[i]);
  }
  if (!st) all.n = mine;
  j.specs = all.v;
  j.nspecs = all.n;
  res->items = all.n;
  char **names = NULL;
  int lock_fd = -1;
  cJSON *fp = NULL;
  if (!st && !stream && !all.n && !sk.count && o->shards == 1)
    st = tsr__fail(ctx, TSR_E_EMPTY, "no images or videos in the inputs");
  if (!st && !all.n && sk.count) st = tsr__fail(ctx, sk.first, "%s", sk.first_msg);
  if (!st) {
    char lockname[64], manname[64];
    if (o->shards > 1) {
      snprintf(lockname, sizeof lockname, ".tessera.shard-%d-of-%d.lock", o->shard, o->shards);
      snprintf(manname, sizeof manname, "manifest.shard-%d-of-%d.csv", o->shard, o->shards);
    } else {
      snprintf(lockname, sizeof lockname, ".tessera.lock");
      snprintf(manname, sizeof manname, "manifest.csv");
    }
    char manpath[4200];
    snprintf(manpath, sizeof manpath, "%s/%s", o->outdir, manname);
    fp = fingerprint(&j);
    names = calloc((size_t)(all.n ? all.n : 1), sizeof *names);
    if (!fp || !names) st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    else if (tsr__mkdirs(o->outdir)) st = tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", o->outdir, strerror(errno));
    else if (!(st = tsr__outdir_lock_as(ctx, o->outdir, lockname, &lock_fd)) && !(st = check_record(ctx, o)) &&
             !(st = tsr__run_record(ctx, o->outdir, "augment", fp, o->overwrite))) {
      if (o->overwrite) unlink(manpath);
      st = tsr__manifest_open_csv(ctx, manpath, manifest_header, &j.man);
    }
  }
  if (!st && (all.n || stream)) {
    for (int i = 0; i < all.n; i++) names[i] = all.v[i].rel;
    tsr__pipeline_config cfg = {0};
    cfg.inputs = stream ? inputs : (const char *const *)names;
    cfg.ninputs = stream ? 1 : all.n;
    cfg.named = !stream;
    cfg.progress = o->progress;
    cfg.what = "augment";
    cfg.item = "input";
    tsr__pipeline_ops ops = {0};
    ops.complete = complete;
    ops.prepare = prepare;
    ops.batch = batch;
    ops.compute = compute;
    ops.unit = unit;
    ops.release = release;
    ops.units_per_item = 1;
    tsr__pipeline_stats ps;
    st = tsr__pipeline_run(ctx, &cfg, &ops, &j, &ps);
    res->done = ps.done;
    res->skipped = ps.skipped;
    res->failed = ps.failed;
    res->peak_rss = ps.peak_rss;
    if (stream) res->items = ps.done + ps.skipped + ps.failed;
  }
  res->failed += sk.count;
  if (!st && sk.count)
    st = tsr__fail(ctx, sk.first, "%d inputs could not be read (first: %s)", sk.count, sk.first_msg);
  res->outputs = j.outputs;
  res->videos = j.res_videos;
  res->decoded_frames = j.res_decoded;
  res->kept_frames = j.res_kept;
  res->seconds = tsr__now() - t0;
  tsr__manifest_close(&j.man);
  tsr__outdir_unlock(lock_fd);
  cJSON_Delete(fp);
  free(names);
  for (int i = 0; i < all.n; i++) spec_free(&all.v[i]);
  free(all.v);
  pthread_mutex_destroy(&j.lock);
  return st;
}

/* ---- tessera manifest merge ---------------------------------------------------- */
typedef struct {
  const char *line;
  size_t len;
  char key[1024];
} row;

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  size_t n = x->len < y->len ? x->len : y->len;
  c = memcmp(x->line, y->line, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

tsr_status tsr_manifest_merge(tsr_context *ctx, const char *const *inputs, int ninputs, const char *out) {
  if (!ctx || !inputs || ninputs < 1 || !out) return TSR_E_INVALID;
  uint8_t **bufs = calloc((size_t)ninputs, sizeof *bufs);
  row *rows = NULL;
  size_t nrows = 0, cap = 0, hlen = 0;
  char seed[64] = "";
  const char *header = NULL;
  tsr_status st = bufs ? TSR_OK : tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  for (int i = 0; i < ninputs && !st; i++) {
    size_t size = 0;
    if ((st = tsr__read_file(ctx, inputs[i], &bufs[i], &size))) break;
    const char *b = (const char *)bufs[i];
    const char *nl = memchr(b, '\n', size);
    if (!nl) {
      st = tsr__fail(ctx, TSR_E_FORMAT, "%s: not a manifest (no header line)", inputs[i]);
      break;
    }
    size_t hl = (size_t)(nl - b);
    if (!header) {
      header = b;
      hlen = hl;
    } else if (hl != hlen || memcmp(b, header, hl)) {
      st = tsr__fail(ctx, TSR_E_MISMATCH, "%s: its header differs from %s's", inputs[i], inputs[0]);
      break;
    }
    size_t start = hl + 1;
    for (size_t k = start; k < size; k++) {
      if (b[k] != '\n') continue;
      if (nrows == cap) {
        cap = cap ? cap * 2 : 1024;
        row *nr = realloc(rows, cap * sizeof *nr);
        if (!nr) {
          st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
          break;
        }
        rows = nr;
      }
      row *r = &rows[nrows];
      r->line = b + start;
      r->len = k + 1 - start;
      if (tsr__csv_first(r->line, r->len - 1, r->key, sizeof r->key) < 0) {
        st = tsr__fail(ctx, TSR_E_FORMAT, "%s: a malformed line (an unclosed quote)", inputs[i]);
        break;
      }
      /* the seed (6th field): rows of another seed are of another run */
      char field[64] = "";
      size_t pos = 0;
      for (int f = 0; f < 6 && pos < r->len; f++) {
        int used = tsr__csv_first(r->line + pos, r->len - 1 - pos, field, sizeof field);
        if (used < 0) break;
        pos += (size_t)used + 1;
      }
      if (!seed[0]) snprintf(seed, sizeof seed, "%s", field);
      else if (strcmp(seed, field)) {
        st = tsr__fail(ctx, TSR_E_MISMATCH, "%s: a row of seed %s among rows of seed %s: the manifests are of "
                       "different runs", inputs[i], field, seed);
        break;
      }
      nrows++;
      start = k + 1;
    }
    /* a torn last line (an interrupted shard) is left out */
  }
  if (!st) {
    if (nrows) qsort(rows, nrows, sizeof *rows, cmp_row);
    size_t total = hlen + 1;
    for (size_t i = 0; i < nrows; i++) total += rows[i].len;
    char *text = malloc(total);
    if (!text) st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    else {
      size_t used = 0;
      memcpy(text, header, hlen + 1);
      used = hlen + 1;
      for (size_t i = 0; i < nrows; i++) {
        if (i && !strcmp(rows[i].key, rows[i - 1].key)) {
          if (rows[i].len == rows[i - 1].len && !memcmp(rows[i].line, rows[i - 1].line, rows[i].len)) continue;
          st = tsr__fail(ctx, TSR_E_MISMATCH, "%s appears twice with different rows: the manifests are of different "
                         "runs", rows[i].key);
          break;
        }
        memcpy(text + used, rows[i].line, rows[i].len);
        used += rows[i].len;
      }
      if (!st) st = tsr__write_atomic(ctx, out, text, used);
      free(text);
    }
  }
  for (int i = 0; bufs && i < ninputs; i++) free(bufs[i]);
  free(bufs);
  free(rows);
  return st;
}
