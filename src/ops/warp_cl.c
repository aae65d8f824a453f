/* The warp on an OpenCL device, as a stream of batches.
 *
 * The plan's sampling data (positions and footprints of every view) is
 * uploaded once when it fits the budget beside one batch; otherwise it is
 * cut into tiles of rows, each set of buffers has its own tile buffers, and
 * every batch runs tile by tile, each tile's data uploaded before its
 * launch. The algorithm is the same either way.
 *
 * A stream holds two buffer sets, each with its own in-order queue and
 * pinned staging buffers (where the driver gives them). Batch k runs on set
 * k % 2: while its kernels run, the other set finishes downloading batch
 * k - 1 and then uploads batch k + 1, so transfers overlap kernels across
 * calls, not only inside one. Per batch: upload each item's level 0, build
 * the pyramid levels the views need on the device (tsr_pyr_down), one warp
 * launch for all views of all items (per tile), download. The batch is
 * planned once from the memory the ledger has left (both sets, staging
 * included), halved on allocation failure, and it is the batch every submit
 * runs. Closing with keep = 1 leaves the buffers in the device's cache for
 * the next stream of the same shape; another job's allocation evicts them
 * if it needs the memory. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ops/warp_impl.h"
#include "runtime/cl.h"

#define NSETS 2

typedef struct {
  tsr__buf *src, *dst, *up, *down; /* up/down: pinned staging, NULL if refused */
  tsr__buf *tpos, *text;           /* tile mode: this set's tile of sampling data */
  cl_event ev_up, ev_kernel, ev_down;
  int n;                           /* items in flight (0: idle) */
  void *tag;
  tsr_image **dst_img;             /* n * nviews output images of the chunk */
} buffer_set;

struct tsr__warp_stream {
  tsr_context *ctx;
  cl_kernel kernel, pyr;
  const tsr__warp_plan *plan;
  tsr_warp_src s;
  tsr_warp_vdesc *tvd;             /* the views' descriptors as the kernel sees them (tile offsets) */
  buffer_set set[NSETS];
  tsr__buf *sdesc, *vdesc, *pos, *ext; /* pos/ext: all the sampling data (untiled) */
  int tile_rows, ntiles, maxh;
  uint64_t tile_pos, tile_ext;     /* position / footprint pairs in one tile */
  int batch, next, retries;
  size_t global_w, local[3];
  uint64_t key;
  tsr_warp_stats st;
};

static uint64_t buf_key(uint64_t base, int set, int role) {
  uint64_t v[3] = {base, (uint64_t)set, (uint64_t)role};
  return XXH3_64bits(v, sizeof v) | 1;
}

static void release_events(tsr_context *ctx, buffer_set *b) {
  tsr__cl_event_release(ctx, &b->ev_up);
  tsr__cl_event_release(ctx, &b->ev_kernel);
  tsr__cl_event_release(ctx, &b->ev_down);
}

static void put_buf(tsr__warp_stream *w, tsr__buf **b, int set, int role, int keep) {
  if (!*b) return;
  if (keep) tsr__buf_keep(w->ctx, *b, buf_key(w->key, set, role));
  else tsr__buf_free(w->ctx, *b);
  *b = NULL;
}

/* Frees (keep = 0) or caches (keep = 1) every buffer of the stream. */
static void drop_buffers(tsr__warp_stream *w, int keep) {
  for (int k = 0; k < NSETS; k++) {
    buffer_set *b = &w->set[k];
    release_events(w->ctx, b);
    tsr__buf **all[6] = {&b->src, &b->dst, &b->up, &b->down, &b->tpos, &b->text};
    for (int i = 0; i < 6; i++) put_buf(w, all[i], k, i, keep);
    free(b->dst_img);
    b->dst_img = NULL;
  }
  tsr__buf **d[4] = {&w->sdesc, &w->vdesc, &w->pos, &w->ext};
  for (int i = 0; i < 4; i++) put_buf(w, d[i], 9, i, keep);
}

