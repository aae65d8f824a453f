/* The manifest of an output folder (src/io/manifest.c), shared by the jobs
 * that write one line per output. */
#ifndef TSR_IO_MANIFEST_H
#define TSR_IO_MANIFEST_H

#include <pthread.h>

#include "core/internal.h"

/* manifest.jsonl: appended line by line from several threads; on open, a
 * torn last line (no newline) from an interrupted run is cut and the
 * (frame, view) pairs already present are remembered so a resumed run does
 * not write them twice. */
typedef struct {
  int fd;
  pthread_mutex_t lock;
  uint64_t *seen; /* sorted hashes of "frame/view" from earlier runs */
  size_t nseen;
} tsr__manifest;

tsr_status tsr__manifest_open(tsr_context *ctx, const char *path, tsr__manifest *m);
/* Appends the line (one write) unless (frame, view) was present at open. */
tsr_status tsr__manifest_add(tsr_context *ctx, tsr__manifest *m, const char *frame, const char *view,
                             const char *line);
void tsr__manifest_close(tsr__manifest *m);

#endif
