/* A bounded queue of pointers between pipeline stages: push blocks while it
 * is full, pop blocks while it is empty, and close wakes everyone so that
 * stages drain and end. The bound is what keeps a pipeline's memory flat. */
#ifndef TSR_QUEUE_H
#define TSR_QUEUE_H

#include <pthread.h>

typedef struct {
  void **items;
  int cap, alloc, head, count, closed, hurry;
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
} tsr__queue;

int tsr__queue_init(tsr__queue *q, int cap);
void tsr__queue_destroy(tsr__queue *q);
/* Returns 0, or -1 if the queue was closed (the item was not queued). */
int tsr__queue_push(tsr__queue *q, void *item);
/* Returns the next item, or NULL once the queue is closed and empty. */
void *tsr__queue_pop(tsr__queue *q);
void tsr__queue_close(tsr__queue *q);
/* Raises the bound to cap (never lowers it); -1 when out of memory. */
int tsr__queue_grow(tsr__queue *q, int cap);
/* Pops up to max items into out: waits until max are queued, the queue is
 * closed, or the producer said it is waiting for input (hurry: then it
 * takes what is there, maybe nothing), so batches fill when input is
 * plentiful and nothing waits on a slow stream. Returns the count. */
int tsr__queue_pop_upto(tsr__queue *q, void **out, int max);
/* Producer: 1 while it waits for input (wakes pop_upto), 0 after. */
void tsr__queue_hurry(tsr__queue *q, int on);
/* Pushes without blocking; when full, the oldest item is taken out and
 * returned in *dropped (else NULL), so a live source keeps the newest. */
int tsr__queue_push_drop_oldest(tsr__queue *q, void *item, void **dropped);

#endif
