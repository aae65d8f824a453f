/* tessera bench: the same workloads on every device, measured the same way.
 *
 * src/bench.c runs the workloads (copy, transfer, warp, split-8k) on each
 * device and checks every device's output against the CPU backend's;
 * src/bench_cl.c holds their OpenCL side (copy kernel in cl/copy.cl,
 * transfers, the warp with its data resident on the device);
 * src/bench_report.c turns results into the JSON file, the terminal table,
 * the comparison with a base file and the HTML page. The CLI
 * (src/cli/cmd_bench.c) only parses options. The JSON schema is documented
 * in bench/README.md. */
#ifndef TSR_BENCH_H
#define TSR_BENCH_H

#include "core/internal.h"
#include "io/codec.h"
#include "ops/warp_impl.h"
#include "tsr_types.h"

#define TSR_BENCH_SCHEMA "tessera-bench"
#define TSR_BENCH_SCHEMA_VERSION 1
#define TSR_BENCH_MAX_FIGURES 8
#define TSR_BENCH_MAX_WORKLOADS 8
#define TSR_BENCH_MAX_SAMPLES 64

/* One measured figure: median, min and max over the repeats. */
typedef struct {
  char name[40];  /* key within the workload, e.g. "bandwidth", "h2d_pinned" */
  char label[64]; /* for people, e.g. "copy bandwidth" */
  char unit[16];  /* "GB/s", "Mpix/s", "ms/view", "ratio", "fraction" */
  int higher_is_better;
  double median, min, max;
  int n; /* measurements behind the figure (0: not measured) */
} tsr__bench_figure;

typedef enum { TSR_BENCH_OK = 0, TSR_BENCH_FAILED, TSR_BENCH_ERROR, TSR_BENCH_NA } tsr__bench_state;

typedef struct {
  char name[24];     /* "copy", "transfer", "warp", "split-8k" */
  tsr__bench_state state; /* FAILED: parity above tolerance; ERROR: could not run; NA: not on this device */
  char message[256]; /* the error, or why not applicable */
  char timing[16];   /* "events" (OpenCL profiling) or "wall" */
  char size[96];     /* what was measured, e.g. "64 MiB", "7680x3840 RGB8 -> ring8 1920x1080" */
  int iterations;    /* per measurement, after calibration */
  int batch;         /* items per launch the planner chose (1 where there is no batch) */
  uint64_t device_bytes; /* peak device memory of the workload's buffers (host memory on the CPU backend) */
  double build_s;        /* OpenCL program build or binary-cache load; -1: none */
  int build_cached;      /* 1 when the program came from the binary cache */
  double first_launch_s; /* the first launch, before warm-up is over; -1: none */
  double parity_diff;    /* max |device - CPU backend| in the workload's output units; -1: not compared */
  double tolerance;
  tsr__bench_figure fig[TSR_BENCH_MAX_FIGURES];
  int nfig;
} tsr__bench_workload;

typedef struct {
  tsr_device_info dev;
  tsr__bench_workload wl[TSR_BENCH_MAX_WORKLOADS];
  int nwl;
} tsr__bench_device;

typedef struct {
  char cpu[160];
  int cores;
  uint64_t ram;
  char os[160];
} tsr__bench_host;

typedef struct {
  int schema_version;
  char tessera_version[32], git[48], created[32];
  tsr__bench_host host;
  char suite[8];
  int repeat, threads;
  double target_s;
  tsr__bench_device *dev;
  int ndev;
} tsr__bench_report;

/* Workload names, in run order. */
#define TSR_BENCH_WORKLOADS "copy,transfer,warp,split-8k,stereo,augment"

typedef struct {
  const char *suite;     /* "quick" or "full" */
  int repeat;            /* measurements per figure (0: 3 for quick, 5 for full) */
  const char *workloads; /* comma-separated subset of TSR_BENCH_WORKLOADS; NULL: all */
  const char *frame;     /* the 8K JPEG frame for warp and split-8k */
  int threads;           /* CPU threads (0: all) */
  uint64_t mem_budget;   /* 0: each device's default */
  int progress;          /* 1: a line on stderr per workload */
} tsr__bench_options;

/* Runs the selected workloads on each device (ids from the registry) and
 * fills *rep (free with tsr__bench_report_free). Devices that fail a
 * workload are recorded, not fatal. */
tsr_status tsr__bench_run(const tsr__bench_options *o, const tsr_device_info *const *devs, int ndev,
                          tsr__bench_report *rep, char *err, size_t errlen);
void tsr__bench_report_free(tsr__bench_report *rep);

/* Median, min and max of n samples (sorted in place). */
void tsr__bench_summarize(double *v, int n, tsr__bench_figure *f);

/* Parity of a device output against the CPU backend's: max |a - b| over n
 * samples of 8-bit (bytes 1) or 16-bit host-order (bytes 2) data. */