/* A cached buffer of this role, or a new one. */
static tsr_status get_buf(tsr__warp_stream *w, int set, int role, tsr__buf_kind kind, size_t bytes, tsr__buf **out) {
  *out = tsr__buf_reuse(w->ctx, "warp", buf_key(w->key, set, role), bytes);
  if (*out) return TSR_OK;
  return tsr__buf_alloc(w->ctx, "warp", kind, bytes, out);
}

/* Sampling data bytes of tile_rows rows of every view. */
static uint64_t tile_bytes(const tsr__warp_plan *p, int rows, uint64_t *npos, uint64_t *next) {
  *npos = *next = 0;
  for (int v = 0; v < p->s.nviews; v++) {
    int r = rows < p->vd[v].height ? rows : p->vd[v].height;
    *npos += (uint64_t)r * (uint64_t)p->vd[v].width;
    if (p->vd[v].mode == TSR_MODE_AREA) *next += (uint64_t)r * (uint64_t)p->vd[v].width;
  }
  return *npos * 8 + *next * 4;
}

static tsr_status alloc_sets(tsr__warp_stream *w) {
  const tsr_warp_src *s = &w->s;
  uint64_t base[6] = {s->item_bytes, s->dst_item_bytes, (uint64_t)s->nviews, (uint64_t)w->batch,
                      (uint64_t)w->tile_rows, 0x77617270};
  w->key = XXH3_64bits(base, sizeof base);
  size_t in = (size_t)s->item_bytes * (size_t)w->batch, out = (size_t)s->dst_item_bytes * (size_t)w->batch;
  size_t pos_bytes = (size_t)w->tile_pos * 8, ext_bytes = w->tile_ext ? (size_t)w->tile_ext * 4 : 4;
  tsr_status st = get_buf(w, 9, 0, TSR_BUF_READ, sizeof *s, &w->sdesc);
  if (!st) st = get_buf(w, 9, 1, TSR_BUF_READ, sizeof(tsr_warp_vdesc) * (size_t)s->nviews, &w->vdesc);
  if (!st && w->ntiles == 1) st = get_buf(w, 9, 2, TSR_BUF_READ, pos_bytes, &w->pos);
  if (!st && w->ntiles == 1) st = get_buf(w, 9, 3, TSR_BUF_READ, ext_bytes, &w->ext);
  for (int k = 0; k < NSETS && !st; k++) {
    buffer_set *b = &w->set[k];
    st = get_buf(w, k, 0, TSR_BUF_READ, in, &b->src);
    if (!st) st = get_buf(w, k, 1, TSR_BUF_WRITE, out, &b->dst);
    if (!st && w->ntiles > 1) st = get_buf(w, k, 4, TSR_BUF_READ, pos_bytes, &b->tpos);
    if (!st && w->ntiles > 1) st = get_buf(w, k, 5, TSR_BUF_READ, ext_bytes, &b->text);
    /* Staging is an optimisation: without it, transfers use the caller's
     * memory directly. An out-of-memory here still halves the batch. */
    if (!st) {
      tsr_status p = get_buf(w, k, 2, TSR_BUF_PINNED_UP, in, &b->up);
      if (!p) p = get_buf(w, k, 3, TSR_BUF_PINNED_DOWN, out, &b->down);
      if (p == TSR_E_DEVICE_MEMORY) st = p;
    }
  }
  return st;
}

/* The rows of one tile and the batch: all rows when the data fits beside
 * one batch, else the most rows (halving) whose two tiles do. */
