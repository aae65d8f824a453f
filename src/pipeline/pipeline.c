/* The pipeline's stages, queues, accounting, progress and cancellation
 * (see pipeline.h). The items queue starts at 2 and grows to the batch the
 * job plans, so a device batch fills from decoded frames while the last
 * one runs; the units queue holds two items' worth of outputs. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/queue.h"
#include "pipeline/pipeline.h"

typedef struct {
  tsr__item *it;
  int index;
  void *data;
} unit;

struct tsr__pipeline {
  tsr_context *ctx;
  const tsr__pipeline_config *cfg;
  const tsr__pipeline_ops *ops;
  void *job;
  tsr__pipeline_stats *st;
  tsr__queue items, units;
  pthread_mutex_t lock; /* stats, progress */
  char **inputs;
  int ninputs;
  double t0, last_progress;
};

static void add_time(tsr__pipeline *p, double *field, double seconds) {
  pthread_mutex_lock(&p->lock);
  *field += seconds;
  pthread_mutex_unlock(&p->lock);
}

/* Under p->lock. */
/* What messages call an item. */
static const char *item_word(const tsr__pipeline_config *cfg) { return cfg->item ? cfg->item : "frame"; }

static void progress(tsr__pipeline *p, int final) {
  if (!p->cfg->progress) return;
  double t = tsr__now();
  if (!final && t - p->last_progress < 0.25) return;
  p->last_progress = t;
  const tsr__pipeline_stats *s = p->st;
  int done = s->done + s->skipped + s->failed;
  double el = t - p->t0, rate = el > 0 ? done / el : 0;
  char eta[32] = "", total[24] = "?", dropped[32] = "";
  if (s->items_total > 0 && rate > 0) {
    int left = (int)((s->items_total - done) / rate + 0.5);
    snprintf(eta, sizeof eta, "  ETA %d:%02d", left / 60, left % 60);
  }
  if (s->items_total >= 0) snprintf(total, sizeof total, "%d", s->items_total);
  if (s->dropped) snprintf(dropped, sizeof dropped, "  %d dropped", s->dropped);
  fprintf(stderr, "\r%s: %d/%s %ss  %.2f %ss/s%s%s   %s", p->cfg->what, done, total, item_word(p->cfg), rate,
          item_word(p->cfg), eta, dropped,
          final ? "\n" : "");
  fflush(stderr);
}

static void free_item(tsr__pipeline *p, tsr__item *it) {
  if (p->ops->release) p->ops->release(p->job, it);
  tsr_image_free(it->img);
  free(it->levels);
  free(it->bytes);
  free(it);
}

static void report(tsr__pipeline *p, const char *name, tsr_status status, const char *msg) {
  pthread_mutex_lock(&p->lock);
  p->st->failed++;
  if (!p->st->first_err) {
    p->st->first_err = status;
    snprintf(p->st->first_msg, sizeof p->st->first_msg, "%s", msg);
  }
  if (p->cfg->progress && !p->ctx->log && !p->ctx->quiet) fputc('\n', stderr);
  /* Messages about a file mostly start with its name: say it once. */
  size_t n = strlen(name);
  if (!strncmp(msg, name, n) && msg[n] == ':') tsr__log(p->ctx, TSR_LOG_ERROR, "skipped %s", msg);
  else tsr__log(p->ctx, TSR_LOG_ERROR, "skipped %s %s: %s", item_word(p->cfg), name, msg);
  progress(p, 0);
  pthread_mutex_unlock(&p->lock);
}

/* How messages name an item: its file, else its name. */
static const char *label(const tsr__item *it) { return it->path ? it->path : it->name; }

void tsr__pipeline_fail(tsr__pipeline *p, tsr__item *it, tsr_status st, const char *msg) {
  report(p, label(it), st, msg);
  free_item(p, it);
}

void tsr__pipeline_emit(tsr__pipeline *p, tsr__item *it, int index, void *data) {
  unit *u = malloc(sizeof *u);
  if (u) {
    u->it = it;
    u->index = index;
    u->data = data;
  }
  if (!u || tsr__queue_push(&p->units, u)) {
    /* Only when out of memory: the unit fails, and with it the item, which
     * is counted once, as failed. */
    free(u);
    pthread_mutex_lock(&p->lock);
    int first = !it->failed, last = --it->units_left == 0;
    it->failed = 1;
    pthread_mutex_unlock(&p->lock);
    if (first) report(p, label(it), TSR_E_NOMEM, "out of memory");
    if (last) free_item(p, it);
  }
}

/* ---- reader ------------------------------------------------------------------ */
static void waiting(void *arg, int on) { tsr__queue_hurry(&((tsr__pipeline *)arg)->items, on); }

