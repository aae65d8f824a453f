/* The streaming pipeline every job runs on:
 *
 *   reader (1 thread)   sources -> job.prepare (decode, pick a plan)
 *        --[items queue, bounded, sized from the job's batch]-->
 *   compute (caller)    job.compute on batches of items of one group
 *        --[units queue, bounded]-->
 *   workers (N threads) job.unit per output (e.g. encode, write, manifest)
 *
 * Sources (src/pipeline/source.c): image files, folders (sorted, optionally
 * recursive), a PPM/PAM stream on stdin ("-"), video files (by extension,
 * through src/io/video.c with the sampling given). Memory is bounded by the
 * queues, never by the number of inputs. Per-item errors are reported by
 * name and the item is dropped; the others complete. Cancellation
 * (tsr_context_cancel) stops the reader; items already read finish. */
#ifndef TSR_PIPELINE_H
#define TSR_PIPELINE_H

#include "core/internal.h"
#include "io/video.h"

typedef struct tsr__pipeline tsr__pipeline;

/* One input frame on its way through the stages. */
typedef struct tsr__item {
  char name[256];   /* unique per run: a file's stem, frame_000001, clip_000030 */
  const char *path; /* input file; NULL for a frame of a stream or a video */
  uint8_t *bytes;   /* a file's encoded contents until prepared, else NULL */
  size_t size;
  tsr_image *img;   /* decoded (stream and video frames arrive decoded) */
  int group;        /* set by prepare: items batch together only within a group */
  int from_stdin;   /* a frame of the stdin stream (its name is only its position) */
  void *data;       /* the job's */
  uint8_t *levels;  /* the job's scratch for the image (freed with the item) */
  int units_left;   /* outputs still to finish (pipeline) */
  int failed;
} tsr__item;

typedef struct {
  /* Reader: whether every output of the item exists (resume); such an
   * item is counted as skipped and `skipped` is called instead of the
   * rest. May be NULL. */
  int (*complete)(void *job, tsr__item *it);
  void (*skipped)(void *job, tsr_context *lc, tsr__item *it);
  /* Reader: decode (it->bytes or it->img) and set it->group. An error
   * names the item; the item is dropped. */
  tsr_status (*prepare)(void *job, tsr_context *lc, tsr__item *it);
  /* Compute: how many items of this item's group to hand compute at once
   * (the planned device batch, 1 on the CPU). */
  int (*batch)(void *job, tsr__pipeline *p, tsr__item *first);
  /* Compute: a batch of n items of one group; it emits units
   * (tsr__pipeline_emit) now or in a later call. */
  void (*compute)(void *job, tsr__pipeline *p, tsr__item **items, int n);
  /* Compute, when the source is waiting for input: emit what is in
   * flight (a device's batches), so nothing waits on the next input. */
  void (*flush)(void *job, tsr__pipeline *p);
  /* Compute, once after the last batch: emit what is still held. */
  void (*drain)(void *job, tsr__pipeline *p);
  /* Worker: one unit (index in 0..units per item - 1, the data emitted). */
  tsr_status (*unit)(void *job, tsr_context *lc, tsr__item *it, int index, void *data);
  /* After an item's last unit (done or failed): free the job's data. */
  void (*release)(void *job, tsr__item *it);
  int units_per_item;
} tsr__pipeline_ops;

typedef struct {
  const char *const *inputs;
  int ninputs;
  int named;                    /* inputs are item names, not files: the job's prepare reads them */
  int recursive;                /* folders: descend */
  tsr__video_sampling sampling; /* video inputs */
  int live;                     /* stdin: drop the oldest frames when compute is slow */
  int workers;                  /* worker threads (0: the context's) */
  int progress;                 /* a progress line on stderr */
  const char *what;             /* "split": names the job in messages */
  const char *item;             /* what messages call an item: "frame" (NULL), "pair" */
} tsr__pipeline_config;

typedef struct {
  int items_total; /* -1 while a stream or video is open */
  int done, skipped, failed, dropped;
  long units_done;
  double wall_s, read_s, decode_s, compute_s, unit_s; /* stage seconds summed over threads */
  uint64_t peak_rss;
  tsr__video_stats video; /* summed over video inputs */
  int videos;
  tsr_status first_err;
  char first_msg[TSR_ERRMSG_MAX];
} tsr__pipeline_stats;

/* Runs the pipeline to the end (or cancellation). Returns TSR_OK, the
 * first per-item error's status (with a summary in the context's message)
 * when some items failed, TSR_E_CANCELLED, or a setup error. */
tsr_status tsr__pipeline_run(tsr_context *ctx, const tsr__pipeline_config *cfg, const tsr__pipeline_ops *ops,
                             void *job, tsr__pipeline_stats *stats);
/* Compute: hands unit `index` of an item to the workers. */
void tsr__pipeline_emit(tsr__pipeline *p, tsr__item *it, int index, void *data);
/* Compute: the item failed before its units were emitted. */
void tsr__pipeline_fail(tsr__pipeline *p, tsr__item *it, tsr_status st, const char *msg);

/* ---- sources (src/pipeline/source.c) ------------------------------------ */
/* Expands the inputs: folders become their image and video files, sorted
 * (recursively with `recursive`); files and "-" stay. *out is a malloc'ed
 * array of malloc'ed strings. Checks that no two inputs share a stem. */
tsr_status tsr__inputs_expand(tsr_context *ctx, const char *const *inputs, int n, int recursive, char ***out,
                              int *nout);
void tsr__inputs_free(char **list, int n);
/* Whether a name is an image the sources read, by extension: jpg jpeg png
 * ppm pgm pam (any case). */
int tsr__is_image_name(const char *name);
/* A file's stem: the name without folder and extension. */
void tsr__stem(const char *path, char *out, size_t n);

/* A PPM/PAM stream read frame by frame from a file descriptor: the header
 * first, then exactly the bytes it announces, so a frame is whole as soon as
 * its last byte arrives and the reader never waits for the next one. */
typedef struct {
  int fd;
  uint8_t *buf;
  size_t len, cap;
  int eof;
  const tsr_context *cancel; /* stop waiting once this context is cancelled */
} tsr__pnm_stream;
/* The next frame, decoded; TSR_OK with *img = NULL at a clean end. While
 * it waits for input, *waiting (if not NULL) is called with 1, then 0. */
tsr_status tsr__pnm_stream_next(tsr_context *ctx, tsr__pnm_stream *s, const char *name, tsr_image **img,
                                void (*waiting)(void *arg, int on), void *arg);
void tsr__pnm_stream_free(tsr__pnm_stream *s);

/* ---- the output folder's run record (src/pipeline/run_record.c) ---------
 * OUT/run.json holds the job and a fingerprint of every option that
 * determines the outputs. A re-run with another fingerprint stops with
 * TSR_E_MISMATCH naming what changed, unless overwrite is set (the record
 * is then replaced and the job redoes everything). */
struct cJSON;
/* One run per output folder: takes an exclusive lock on OUT/.tessera.lock
 * (released when the process ends, however it ends); a second run gets
 * TSR_E_BUSY naming the folder. *fd is for tsr__outdir_unlock. */
tsr_status tsr__outdir_lock(tsr_context *ctx, const char *outdir, int *fd);
/* The same with a lock file of another name (shards of one run share a
 * folder, each with its own lock). */
tsr_status tsr__outdir_lock_as(tsr_context *ctx, const char *outdir, const char *name, int *fd);
void tsr__outdir_unlock(int fd);
tsr_status tsr__run_record(tsr_context *ctx, const char *outdir, const char *job, const struct cJSON *fingerprint,
                           int overwrite);

#endif
