/* tessera stereo as a job: one pair by file names, and batches of
 * Middlebury scenes and KITTI folders on the streaming pipeline.
 *
 * A batch's pairs are the pipeline's named items: the reader decodes a
 * pair (to 8-bit luma, the colour images freed at once) and reads its
 * range; compute matches it tile by tile on the context's device; a
 * worker writes its files. The items queue holds two pairs, so memory is
 * that of the largest pair, whatever the number of pairs. */
#include <ctype.h>
#include <strings.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "io/disparity.h"
#include "ops/stereo_impl.h"
#include "pipeline/pipeline.h"
#include "tessera/stereo.h"

/* ---- one pair's files ------------------------------------------------------------ */
static int has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), e = strlen(ext);
  return n > e && !strcasecmp(path + n - e, ext);
}

static tsr_status write_disp(tsr_context *ctx, const char *path, const int16_t *d, int w, int h) {
  return has_ext(path, ".png") ? tsr_disp_write_png16(ctx, path, d, w, h) : tsr_disp_write_pfm(ctx, path, d, w, h);
}

static tsr_status write_conf(tsr_context *ctx, const char *path, const uint8_t *c, int w, int h) {
  tsr_image *img = NULL;
  tsr_status st = tsr_image_create(w, h, 1, 8, &img);
  if (st) return tsr__fail(ctx, st, "out of memory");
  for (int y = 0; y < h; y++) memcpy(img->data + (size_t)y * img->stride, c + (size_t)y * (size_t)w, (size_t)w);
  st = tsr_image_write(ctx, img, path, NULL);
  tsr_image_free(img);
  return st;
}

typedef struct {
  int w, h;
  int16_t *disp, *right;
  uint8_t *conf;
} pair_out;

static void pair_out_free(pair_out *o) {
  free(o->disp);
  free(o->right);
  free(o->conf);
  memset(o, 0, sizeof *o);
}

static tsr_status pair_out_alloc(tsr_context *ctx, pair_out *o, int w, int h, int right, int conf) {
  memset(o, 0, sizeof *o);
  o->w = w;
  o->h = h;
  size_t n = (size_t)w * (size_t)h;
  o->disp = malloc(n * 2);
  if (right) o->right = malloc(n * 2);
  if (conf) o->conf = malloc(n);
  if (!o->disp || (right && !o->right) || (conf && !o->conf)) {
    pair_out_free(o);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory for the disparities of a %dx%d pair", w, h);
  }
  return TSR_OK;
}

static tsr_status write_files(tsr_context *ctx, const pair_out *o, const tsr_stereo_files *f, int dmin, int dmax) {
  tsr_status st = TSR_OK;
  if (f->disp) st = write_disp(ctx, f->disp, o->disp, o->w, o->h);
  if (!st && f->vis) {
    int a = dmin, b = dmax;
    if (f->vis_min != 0 || f->vis_max != 0) {
      a = (int)floor(f->vis_min);
      b = (int)ceil(f->vis_max);
    }
    st = tsr_disp_write_vis(ctx, f->vis, o->disp, o->w, o->h, a, b);
  }
  if (!st && f->right && o->right) st = write_disp(ctx, f->right, o->right, o->w, o->h);
  if (!st && f->confidence && o->conf) st = write_conf(ctx, f->confidence, o->conf, o->w, o->h);
  return st;
}

/* Both images of a pair as 8-bit luma; the colour images are freed as
 * soon as they are converted. */
static tsr_status read_gray(tsr_context *ctx, const char *path, tsr_image **g) {
  tsr_image *img = NULL;
  tsr_status st = tsr_image_read(ctx, path, 0, &img);
  if (st) return st;
  if (img->channels == 1 && img->depth == 8) {
    *g = img;
    return TSR_OK;
  }
  st = tsr_image_gray8(ctx, img, g);
  tsr_image_free(img);
  return st;
}

static tsr_status read_pair(tsr_context *ctx, const char *lp, const char *rp, tsr_image **l, tsr_image **r) {
  *l = *r = NULL;
  tsr_status st = read_gray(ctx, lp, l);
  if (!st) st = read_gray(ctx, rp, r);
  if (!st && ((*l)->width != (*r)->width || (*l)->height != (*r)->height))
    st = tsr__fail(ctx, TSR_E_INVALID, "%s is %dx%d but %s is %dx%d: a rectified pair has one size", lp, (*l)->width,
                   (*l)->height, rp, (*r)->width, (*r)->height);
  if (st) {
    tsr_image_free(*l);
    tsr_image_free(*r);
    *l = *r = NULL;
  }
  return st;
}