/* An item whose outputs all exist (the job's complete()): counted as
 * skipped and ended. Returns whether it was. */
static int skip_if_complete(tsr__pipeline *p, tsr_context *lc, tsr__item *it) {
  const tsr__pipeline_ops *ops = p->ops;
  if (!ops->complete || !ops->complete(p->job, it)) return 0;
  if (ops->skipped) ops->skipped(p->job, lc, it);
  pthread_mutex_lock(&p->lock);
  p->st->skipped++;
  progress(p, 0);
  pthread_mutex_unlock(&p->lock);
  free_item(p, it);
  return 1;
}

/* Prepares an item the resume check has passed and queues it; failed or
 * dropped items end here. */
static void submit(tsr__pipeline *p, tsr_context *lc, tsr__item *it) {
  const tsr__pipeline_ops *ops = p->ops;
  double t = tsr__now();
  tsr_status st = ops->prepare(p->job, lc, it);
  add_time(p, &p->st->decode_s, tsr__now() - t);
  free(it->bytes);
  it->bytes = NULL;
  if (st) {
    tsr__pipeline_fail(p, it, st, tsr_context_error(lc));
    return;
  }
  it->units_left = ops->units_per_item;
  if (p->cfg->live) {
    void *dropped = NULL;
    if (tsr__queue_push_drop_oldest(&p->items, it, &dropped)) {
      free_item(p, it);
      return;
    }
    if (dropped) {
      pthread_mutex_lock(&p->lock);
      p->st->dropped++;
      pthread_mutex_unlock(&p->lock);
      free_item(p, dropped);
    }
  } else if (tsr__queue_push(&p->items, it)) {
    free_item(p, it);
  }
}

static tsr__item *new_item(const char *name, const char *path) {
  tsr__item *it = calloc(1, sizeof *it);
  if (!it) return NULL;
  snprintf(it->name, sizeof it->name, "%s", name);
  it->path = path;
  return it;
}

static void read_stdin(tsr__pipeline *p, tsr_context *lc) {
  tsr__pnm_stream s = {0};
  s.fd = 0;
  s.cancel = p->ctx;
  int n = 0;
  while (!tsr__cancelled(p->ctx)) {
    char name[32];
    snprintf(name, sizeof name, "frame_%06d", n + 1);
    tsr_image *img;
    double t = tsr__now();
    tsr_status st = tsr__pnm_stream_next(lc, &s, name, &img, waiting, p);
    add_time(p, &p->st->read_s, tsr__now() - t);
    if (st == TSR_E_CANCELLED || (!st && !img)) break;
    n++;
    if (st) {
      report(p, name, st, tsr_context_error(lc));
      break; /* the stream cannot be resynchronised */
    }
    tsr__item *it = new_item(name, NULL);
    if (!it) {
      tsr_image_free(img);
      break;
    }
    it->img = img;
    it->from_stdin = 1;
    if (!skip_if_complete(p, lc, it)) submit(p, lc, it);
  }
  if (n == 0 && !tsr__cancelled(p->ctx)) report(p, "stdin", TSR_E_EMPTY, "stdin: no frame arrived");
  tsr__pnm_stream_free(&s);
}

static void read_video(tsr__pipeline *p, tsr_context *lc, const char *path) {
  char err[TSR_ERRMSG_MAX], stem[200];
  tsr__stem(path, stem, sizeof stem);
  tsr__video *v = NULL;
  double t = tsr__now();
  tsr_status st = tsr__video_open(path, &p->cfg->sampling, &v, err, sizeof err);
  if (st) {
    add_time(p, &p->st->read_s, tsr__now() - t);
    report(p, path, st, err);
    return;
  }
  while (!tsr__cancelled(p->ctx)) {
    tsr_image *img = NULL;
    long index = 0;
    st = tsr__video_next(v, &img, &index, NULL, err, sizeof err);
    if (st) {
      report(p, path, st, err);
      break;
    }
    if (!img) break;
    char name[256];
    snprintf(name, sizeof name, "%s_%06ld", stem, index);
    tsr__item *it = new_item(name, NULL);
    if (!it) {
      tsr_image_free(img);
      break;
    }
    it->img = img;
    pthread_mutex_lock(&p->lock);
    if (p->st->items_total >= 0) p->st->items_total++;
    pthread_mutex_unlock(&p->lock);
    if (!skip_if_complete(p, lc, it)) submit(p, lc, it);
  }
  tsr__video_stats vs;
  tsr__video_get_stats(v, &vs);
  if (!st && vs.kept_frames == 0 && !tsr__cancelled(p->ctx))
    report(p, path, TSR_E_EMPTY, "no frame in the range asked for (--start, --duration)");
  tsr__video_close(v);
  pthread_mutex_lock(&p->lock);
  tsr__video_stats *a = &p->st->video;
  a->decoded_frames += vs.decoded_frames;
  a->kept_frames += vs.kept_frames;
  a->seeks += vs.seeks;
  a->keyframes_in_index += vs.keyframes_in_index;
  if (vs.gop_frames > a->gop_frames) a->gop_frames = vs.gop_frames;
  a->read_s += vs.read_s;
  a->decode_s += vs.decode_s;
  a->convert_s += vs.convert_s;
  a->width = vs.width;
  a->height = vs.height;
  a->stream_fps = vs.stream_fps;
  a->duration_s += vs.duration_s;
  snprintf(a->codec, sizeof a->codec, "%s", vs.codec);
  p->st->videos++;
  p->st->read_s += vs.read_s;
  p->st->decode_s += vs.decode_s + vs.convert_s;
  pthread_mutex_unlock(&p->lock);
}

