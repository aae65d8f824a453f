/* Bounded blocking queue (see queue.h). */
#include "core/queue.h"

#include <stdlib.h>

int tsr__queue_init(tsr__queue *q, int cap) {
  q->items = calloc((size_t)cap, sizeof *q->items);
  if (!q->items) return -1;
  q->cap = q->alloc = cap;
  q->head = q->count = q->closed = q->hurry = 0;
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
  return 0;
}

void tsr__queue_destroy(tsr__queue *q) {
  if (!q->items) return;
  free(q->items);
  q->items = NULL;
  pthread_mutex_destroy(&q->lock);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
}

int tsr__queue_push(tsr__queue *q, void *item) {
  pthread_mutex_lock(&q->lock);
  while (q->count == q->cap && !q->closed) pthread_cond_wait(&q->not_full, &q->lock);
  if (q->closed) {
    pthread_mutex_unlock(&q->lock);
    return -1;
  }
  q->items[(q->head + q->count) % q->alloc] = item;
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
  return 0;
}

static void *take(tsr__queue *q) {
  void *item = q->items[q->head];
  q->head = (q->head + 1) % q->alloc;
  q->count--;
  pthread_cond_signal(&q->not_full);
  return item;
}

void *tsr__queue_pop(tsr__queue *q) {
  pthread_mutex_lock(&q->lock);
  while (q->count == 0 && !q->closed) pthread_cond_wait(&q->not_empty, &q->lock);
  void *item = q->count ? take(q) : NULL;
  pthread_mutex_unlock(&q->lock);
  return item;
}

void tsr__queue_close(tsr__queue *q) {
  pthread_mutex_lock(&q->lock);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->lock);
}

int tsr__queue_grow(tsr__queue *q, int cap) {
  pthread_mutex_lock(&q->lock);
  int rc = 0;
  if (cap > q->alloc) {
    void **items = malloc((size_t)cap * sizeof *items);
    if (!items) {
      rc = -1;
    } else {
      for (int i = 0; i < q->count; i++) items[i] = q->items[(q->head + i) % q->alloc];
      free(q->items);
      q->items = items;
      q->head = 0;
      q->alloc = cap;
    }
  }
  if (!rc && cap > q->cap) {
    q->cap = cap;
    pthread_cond_broadcast(&q->not_full);
  }
  pthread_mutex_unlock(&q->lock);
  return rc;
}

int tsr__queue_pop_upto(tsr__queue *q, void **out, int max) {
  pthread_mutex_lock(&q->lock);
  if (max > q->cap) max = q->cap;
  while (q->count < max && !q->closed && !q->hurry) pthread_cond_wait(&q->not_empty, &q->lock);
  int n = 0;
  while (n < max && q->count) out[n++] = take(q);
  pthread_mutex_unlock(&q->lock);
  return n;
}

void tsr__queue_hurry(tsr__queue *q, int on) {
  pthread_mutex_lock(&q->lock);
  q->hurry = on;
  if (on) pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
}

int tsr__queue_push_drop_oldest(tsr__queue *q, void *item, void **dropped) {
  *dropped = NULL;
  pthread_mutex_lock(&q->lock);
  if (q->closed) {
    pthread_mutex_unlock(&q->lock);
    return -1;
  }
  if (q->count == q->cap) *dropped = take(q);
  q->items[(q->head + q->count) % q->alloc] = item;
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->lock);
  return 0;
}