double tsr__bench_max_diff(const void *a, const void *b, size_t n, int bytes);
/* Records the parity result: a difference above the tolerance marks the
 * workload FAILED (its figures are kept but must not be read as results). */
void tsr__bench_set_parity(tsr__bench_workload *w, double diff, double tolerance);

/* The host the run is on. */
void tsr__bench_host_probe(tsr__bench_host *h);

/* ---- OpenCL side (src/bench_cl.c) ----------------------------------------
 * Each *_open opens the context's device, builds its kernel (recording
 * build time in w->build_s), allocates and fills the buffers, and records
 * their size in w->device_bytes. The run functions return seconds for
 * `iters` iterations (summed profiling-event times for kernels, wall clock
 * for transfers), or -1 after a failed call (message in the context). */
typedef struct tsr__bench_cl tsr__bench_cl;
tsr_status tsr__bench_cl_copy_open(tsr_context *ctx, const uint8_t *data, size_t bytes, tsr__bench_workload *w,
                                   tsr__bench_cl **out);
double tsr__bench_cl_copy(tsr__bench_cl *b, int iters);
tsr_status tsr__bench_cl_transfer_open(tsr_context *ctx, size_t bytes, tsr__bench_workload *w, tsr__bench_cl **out);
double tsr__bench_cl_transfer(tsr__bench_cl *b, int to_host, int pinned, int iters);
double tsr__bench_cl_transfer_check(tsr__bench_cl *b, const uint8_t *pattern);
/* batch copies of src on the device, warped through sd->nviews views. */
tsr_status tsr__bench_cl_warp_open(tsr_context *ctx, const tsr_image *src, int batch, const tsr__warp_plan *plan,
                                   tsr__bench_workload *w, tsr__bench_cl **out);
double tsr__bench_cl_warp(tsr__bench_cl *b, int iters);
/* The copy's output, or the warp's first item (sd->dst_item_bytes). */
tsr_status tsr__bench_cl_read(tsr__bench_cl *b, uint8_t *out);
/* "events", or "wall" when the queue gave no profiling times. */
const char *tsr__bench_cl_timing(const tsr__bench_cl *b);
void tsr__bench_cl_close(tsr__bench_cl *b);

/* ---- reports (src/bench_report.c) --------------------------------------- */
struct cJSON;
/* The versioned JSON document of a report (caller deletes). */
struct cJSON *tsr__bench_to_json(const tsr__bench_report *rep);
/* Reads a report back; checks schema and version. */
tsr_status tsr__bench_from_json(const struct cJSON *json, tsr__bench_report *rep, char *err, size_t errlen);
tsr_status tsr__bench_load(const char *path, tsr__bench_report *rep, char *err, size_t errlen);

/* The terminal table: devices as columns, figures as rows with units. */
void tsr__bench_print_table(const tsr__bench_report *rep, FILE *f);

/* Comparison of one figure with the same figure in a base report. */
typedef enum {
  TSR_CMP_SAME = 0,
  TSR_CMP_BETTER,
  TSR_CMP_WORSE,
  TSR_CMP_MISSING,   /* the base has no such figure (or no such device) */
  TSR_CMP_OTHER_SIZE /* the base measured another size (e.g. quick against full): no verdict */
} tsr__bench_change;
typedef struct {
  char device[300];   /* current device ("id name") */
  char base_device[300];
  char workload[24], figure[40], label[64], unit[16];
  double base, current, ratio; /* ratio = current / base medians */
  tsr__bench_change change;    /* beyond the noise: the two min..max ranges do not overlap */
} tsr__bench_cmp;

/* Classifies a change: SAME while the ranges [min, max] overlap, else
 * BETTER or WORSE by the figure's direction (higher or lower is better). */
tsr__bench_change tsr__bench_classify(const tsr__bench_figure *base, const tsr__bench_figure *cur);
/* Pairs each current device with a base device (same vendor, name and
 * driver; else same vendor and name; else, when each report has exactly
 * one device, those two) and each figure with its base; figures whose
 * workload ran at another size get TSR_CMP_OTHER_SIZE. *out is
 * malloc'ed; returns the count. */
int tsr__bench_compare(const tsr__bench_report *base, const tsr__bench_report *cur, tsr__bench_cmp **out);
void tsr__bench_print_compare(const tsr__bench_cmp *c, int n, FILE *f);

/* One self-contained HTML page: inline SVG bar charts per figure and the
 * parity table. */
tsr_status tsr__bench_write_html(tsr_context *ctx, const tsr__bench_report *rep, const char *path);

/* bench/results/<vendor>/<device>.json naming: "pocl", "nvidia", "amd",
 * "intel", "cpu-backend", else the platform's slug; the device's name as a
 * slug. */
void tsr__bench_result_path(const tsr_device_info *d, char *vendor, size_t vlen, char *device, size_t dlen);

#endif