static tsr_status plan_tiles(tsr__warp_stream *w, int max_batch, tsr_plan *plan) {
  tsr_context *ctx = w->ctx;
  const tsr__warp_plan *p = w->plan;
  uint64_t avail = tsr__cl_available(ctx), descs = sizeof(tsr_warp_src) + sizeof(tsr_warp_vdesc) * (uint64_t)p->s.nviews;
  for (int rows = w->maxh; rows >= 1; rows = rows > 1 ? (rows + 1) / 2 : 0) {
    uint64_t npos, next, data = tile_bytes(p, rows, &npos, &next);
    int tiled = rows < w->maxh;
    tsr_mem_need need = tsr__warp_need(p->s.item_bytes, p->s.dst_item_bytes, descs + data * (tiled ? NSETS : 1));
    if ((data <= ctx->dev->max_alloc || !ctx->dev->max_alloc) &&
        tsr_plan_batch(&need, avail, ctx->dev->max_alloc, max_batch, plan) == TSR_OK) {
      w->tile_rows = rows;
      w->ntiles = (w->maxh + rows - 1) / rows;
      w->tile_pos = npos;
      w->tile_ext = next;
      w->st.device_bytes = need.fixed_bytes + (uint64_t)plan->batch * (need.item_bytes[0] + need.item_bytes[1]) * NSETS;
      return TSR_OK;
    }
    if (rows == 1) break;
  }
  tsr_mem_need one = tsr__warp_need(p->s.item_bytes, p->s.dst_item_bytes, descs);
  return tsr__fail(ctx, TSR_E_DEVICE_MEMORY,
                   "one source image and its %d views need %llu bytes in two buffer sets, more than the %llu bytes "
                   "left of the budget", p->s.nviews,
                   (unsigned long long)(one.fixed_bytes + one.item_bytes[0] * 4 + one.item_bytes[1] * 4),
                   (unsigned long long)avail);
}