tsr_status tsr_stereo_pair(tsr_context *ctx, const char *left, const char *right, const tsr_stereo_options *opts,
                           const tsr_stereo_files *files, tsr_stereo_stats *stats) {
  if (!ctx || !left || !right || !opts || !files) return TSR_E_INVALID;
  tsr_image *l = NULL, *r = NULL;
  pair_out o;
  memset(&o, 0, sizeof o);
  tsr_status st = read_pair(ctx, left, right, &l, &r);
  if (!st) st = pair_out_alloc(ctx, &o, l->width, l->height, files->right != NULL, files->confidence != NULL);
  if (!st) st = tsr_stereo_match(ctx, l, r, opts, o.disp, o.right, o.conf, stats);
  tsr_image_free(l);
  tsr_image_free(r);
  if (!st) st = write_files(ctx, &o, files, opts->min_disp, opts->min_disp + opts->num_disp - 1);
  pair_out_free(&o);
  return st;
}

/* ---- the batch ------------------------------------------------------------------- */
typedef struct {
  char *name; /* the item's name: <scene> or <folder>/<stem> */
  char *left, *right, *calib; /* calib: NULL for KITTI */
  int kitti;
  char *dir;                  /* the output folder under outdir */
  char *stem;
} pair_spec;

typedef struct {
  tsr_context *ctx;
  const tsr_stereo_options *opts;
  const tsr_stereo_batch_options *bo;
  pair_spec *pairs;
  int npairs;
  uint64_t cells;
} batch_job;

typedef struct {
  const pair_spec *ps;
  tsr_image *l, *r;
  tsr_stereo_options o; /* the range this pair searches */
  tsr__calib cal;
  pair_out out;
} batch_item;

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return s;
}

/* Output file k of a pair (0 disp, 1 vis, 2 right, 3 confidence); NULL
 * when that extra is off. */
static char *out_path(const batch_job *j, const pair_spec *ps, int k) {
  static const int bits[4] = {0, TSR_STEREO_EXTRA_VIS, TSR_STEREO_EXTRA_RIGHT, TSR_STEREO_EXTRA_CONFIDENCE};
  if (k && !(j->bo->extras & bits[k])) return NULL;
  static const char *mb[4] = {"disp0.pfm", "disp0_vis.png", "disp1.pfm", "conf0.png"};
  static const char *kt[4] = {"disp_0", "vis", "disp_1", "conf"};
  if (!ps->kitti) return xasprintf("%s/%s/%s", j->bo->outdir, ps->dir, mb[k]);
  return xasprintf("%s/%s/%s/%s.png", j->bo->outdir, ps->dir, kt[k], ps->stem);
}

static const pair_spec *find_pair(const batch_job *j, const char *name) {
  for (int i = 0; i < j->npairs; i++)
    if (!strcmp(j->pairs[i].name, name)) return &j->pairs[i];
  return NULL;
}

static int batch_complete(void *job, tsr__item *it) {
  batch_job *j = job;
  if (j->bo->overwrite) return 0;
  const pair_spec *ps = find_pair(j, it->name);
  if (!ps) return 0;
  for (int k = 0; k < 4; k++) {
    char *p = out_path(j, ps, k);
    if (!p && k) continue;
    struct stat sb;
    int ok = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
    free(p);
    if (!ok) return 0;
  }
  return 1;
}

static tsr_status batch_prepare(void *job, tsr_context *lc, tsr__item *it) {
  batch_job *j = job;
  batch_item *bi = calloc(1, sizeof *bi);
  if (!bi) return tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  it->data = bi;
  const pair_spec *ps = bi->ps = find_pair(j, it->name);
  if (!ps) return tsr__fail(lc, TSR_E_INVALID, "%s: unknown pair", it->name);
  bi->o = *j->opts;
  tsr_status st = TSR_OK;
  if (ps->calib) {
    if ((st = tsr__calib_read(lc, ps->calib, &bi->cal))) return st;
    if (!j->bo->range_given) {
      bi->o.min_disp = 0;
      bi->o.num_disp = bi->cal.ndisp;
    }
  }
  if ((st = read_pair(lc, ps->left, ps->right, &bi->l, &bi->r))) return st;
  if (ps->calib && bi->cal.has_size && (bi->cal.width != bi->l->width || bi->cal.height != bi->l->height))
    return tsr__fail(lc, TSR_E_FORMAT, "%s says %dx%d but %s is %dx%d", ps->calib, bi->cal.width, bi->cal.height,
                     ps->left, bi->l->width, bi->l->height);
  it->group = 0;
  return TSR_OK;
}