static void *reader_main(void *arg) {
  tsr__pipeline *p = arg;
  tsr_context lc;
  tsr__context_child(&lc, p->ctx);
  for (int i = 0; i < p->ninputs && !tsr__cancelled(p->ctx); i++) {
    const char *path = p->inputs[i];
    if (p->cfg->named) {
      tsr__item *it = new_item(path, NULL);
      if (!it) break;
      if (!skip_if_complete(p, &lc, it)) submit(p, &lc, it);
      continue;
    }
    if (!strcmp(path, "-")) {
      read_stdin(p, &lc);
      continue;
    }
    if (tsr__is_video_name(path)) {
      read_video(p, &lc, path);
      continue;
    }
    char stem[256];
    tsr__stem(path, stem, sizeof stem);
    tsr__item *it = new_item(stem, path);
    if (!it) break;
    if (skip_if_complete(p, &lc, it)) continue; /* without reading the file */
    double t = tsr__now();
    tsr_status st = tsr__read_file(&lc, path, &it->bytes, &it->size);
    add_time(p, &p->st->read_s, tsr__now() - t);
    if (st) {
      tsr__pipeline_fail(p, it, st, tsr_context_error(&lc));
      continue;
    }
    submit(p, &lc, it);
  }
  tsr__queue_close(&p->items);
  tsr__context_fini(&lc);
  return NULL;
}

/* ---- workers ------------------------------------------------------------------ */
static void *worker_main(void *arg) {
  tsr__pipeline *p = arg;
  tsr_context lc;
  tsr__context_child(&lc, p->ctx);
  unit *u;
  while ((u = tsr__queue_pop(&p->units))) {
    tsr__item *it = u->it;
    double t = tsr__now();
    tsr_status st = p->ops->unit(p->job, &lc, it, u->index, u->data);
    free(u);
    pthread_mutex_lock(&p->lock);
    p->st->unit_s += tsr__now() - t;
    int first_failure = st && !it->failed;
    if (st) it->failed = 1;
    else p->st->units_done++;
    int last = --it->units_left == 0;
    if (last && !it->failed) {
      p->st->done++;
      progress(p, 0);
    }
    pthread_mutex_unlock(&p->lock);
    if (first_failure) report(p, label(it), st, tsr_context_error(&lc));
    if (last) free_item(p, it);
  }
  tsr__context_fini(&lc);
  return NULL;
}