tsr_status tsr__warp_stream_open(tsr_context *ctx, const tsr__warp_plan *plan, int max_batch, tsr__warp_stream **out,
                                 int *retries) {
  *out = NULL;
  if (retries) *retries = 0;
  const tsr_warp_src *s = &plan->s;
  cl_kernel kernel, pyr = NULL;
  tsr_status st = tsr__cl_kernel(ctx, "warp.cl", "tsr_warp", &kernel, NULL, NULL);
  if (!st && s->nlevels > 1) st = tsr__cl_kernel(ctx, "warp.cl", "tsr_pyr_down", &pyr, NULL, NULL);
  if (st) return st;
  cl_ulong cmax = 0;
  if (ctx->cl->api->clGetDeviceInfo(ctx->cl->device, CL_DEVICE_MAX_CONSTANT_BUFFER_SIZE, sizeof cmax, &cmax, NULL) ==
          CL_SUCCESS &&
      cmax && sizeof(tsr_warp_vdesc) * (cl_ulong)s->nviews > cmax)
    return tsr__fail(ctx, TSR_E_DEVICE, "%d views need %zu bytes of constant memory, the device has %llu", s->nviews,
                     sizeof(tsr_warp_vdesc) * (size_t)s->nviews, (unsigned long long)cmax);
  tsr__warp_stream *w = calloc(1, sizeof *w);
  if (!w || !(w->tvd = malloc(sizeof *w->tvd * (size_t)s->nviews))) {
    free(w);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  w->ctx = ctx;
  w->kernel = kernel;
  w->pyr = pyr;
  w->plan = plan;
  w->s = *s;
  w->global_w = w->maxh = 1;
  for (int v = 0; v < s->nviews; v++) {
    if ((size_t)plan->vd[v].width > w->global_w) w->global_w = (size_t)plan->vd[v].width;
    if (plan->vd[v].height > w->maxh) w->maxh = plan->vd[v].height;
  }
  tsr_plan bp;
  if ((st = plan_tiles(w, max_batch, &bp))) {
    free(w->tvd);
    free(w);
    return st;
  }
  w->batch = bp.batch;
  /* Descriptors with each view's offsets inside one tile. */
  uint64_t po = 0, eo = 0;
  for (int v = 0; v < s->nviews; v++) {
    w->tvd[v] = plan->vd[v];
    if (w->ntiles > 1) {
      int r = w->tile_rows < plan->vd[v].height ? w->tile_rows : plan->vd[v].height;
      w->tvd[v].pos_offset = po;
      w->tvd[v].ext_offset = eo;
      po += (uint64_t)r * (uint64_t)plan->vd[v].width;
      if (plan->vd[v].mode == TSR_MODE_AREA) eo += (uint64_t)r * (uint64_t)plan->vd[v].width;
    }
  }
  for (;;) {
    st = alloc_sets(w);
    if (!st) break;
    drop_buffers(w, 0);
    if (st != TSR_E_DEVICE_MEMORY || w->batch == 1) {
      free(w->tvd);
      free(w);
      if (st == TSR_E_DEVICE_MEMORY) {
        char why[TSR_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", tsr_context_error(ctx));
        tsr__fail(ctx, st, "out of device memory at batch 1 (%s)", why);
      }
      return st;
    }
    w->batch /= 2;
    w->retries++;
    if (retries) *retries = w->retries;
  }
  for (int k = 0; k < NSETS && !st; k++) {
    w->set[k].dst_img = calloc((size_t)w->batch * (size_t)s->nviews, sizeof *w->set[k].dst_img);
    if (!w->set[k].dst_img) st = tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  if (!st) st = tsr__cl_write(ctx, 0, w->sdesc, 0, sizeof *s, s, 1, NULL, NULL);
  if (!st) st = tsr__cl_write(ctx, 0, w->vdesc, 0, sizeof *w->tvd * (size_t)s->nviews, w->tvd, 1, NULL, NULL);
  if (!st && w->ntiles == 1) st = tsr__cl_write(ctx, 0, w->pos, 0, (size_t)plan->npos * 8, plan->pos, 1, NULL, NULL);
  if (!st && w->ntiles == 1 && plan->next)
    st = tsr__cl_write(ctx, 0, w->ext, 0, (size_t)plan->next * 4, plan->ext, 1, NULL, NULL);
  if (st) {
    tsr__warp_stream_close(w, 0);
    return st;
  }
  tsr__cl_local_rows(ctx, w->kernel, w->local);
  w->st.backend = TSR_BACKEND_OPENCL;
  w->st.batch = w->batch;
  w->st.retries = w->retries;
  w->st.pinned = w->set[0].up && w->set[0].down;
  *out = w;
  return TSR_OK;
}

int tsr__warp_stream_batch(const tsr__warp_stream *w) { return w->batch; }
int tsr__warp_stream_tiles(const tsr__warp_stream *w) { return w->ntiles; }

/* Waits for a set's chunk and hands its views to the caller's images. */
static tsr_status collect_set(tsr__warp_stream *w, buffer_set *b, void **tag) {
  tsr_context *ctx = w->ctx;
  const tsr_warp_src *s = &w->s;
  *tag = NULL;
  if (!b->n) return TSR_OK;
  tsr_status st = tsr__cl_wait(ctx, b->ev_down);
  if (st) return st;
  const tsr_warp_vdesc *vd = w->plan->vd;
  if (b->down)
    for (int i = 0; i < b->n; i++)
      for (int v = 0; v < s->nviews; v++)
        memcpy(b->dst_img[i * s->nviews + v]->data, b->down->host + (size_t)i * s->dst_item_bytes + vd[v].dst_offset,
               (size_t)vd[v].stride * (size_t)vd[v].height);
  const tsr__cl_api *cl = ctx->cl->api;
  w->st.upload_s += tsr__cl_event_seconds(cl, b->ev_up);
  w->st.kernel_s += tsr__cl_event_seconds(cl, b->ev_kernel);
  w->st.download_s += tsr__cl_event_seconds(cl, b->ev_down);
  release_events(ctx, b);
  *tag = b->tag;
  b->n = 0;
  b->tag = NULL;
  return TSR_OK;
}

/* Uploads tile t's sampling data of every view into set b's tile buffers. */
static tsr_status upload_tile(tsr__warp_stream *w, int q, buffer_set *b, int t) {
  const tsr__warp_plan *p = w->plan;
  tsr_status st = TSR_OK;
  for (int v = 0; v < p->s.nviews && !st; v++) {
    const tsr_warp_vdesc *d = &p->vd[v];
    int r0 = t * w->tile_rows;
    if (r0 >= d->height) continue;
    int rows = d->height - r0 < w->tile_rows ? d->height - r0 : w->tile_rows;
    size_t px = (size_t)rows * (size_t)d->width, first = (size_t)r0 * (size_t)d->width;
    st = tsr__cl_write(w->ctx, q, b->tpos, (size_t)w->tvd[v].pos_offset * 8, px * 8,
                       p->pos + 2 * (d->pos_offset + first), 0, NULL, NULL);
    if (!st && d->mode == TSR_MODE_AREA)
      st = tsr__cl_write(w->ctx, q, b->text, (size_t)w->tvd[v].ext_offset * 4, px * 4,
                         p->ext + 2 * (d->ext_offset + first), 0, NULL, NULL);
  }
  return st;
}

/* The pyramid levels and the warp of n items on set b's queue. */
static tsr_status run_kernels(tsr__warp_stream *w, int q, buffer_set *b, int n) {
  tsr_context *ctx = w->ctx;
  const tsr_warp_src *s = &w->s;
  tsr_status st = TSR_OK;
  for (cl_int k = 0; k + 1 < s->nlevels && !st; k++) {
    tsr__cl_arg a[3] = {TSR_ARG_BUF(b->src), TSR_ARG_BUF(w->sdesc), TSR_ARG_VAL(k)};
    size_t g[3] = {(size_t)s->level_w[k + 1], (size_t)s->level_h[k + 1], (size_t)n};
    st = tsr__cl_launch(ctx, q, w->pyr, 3, a, 3, g, NULL, NULL, NULL);
  }
  for (int t = 0; t < w->ntiles && !st; t++) {
    tsr__buf *pos = w->ntiles > 1 ? b->tpos : w->pos, *ext = w->ntiles > 1 ? b->text : w->ext;
    if (w->ntiles > 1) st = upload_tile(w, q, b, t);
    cl_int row0 = t * w->tile_rows, rows = w->tile_rows;
    cl_int items = n;
    tsr__cl_arg args[9] = {TSR_ARG_BUF(b->src), TSR_ARG_BUF(w->sdesc), TSR_ARG_BUF(w->vdesc),
                           TSR_ARG_BUF(pos),    TSR_ARG_BUF(ext),      TSR_ARG_BUF(b->dst),
                           TSR_ARG_VAL(row0),   TSR_ARG_VAL(rows),     TSR_ARG_VAL(items)};
    size_t global[3] = {w->global_w, (size_t)w->tile_rows, (size_t)s->nviews};
    if (!st) {
      tsr__cl_event_release(ctx, &b->ev_kernel);
      st = tsr__cl_launch(ctx, q, w->kernel, 9, args, 3, global, w->local, NULL, &b->ev_kernel);
    }
  }
  return st;
}

tsr_status tsr__warp_stream_submit(tsr__warp_stream *w, const tsr_image *const *src, int n, tsr_image *const *dst,
                                   void *tag, void **done) {
  tsr_context *ctx = w->ctx;
  const tsr_warp_src *s = &w->s;
  *done = NULL;
  if (n < 1 || n > w->batch) return tsr__fail(ctx, TSR_E_INVALID, "warp stream: %d items for a batch of %d", n, w->batch);
  int q = w->next;
  buffer_set *b = &w->set[q];
  tsr_status st = collect_set(w, b, done);
  if (st) return st;
  size_t lv0 = (size_t)s->level_stride[0] * (size_t)s->level_h[0];
  if (b->up && s->nlevels == 1) {
    for (int i = 0; i < n; i++) memcpy(b->up->host + (size_t)i * s->item_bytes, src[i]->data, lv0);
    st = tsr__cl_write(ctx, q, b->src, 0, (size_t)n * s->item_bytes, b->up->host, 0, NULL, &b->ev_up);
  } else {
    for (int i = 0; i < n && !st; i++) {
      const uint8_t *from = src[i]->data;
      if (b->up) {
        memcpy(b->up->host + (size_t)i * s->item_bytes, src[i]->data, lv0);
        from = b->up->host + (size_t)i * s->item_bytes;
      }
      tsr__cl_event_release(ctx, &b->ev_up);
      st = tsr__cl_write(ctx, q, b->src, (size_t)i * s->item_bytes, lv0, from, 0, NULL, &b->ev_up);
    }
  }
  if (!st) st = run_kernels(w, q, b, n);
  const tsr_warp_vdesc *vd = w->plan->vd;
  if (!st && b->down) {
    st = tsr__cl_read(ctx, q, b->dst, 0, (size_t)n * s->dst_item_bytes, b->down->host, 0, NULL, &b->ev_down);
  } else {
    for (int i = 0; i < n && !st; i++)
      for (int v = 0; v < s->nviews && !st; v++) {
        tsr__cl_event_release(ctx, &b->ev_down);
        st = tsr__cl_read(ctx, q, b->dst, (size_t)i * s->dst_item_bytes + vd[v].dst_offset,
                          (size_t)vd[v].stride * (size_t)vd[v].height, dst[i * s->nviews + v]->data, 0, NULL,
                          &b->ev_down);
      }
  }
  if (st) {
    release_events(ctx, b);
    return st;
  }
  memcpy(b->dst_img, dst, sizeof *dst * (size_t)n * (size_t)s->nviews);
  if (w->set[(q + 1) % NSETS].n) w->st.overlapped++;
  b->n = n;
  b->tag = tag;
  w->next = (q + 1) % NSETS;
  w->st.launches++;
  if (n > w->st.batch_run_max) w->st.batch_run_max = n;
  w->st.items += n;
  return TSR_OK;
}

tsr_status tsr__warp_stream_collect(tsr__warp_stream *w, void **tag) {
  *tag = NULL;
  /* The oldest chunk is on the set the next submit would use. */
  for (int k = 0; k < NSETS; k++) {
    buffer_set *b = &w->set[(w->next + k) % NSETS];
    if (b->n) return collect_set(w, b, tag);
  }
  return TSR_OK;
}

int tsr__warp_stream_pending(const tsr__warp_stream *w, void **tags) {
  int n = 0;
  for (int k = 0; k < NSETS; k++) {
    const buffer_set *b = &w->set[(w->next + k) % NSETS];
    if (b->n) tags[n++] = b->tag;
  }
  return n;
}

void tsr__warp_stream_stats(const tsr__warp_stream *w, tsr_warp_stats *st) { *st = w->st; }

void tsr__warp_stream_close(tsr__warp_stream *w, int keep) {
  if (!w) return;
  int busy = 0;
  for (int k = 0; k < NSETS; k++) busy |= w->set[k].n != 0;
  if (busy) keep = 0;
  /* Abandoned mid-flight, or after an error (a failed submit may have
   * queued an upload that still reads the caller's memory): the queues
   * drain before the caller's images or the buffers are touched again. */
  if (!keep)
    for (int q = 0; q < TSR_CL_QUEUES; q++) tsr__cl_finish(w->ctx, q);
  drop_buffers(w, keep);
  free(w->tvd);
  free(w);
}

tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr__warp_plan *plan,
                        tsr_image *const *dst, tsr_warp_stats *stats) {
  tsr__warp_stream *w;
  tsr_status st = tsr__warp_stream_open(ctx, plan, nsrc, &w, &stats->retries);
  if (st) return st;
  void *done;
  const int nviews = plan->s.nviews;
  for (int first = 0; first < nsrc && !st;) {
    int n = nsrc - first < w->batch ? nsrc - first : w->batch;
    st = tsr__warp_stream_submit(w, src + first, n, dst + (size_t)first * (size_t)nviews, NULL, &done);
    first += n;
  }
  for (int k = 0; k < NSETS && !st; k++) st = tsr__warp_stream_collect(w, &done);
  tsr__warp_stream_stats(w, stats);
  tsr__warp_stream_close(w, st == TSR_OK);
  return st;
}
