/* The warp on an OpenCL device, as a stream of batches.
 *
 * A stream holds two buffer sets, each with its own in-order queue and
 * pinned staging buffers (where the driver gives them). Batch k runs on set
 * k % 2: while its kernel runs, the other set finishes downloading batch
 * k - 1 and then uploads batch k + 1, so transfers overlap kernels across
 * calls, not only inside one. The batch is planned once from the memory the
 * ledger has left (both sets, staging included), halved on allocation
 * failure, and it is the batch every submit runs. Closing with keep = 1
 * leaves the buffers in the device's cache for the next stream of the same
 * shape; another job's allocation evicts them if it needs the memory. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "ops/warp_impl.h"
#include "runtime/cl.h"

#define NSETS 2

typedef struct {
  tsr__buf *src, *dst, *up, *down; /* up/down: pinned staging, NULL if refused */
  cl_event ev_up, ev_kernel, ev_down;
  int n;                           /* items in flight (0: idle) */
  void *tag;
  tsr_image **dst_img;             /* n * nviews output images of the chunk */
} buffer_set;

struct tsr__warp_stream {
  tsr_context *ctx;
  cl_kernel kernel;
  tsr_src_desc s;
  tsr_view_desc *views;
  buffer_set set[NSETS];
  tsr__buf *sdesc, *vdesc;
  int batch, next, retries;
  size_t global_w, global_h;
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

/* Frees (keep = 0) or caches (keep = 1) every buffer of the stream. */
static void drop_buffers(tsr__warp_stream *w, int keep) {
  tsr_context *ctx = w->ctx;
  for (int k = 0; k < NSETS; k++) {
    buffer_set *b = &w->set[k];
    release_events(ctx, b);
    tsr__buf **all[4] = {&b->src, &b->dst, &b->up, &b->down};
    for (int i = 0; i < 4; i++) {
      if (!*all[i]) continue;
      if (keep) tsr__buf_keep(ctx, *all[i], buf_key(w->key, k, i));
      else tsr__buf_free(ctx, *all[i]);
      *all[i] = NULL;
    }
    free(b->dst_img);
    b->dst_img = NULL;
  }
  tsr__buf **d[2] = {&w->sdesc, &w->vdesc};
  for (int i = 0; i < 2; i++) {
    if (!*d[i]) continue;
    if (keep) tsr__buf_keep(ctx, *d[i], buf_key(w->key, 9, i));
    else tsr__buf_free(ctx, *d[i]);
    *d[i] = NULL;
  }
}

/* A cached buffer of this role, or a new one. */
static tsr_status get_buf(tsr__warp_stream *w, int set, int role, tsr__buf_kind kind, size_t bytes, tsr__buf **out) {
  *out = tsr__buf_reuse(w->ctx, "warp", buf_key(w->key, set, role), bytes);
  if (*out) return TSR_OK;
  return tsr__buf_alloc(w->ctx, "warp", kind, bytes, out);
}

static tsr_status alloc_sets(tsr__warp_stream *w) {
  const tsr_src_desc *s = &w->s;
  uint64_t base[5] = {s->item_bytes, s->dst_item_bytes, (uint64_t)s->nviews, (uint64_t)w->batch, 0x77617270};
  w->key = XXH3_64bits(base, sizeof base);
  size_t in = (size_t)s->item_bytes * (size_t)w->batch, out = (size_t)s->dst_item_bytes * (size_t)w->batch;
  tsr_status st = get_buf(w, 9, 0, TSR_BUF_READ, sizeof *s, &w->sdesc);
  if (!st) st = get_buf(w, 9, 1, TSR_BUF_READ, sizeof(tsr_view_desc) * (size_t)s->nviews, &w->vdesc);
  for (int k = 0; k < NSETS && !st; k++) {
    buffer_set *b = &w->set[k];
    st = get_buf(w, k, 0, TSR_BUF_READ, in, &b->src);
    if (!st) st = get_buf(w, k, 1, TSR_BUF_WRITE, out, &b->dst);
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

tsr_status tsr__warp_stream_open(tsr_context *ctx, const tsr_src_desc *s, const tsr_view_desc *views, int max_batch,
                                 tsr__warp_stream **out, int *retries) {
  *out = NULL;
  if (retries) *retries = 0;
  cl_kernel kernel;
  tsr_status st = tsr__cl_kernel(ctx, "warp.cl", "tsr_warp", &kernel, NULL, NULL);
  if (st) return st;
  tsr_mem_need need = tsr__warp_need(s->item_bytes, s->dst_item_bytes, s->nviews);
  tsr_plan plan;
  uint64_t avail = tsr__cl_available(ctx);
  if ((st = tsr_plan_batch(&need, avail, ctx->dev->max_alloc, max_batch, &plan)))
    return tsr__fail(ctx, TSR_E_DEVICE_MEMORY,
                     "one source image and its %d views need %llu bytes in two buffer sets, more than the %llu bytes "
                     "left of the budget", s->nviews,
                     (unsigned long long)(need.fixed_bytes + need.item_bytes[0] * 4 + need.item_bytes[1] * 4),
                     (unsigned long long)avail);
  tsr__warp_stream *w = calloc(1, sizeof *w);
  if (!w) return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  w->views = malloc(sizeof *views * (size_t)s->nviews);
  if (!w->views) {
    free(w);
    return tsr__fail(ctx, TSR_E_NOMEM, "out of memory");
  }
  memcpy(w->views, views, sizeof *views * (size_t)s->nviews);
  w->ctx = ctx;
  w->kernel = kernel;
  w->s = *s;
  w->batch = plan.batch;
  for (;;) {
    st = alloc_sets(w);
    if (!st) break;
    drop_buffers(w, 0);
    if (st != TSR_E_DEVICE_MEMORY || w->batch == 1) {
      free(w->views);
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
  if (!st) st = tsr__cl_write(ctx, 0, w->vdesc, 0, sizeof *views * (size_t)s->nviews, views, 1, NULL, NULL);
  if (st) {
    tsr__warp_stream_close(w, 0);
    return st;
  }
  w->global_w = w->global_h = 1;
  for (int v = 0; v < s->nviews; v++) {
    if ((size_t)views[v].width > w->global_w) w->global_w = (size_t)views[v].width;
    if ((size_t)views[v].height > w->global_h) w->global_h = (size_t)views[v].height;
  }
  w->st.backend = TSR_BACKEND_OPENCL;
  w->st.batch = w->batch;
  w->st.retries = w->retries;
  w->st.pinned = w->set[0].up && w->set[0].down;
  w->st.device_bytes = need.fixed_bytes + (uint64_t)w->batch * (need.item_bytes[0] + need.item_bytes[1]) * NSETS;
  *out = w;
  return TSR_OK;
}

int tsr__warp_stream_batch(const tsr__warp_stream *w) { return w->batch; }

/* Waits for a set's chunk and hands its views to the caller's images. */
static tsr_status collect_set(tsr__warp_stream *w, buffer_set *b, void **tag) {
  tsr_context *ctx = w->ctx;
  const tsr_src_desc *s = &w->s;
  *tag = NULL;
  if (!b->n) return TSR_OK;
  tsr_status st = tsr__cl_wait(ctx, b->ev_down);
  if (st) return st;
  if (b->down)
    for (int i = 0; i < b->n; i++)
      for (int v = 0; v < s->nviews; v++)
        memcpy(b->dst_img[i * s->nviews + v]->data, b->down->host + (size_t)i * s->dst_item_bytes + w->views[v].dst_offset,
               (size_t)w->views[v].stride * (size_t)w->views[v].height);
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

tsr_status tsr__warp_stream_submit(tsr__warp_stream *w, const tsr_image *const *src, int n, tsr_image *const *dst,
                                   void *tag, void **done) {
  tsr_context *ctx = w->ctx;
  const tsr_src_desc *s = &w->s;
  *done = NULL;
  if (n < 1 || n > w->batch) return tsr__fail(ctx, TSR_E_INVALID, "warp stream: %d items for a batch of %d", n, w->batch);
  int q = w->next;
  buffer_set *b = &w->set[q];
  tsr_status st = collect_set(w, b, done);
  if (st) return st;
  if (b->up) {
    for (int i = 0; i < n; i++) memcpy(b->up->host + (size_t)i * s->item_bytes, src[i]->data, s->item_bytes);
    st = tsr__cl_write(ctx, q, b->src, 0, (size_t)n * s->item_bytes, b->up->host, 0, NULL, &b->ev_up);
  } else {
    for (int i = 0; i < n && !st; i++) {
      tsr__cl_event_release(ctx, &b->ev_up);
      st = tsr__cl_write(ctx, q, b->src, (size_t)i * s->item_bytes, s->item_bytes, src[i]->data, 0, NULL, &b->ev_up);
    }
  }
  tsr__cl_arg args[4] = {TSR_ARG_BUF(b->src), TSR_ARG_BUF(w->sdesc), TSR_ARG_BUF(w->vdesc), TSR_ARG_BUF(b->dst)};
  size_t global[3] = {w->global_w, w->global_h, (size_t)n * (size_t)s->nviews};
  if (!st) st = tsr__cl_launch(ctx, q, w->kernel, 4, args, 3, global, NULL, NULL, &b->ev_kernel);
  if (!st && b->down) {
    st = tsr__cl_read(ctx, q, b->dst, 0, (size_t)n * s->dst_item_bytes, b->down->host, 0, NULL, &b->ev_down);
  } else {
    for (int i = 0; i < n && !st; i++)
      for (int v = 0; v < s->nviews && !st; v++) {
        tsr__cl_event_release(ctx, &b->ev_down);
        st = tsr__cl_read(ctx, q, b->dst, (size_t)i * s->dst_item_bytes + w->views[v].dst_offset,
                          (size_t)w->views[v].stride * (size_t)w->views[v].height, dst[i * s->nviews + v]->data, 0,
                          NULL, &b->ev_down);
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
  free(w->views);
  free(w);
}

tsr_status tsr__warp_cl(tsr_context *ctx, const tsr_image *const *src, int nsrc, const tsr_src_desc *s,
                        const tsr_view_desc *views, tsr_image *const *dst, tsr_warp_stats *stats) {
  tsr__warp_stream *w;
  tsr_status st = tsr__warp_stream_open(ctx, s, views, nsrc, &w, &stats->retries);
  if (st) return st;
  void *done;
  for (int first = 0; first < nsrc && !st;) {
    int n = nsrc - first < w->batch ? nsrc - first : w->batch;
    st = tsr__warp_stream_submit(w, src + first, n, dst + (size_t)first * (size_t)s->nviews, NULL, &done);
    first += n;
  }
  for (int k = 0; k < NSETS && !st; k++) st = tsr__warp_stream_collect(w, &done);
  tsr__warp_stream_stats(w, stats);
  tsr__warp_stream_close(w, st == TSR_OK);
  return st;
}