/* ---- the run ------------------------------------------------------------------- */
tsr_status tsr__pipeline_run(tsr_context *ctx, const tsr__pipeline_config *cfg, const tsr__pipeline_ops *ops,
                             void *job, tsr__pipeline_stats *stats) {
  memset(stats, 0, sizeof *stats);
  tsr__pipeline p;
  memset(&p, 0, sizeof p);
  p.ctx = ctx;
  p.cfg = cfg;
  p.ops = ops;
  p.job = job;
  p.st = stats;
  p.t0 = tsr__now();
  tsr_status st = TSR_OK;
  if (cfg->named) {
    p.inputs = calloc((size_t)(cfg->ninputs > 0 ? cfg->ninputs : 1), sizeof *p.inputs);
    for (int i = 0; p.inputs && i < cfg->ninputs; i++)
      if ((p.inputs[p.ninputs] = strdup(cfg->inputs[i]))) p.ninputs++;
    if (!p.inputs || p.ninputs < cfg->ninputs) st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  } else {
    st = tsr__inputs_expand(ctx, cfg->inputs, cfg->ninputs, cfg->recursive, &p.inputs, &p.ninputs);
  }
  if (st) {
    tsr__inputs_free(p.inputs, p.ninputs);
    return st;
  }
  if (!p.ninputs) {
    tsr__inputs_free(p.inputs, p.ninputs);
    return tsr__fail(ctx, TSR_E_EMPTY, "no images or videos found in the inputs");
  }
  stats->items_total = p.ninputs;
  for (int i = 0; i < p.ninputs && !cfg->named; i++)
    if (!strcmp(p.inputs[i], "-") || tsr__is_video_name(p.inputs[i])) stats->items_total = -1;
  int nworkers = cfg->workers > 0 ? cfg->workers : ctx->threads;
  pthread_t reader, *workers = calloc((size_t)nworkers, sizeof *workers);
  pthread_mutex_init(&p.lock, NULL);
  int started = 0, reader_started = 0;
  if (!workers || tsr__queue_init(&p.items, 2) || tsr__queue_init(&p.units, 2 * ops->units_per_item)) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
    goto done;
  }
  if (pthread_create(&reader, NULL, reader_main, &p)) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "cannot start the reader thread");
    goto done;
  }
  reader_started = 1;
  for (; started < nworkers; started++)
    if (pthread_create(&workers[started], NULL, worker_main, &p)) break;
  if (!started) {
    st = tsr__fail(ctx, TSR_E_NOMEM, "cannot start worker threads");
    tsr_context_cancel(ctx);
    tsr__queue_close(&p.items); /* a reader blocked on a full queue returns */
    goto done;
  }

  /* The compute stage runs here. Items popped past a change of group wait
   * in `pend`, in order, for the next batch. */
  tsr__item *pend[256], *batch[256];
  int npend = 0;
  for (;;) {
    tsr__item *first = NULL;
    if (npend) {
      first = pend[0];
      memmove(pend, pend + 1, (size_t)--npend * sizeof *pend);
    } else if (!tsr__queue_pop_upto(&p.items, (void **)&first, 1)) {
      /* The source waits for input (or has ended): hand on everything
       * still in flight before waiting, so a stream's frames come out now. */
      if (ops->flush) ops->flush(job, &p);
      if (!(first = tsr__queue_pop(&p.items))) break;
    }
    double t = tsr__now();
    int b = ops->batch ? ops->batch(job, &p, first) : 1;
    if (b < 1) b = 1;
    if (b > 256) b = 256;
    /* The queue holds a whole batch, so the next one fills while this one runs. */
    tsr__queue_grow(&p.items, b);
    add_time(&p, &stats->compute_s, tsr__now() - t);
    batch[0] = first;
    int n = 1, cut = 0;
    while (npend && n < b && !cut) {
      if (pend[0]->group != first->group) cut = 1;
      else {
        batch[n++] = pend[0];
        memmove(pend, pend + 1, (size_t)--npend * sizeof *pend);
      }
    }
    while (n < b && !cut) {
      int want = b - n;
      tsr__item *more[256];
      int got = tsr__queue_pop_upto(&p.items, (void **)more, want);
      for (int k = 0; k < got; k++) {
        if (!cut && more[k]->group == first->group) batch[n++] = more[k];
        else {
          cut = 1;
          pend[npend++] = more[k];
        }
      }
      if (got < want) break; /* closed, or the source is waiting for input: run what has arrived */
    }
    t = tsr__now();
    ops->compute(job, &p, batch, n);
    add_time(&p, &stats->compute_s, tsr__now() - t);
  }
  if (ops->drain) ops->drain(job, &p);

done:
  if (reader_started) pthread_join(reader, NULL);
  if (p.units.items) tsr__queue_close(&p.units);
  for (int i = 0; i < started; i++) pthread_join(workers[i], NULL);
  free(workers);
  stats->wall_s = tsr__now() - p.t0;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) stats->peak_rss = (uint64_t)ru.ru_maxrss * 1024;
  if (reader_started) {
    pthread_mutex_lock(&p.lock);
    progress(&p, 1);
    pthread_mutex_unlock(&p.lock);
  }
  tsr__queue_destroy(&p.items);
  tsr__queue_destroy(&p.units);
  pthread_mutex_destroy(&p.lock);
  tsr__inputs_free(p.inputs, p.ninputs);
  if (st) return st;
  if (tsr__cancelled(ctx))
    return tsr__fail(ctx, TSR_E_CANCELLED, "cancelled: %d %ss finished, the rest were not started",
                     stats->done, item_word(cfg));
  if (stats->first_err)
    return tsr__fail(ctx, stats->first_err, "%d of %d %ss failed (first: %s)", stats->failed,
                     stats->done + stats->skipped + stats->failed, item_word(cfg), stats->first_msg);
  return TSR_OK;
}