static void batch_compute(void *job, tsr__pipeline *p, tsr__item **items, int n) {
  batch_job *j = job;
  for (int i = 0; i < n; i++) {
    batch_item *bi = items[i]->data;
    tsr_stereo_stats s;
    tsr_status st = pair_out_alloc(j->ctx, &bi->out, bi->l->width, bi->l->height,
                                   (j->bo->extras & TSR_STEREO_EXTRA_RIGHT) != 0,
                                   (j->bo->extras & TSR_STEREO_EXTRA_CONFIDENCE) != 0);
    if (!st) st = tsr_stereo_match(j->ctx, bi->l, bi->r, &bi->o, bi->out.disp, bi->out.right, bi->out.conf, &s);
    tsr_image_free(bi->l); /* the writer needs only the disparities */
    tsr_image_free(bi->r);
    bi->l = bi->r = NULL;
    if (st) {
      char msg[TSR_ERRMSG_MAX];
      snprintf(msg, sizeof msg, "%s: %s", bi->ps->left, tsr_context_error(j->ctx));
      tsr__pipeline_fail(p, items[i], st, msg);
      continue;
    }
    j->cells += s.cells;
    tsr__pipeline_emit(p, items[i], 0, NULL);
  }
}

/* The folder of an output file (below outdir), made; never through a link. */
static tsr_status make_parent(tsr_context *lc, const batch_job *j, const char *file) {
  size_t base = strlen(j->bo->outdir);
  const char *rel = file + base + 1, *slash = strrchr(rel, '/');
  char sub[4096];
  snprintf(sub, sizeof sub, "%.*s", slash ? (int)(slash - rel) : 0, rel);
  return tsr__mkdirs_inside(lc, j->bo->outdir, sub);
}

static tsr_status batch_unit(void *job, tsr_context *lc, tsr__item *it, int index, void *data) {
  (void)index;
  (void)data;
  batch_job *j = job;
  batch_item *bi = it->data;
  char *paths[4];
  for (int k = 0; k < 4; k++) paths[k] = out_path(j, bi->ps, k);
  tsr_status st = TSR_OK;
  for (int k = 0; k < 4 && !st; k++)
    if (paths[k]) st = make_parent(lc, j, paths[k]);
  if (!st && !paths[0]) st = tsr__fail(lc, TSR_E_NOMEM, "out of memory");
  tsr_stereo_files f = {paths[0], paths[1], paths[2], paths[3], 0, 0};
  if (bi->cal.has_v) {
    f.vis_min = bi->cal.vmin;
    f.vis_max = bi->cal.vmax;
  }
  if (!st) st = write_files(lc, &bi->out, &f, bi->o.min_disp, bi->o.min_disp + bi->o.num_disp - 1);
  for (int k = 0; k < 4; k++) free(paths[k]);
  return st;
}

static void batch_release(void *job, tsr__item *it) {
  (void)job;
  batch_item *bi = it->data;
  if (!bi) return;
  tsr_image_free(bi->l);
  tsr_image_free(bi->r);
  pair_out_free(&bi->out);
  free(bi);
  it->data = NULL;
}

static void spec_free(pair_spec *s) {
  free(s->name);
  free(s->left);
  free(s->right);
  free(s->calib);
  free(s->dir);
  free(s->stem);
}

