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

/* The same for a CSV manifest (augment's): the first line is `header`
 * (written when the file is new; a file with another first line is
 * refused), each later line is keyed by its first field (frame = that
 * field, view = ""). */
tsr_status tsr__manifest_open_csv(tsr_context *ctx, const char *path, const char *header, tsr__manifest *m);
/* Whether (frame, view) was in the manifest when it was opened. */
int tsr__manifest_has(const tsr__manifest *m, const char *frame, const char *view);
/* A CSV field as RFC 4180 writes it: quoted (quotes doubled) when it holds
 * a comma, a quote or a line break. Returns as snprintf. */
int tsr__csv_field(const char *s, char *out, size_t n);
/* The first field of a CSV line, unquoted, into out; returns the length
 * of the field as it stands in the line (to the comma), -1 if malformed. */
int tsr__csv_first(const char *line, size_t len, char *out, size_t n);

#endif