static int is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}
static int is_file(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static tsr_status add_spec(tsr_context *ctx, pair_spec **v, int *n, int *cap, pair_spec s) {
  if (!s.name || !s.left || !s.right || !s.dir || (s.kitti ? !s.stem : !s.calib)) {
    spec_free(&s);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  if (strlen(s.name) >= sizeof(((tsr__item *)0)->name)) {
    tsr_status st = tsr__fail(ctx, TSR_E_INVALID, "%s: the pair's name is too long", s.left);
    spec_free(&s);
    return st;
  }
  for (int i = 0; i < *n; i++)
    if (!strcmp((*v)[i].name, s.name)) {
      tsr_status st = tsr__fail(ctx, TSR_E_INVALID, "%s and %s would write the same outputs (%s)", (*v)[i].left,
                                s.left, s.name);
      spec_free(&s);
      return st;
    }
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    pair_spec *nv = realloc(*v, (size_t)nc * sizeof *nv);
    if (!nv) {
      spec_free(&s);
      return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    }
    *v = nv;
    *cap = nc;
  }
  (*v)[(*n)++] = s;
  return TSR_OK;
}

/* A folder's base name without trailing slashes. */
static char *base_name(const char *dir) {
  char *d = strdup(dir);
  if (!d) return NULL;
  size_t n = strlen(d);
  while (n > 1 && d[n - 1] == '/') d[--n] = 0;
  char *b = strrchr(d, '/');
  char *r = strdup(b ? b + 1 : d);
  free(d);
  return r;
}

/* A folder (or frame) that cannot be a pair: reported and counted, the
 * rest go on. Returns st when it is fatal (out of memory). */
typedef struct {
  int count;
  tsr_status first;
  char first_msg[1024];
} skipped;

static tsr_status skip(tsr_context *ctx, skipped *sk, tsr_status st) {
  if (!st || st == TSR_E_NOMEM) return st;
  tsr__log(ctx, TSR_LOG_ERROR, "skipped %s", tsr_context_error(ctx));
  if (!sk->count++) {
    sk->first = st;
    snprintf(sk->first_msg, sizeof sk->first_msg, "%s", tsr_context_error(ctx));
  }
  return TSR_OK;
}

static tsr_status collect(tsr_context *ctx, const char *const *dirs, int ndirs, pair_spec **out, int *nout,
                          skipped *sk) {
  pair_spec *v = NULL;
  int n = 0, cap = 0;
  tsr_status st = TSR_OK;
  for (int i = 0; i < ndirs && !st; i++) {
    const char *d = dirs[i];
    char *bn = base_name(d);
    char *mb_l = xasprintf("%s/im0.png", d), *k2 = xasprintf("%s/image_2", d);
    if (!bn || !mb_l || !k2) {
      st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    } else if (!is_dir(d)) {
      st = skip(ctx, sk, tsr__fail(ctx, TSR_E_IO, "%s: not a folder (a batch takes Middlebury scenes or KITTI folders)", d));
    } else if (is_file(mb_l)) {
      pair_spec s = {0};
      s.name = strdup(bn);
      s.dir = strdup(bn);
      s.left = strdup(mb_l);
      s.right = xasprintf("%s/im1.png", d);
      s.calib = xasprintf("%s/calib.txt", d);
      st = skip(ctx, sk, add_spec(ctx, &v, &n, &cap, s));
    } else if (is_dir(k2)) {
      DIR *dh = opendir(k2);
      char **names = NULL;
      int nn = 0, nc = 0;
      struct dirent *e;
      while (dh && (e = readdir(dh))) {
        if (e->d_name[0] == '.' || tsr_format_from_name(e->d_name) == TSR_FMT_AUTO) continue;
        if (nn == nc) {
          nc = nc ? nc * 2 : 64;
          char **nv = realloc(names, (size_t)nc * sizeof *nv);
          if (!nv) break;
          names = nv;
        }
        if (!(names[nn] = strdup(e->d_name))) break;
        nn++;
      }
      if (dh) closedir(dh);
      if (names) qsort(names, (size_t)nn, sizeof *names, cmp_str);
      for (int k = 0; k < nn && !st; k++) {
        char stem[256];
        tsr__stem(names[k], stem, sizeof stem);
        pair_spec s = {0};
        s.kitti = 1;
        s.name = xasprintf("%s/%s", bn, stem);
        s.dir = strdup(bn);
        s.stem = strdup(stem);
        s.left = xasprintf("%s/image_2/%s", d, names[k]);
        s.right = xasprintf("%s/image_3/%s", d, names[k]);
        st = skip(ctx, sk, add_spec(ctx, &v, &n, &cap, s));
      }
      for (int k = 0; k < nn; k++) free(names[k]);
      free(names);
      if (!st && !nn) st = skip(ctx, sk, tsr__fail(ctx, TSR_E_EMPTY, "%s: no images", k2));
    } else {
      st = skip(ctx, sk, tsr__fail(ctx, TSR_E_FORMAT, "%s: neither a Middlebury scene (im0.png, im1.png, calib.txt) "
                                                      "nor a KITTI folder (image_2/, image_3/)", d));
    }
    free(bn);
    free(mb_l);
    free(k2);
  }
  if (!st && !n)
    st = sk->count ? tsr__fail(ctx, sk->first, "%s", sk->first_msg) : tsr__fail(ctx, TSR_E_EMPTY, "no pairs");
  if (st) {
    for (int i = 0; i < n; i++) spec_free(&v[i]);
    free(v);
    return st;
  }
  *out = v;
  *nout = n;
  return TSR_OK;
}

/* What determines the outputs: the effective options (defaults filled
 * in, so --p1 10 and no --p1 are the same run). The extras are not in
 * it: a pair missing one is matched again. */
static cJSON *fingerprint(const tsr_stereo_options *given, const tsr_stereo_batch_options *bo) {
  tsr_stereo_options o;
  tsr__stereo_effective(given, &o);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddBoolToObject(j, "range_given", bo->range_given);
  if (bo->range_given) {
    cJSON_AddNumberToObject(j, "min_disp", o.min_disp);
    cJSON_AddNumberToObject(j, "num_disp", o.num_disp);
  }
  cJSON_AddNumberToObject(j, "p1", o.p1);
  cJSON_AddNumberToObject(j, "p2", o.p2);
  cJSON_AddNumberToObject(j, "uniqueness", o.uniqueness);
  cJSON_AddNumberToObject(j, "lr_max", o.lr_max);
  cJSON_AddNumberToObject(j, "paths", o.paths);
  cJSON_AddNumberToObject(j, "median", o.median);
  cJSON_AddNumberToObject(j, "tile_w", o.tile_w);
  cJSON_AddNumberToObject(j, "tile_h", o.tile_h);
  cJSON_AddNumberToObject(j, "overlap", o.overlap);
  cJSON_AddNumberToObject(j, "guide", o.guide);
  return j;
}

tsr_status tsr_stereo_batch(tsr_context *ctx, const char *const *dirs, int ndirs, const tsr_stereo_options *opts,
                            const tsr_stereo_batch_options *bo, tsr_stereo_batch_result *res) {
  if (!ctx || !dirs || ndirs < 1 || !opts || !bo || !bo->outdir || !bo->struct_size) return TSR_E_INVALID;
  tsr_stereo_batch_result local;
  if (!res) res = &local;
  memset(res, 0, sizeof *res);
  double t0 = tsr__now();
  batch_job j;
  memset(&j, 0, sizeof j);
  j.ctx = ctx;
  j.opts = opts;
  j.bo = bo;
  skipped sk;
  memset(&sk, 0, sizeof sk);
  tsr_status st = collect(ctx, dirs, ndirs, &j.pairs, &j.npairs, &sk);
  if (st) {
    res->failed = sk.count;
    return st;
  }
  res->pairs = j.npairs;
  int lock_fd = -1;
  cJSON *fp = fingerprint(opts, bo);
  char **names = calloc((size_t)j.npairs, sizeof *names);
  if (!fp || !names) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  } else if (tsr__mkdirs(bo->outdir)) {
    st = tsr__fail(ctx, TSR_E_IO, "%s: cannot create: %s", bo->outdir, strerror(errno));
  } else if (!(st = tsr__outdir_lock(ctx, bo->outdir, &lock_fd)) &&
             !(st = tsr__run_record(ctx, bo->outdir, "stereo", fp, bo->overwrite))) {
    for (int i = 0; i < j.npairs; i++) names[i] = j.pairs[i].name;
    tsr__pipeline_config cfg = {0};
    cfg.inputs = (const char *const *)names;
    cfg.ninputs = j.npairs;
    cfg.named = 1;
    cfg.progress = bo->progress;
    cfg.what = "stereo";
    cfg.item = "pair";
    tsr__pipeline_ops ops = {0};
    ops.complete = batch_complete;
    ops.prepare = batch_prepare;
    ops.compute = batch_compute;
    ops.unit = batch_unit;
    ops.release = batch_release;
    ops.units_per_item = 1;
    tsr__pipeline_stats ps;
    st = tsr__pipeline_run(ctx, &cfg, &ops, &j, &ps);
    res->done = ps.done;
    res->skipped = ps.skipped;
    res->failed = ps.failed + sk.count;
    res->peak_rss = ps.peak_rss;
    if (!st && sk.count)
      st = tsr__fail(ctx, sk.first, "%d of %d inputs could not be read (first: %s)", sk.count, j.npairs + sk.count,
                     sk.first_msg);
    /* the matcher's scratch is the batch's: not kept past it */
    tsr__scratch_keep(ctx, NULL, NULL);
  }
  res->cells = j.cells;
  res->seconds = tsr__now() - t0;
  tsr__outdir_unlock(lock_fd);
  cJSON_Delete(fp);
  free(names);
  for (int i = 0; i < j.npairs; i++) spec_free(&j.pairs[i]);
  free(j.pairs);
  return st;
}
