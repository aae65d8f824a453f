/* tessera split: 360° frames to a rig's perspective views. */
#ifndef TESSERA_SPLIT_H
#define TESSERA_SPLIT_H

#include "tessera/rig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- split: 360° frames to perspective views -------------------------- */
typedef struct {
  size_t struct_size;  /* sizeof(tsr_split_options): tsr_split_options_init or TSR_SPLIT_OPTIONS_INIT */
  const char *outdir;  /* required: OUTDIR/<view>/<frame stem>.<ext>, manifest.jsonl, rig_config.json, cameras.txt */
  const char *rig;     /* built-in name or JSON rig file; NULL: ring8 */
  int width, height;   /* override every view's size (0: the rig's) */
  double hfov;         /* override every view's horizontal field of view (0: the rig's) */
  tsr_interp interp;   /* default (tsr_split_options_init): bilinear */
  int no_antialias;    /* 1: never antialias (area footprints), never decode at a DCT scale */
  const char *format;  /* "jpg" or "png"; NULL: jpg for 8-bit gray/RGB sources, png otherwise */
  int quality;         /* JPEG quality 1..100 (0: 95) */
  double mask_nadir;   /* > 0: write masks hiding everything within this many degrees of the nadir */
  int encoders;        /* encoder threads (0: the context's thread count) */
  int batch;           /* frames per device launch (0: planned from the budget) */
  int progress;        /* 1: a progress line on stderr */
  int copy_only;       /* benchmark: copy an equally sized region instead of warping (the codec floor) */
  int full_decode;     /* 1: decode whole frames (no row band, no DCT scale) */
  const char *stats_path; /* write per-stage statistics as JSON here ("-": standard output) */
  /* Sources. Inputs are image files, folders of them (sorted), video files
   * (by extension, decoded with FFmpeg's libraries) and "-" (a PPM/PAM
   * stream on stdin). */
  int recursive;       /* folders: descend into sub-folders */
  double fps;          /* video: keep this many frames per second of video (0: all) */
  int every;           /* video: keep every Nth frame (0: all) */
  double start;        /* video: seconds to skip */
  double duration;     /* video: seconds to read after start (0: to the end) */
  int live;            /* stdin: when the split is slower than the stream, keep the newest frames */
  int overwrite;       /* redo everything in an output folder made with other options */
} tsr_split_options;
#define TSR_SPLIT_OPTIONS_INIT {.struct_size = sizeof(tsr_split_options), .interp = TSR_INTERP_BILINEAR}
TSR_API void tsr_split_options_init(tsr_split_options *opts);

typedef struct {
  int frames_total;   /* inputs seen (-1 while a stream or video is open) */
  int frames_done, frames_skipped, frames_failed;
  int frames_dropped; /* live stream: frames dropped because the split was slower */
  long views_written;
  double wall_s, plan_s, read_s, decode_s, warp_s, encode_s, write_s; /* stage times summed over threads */
  double upload_s, kernel_s, download_s; /* OpenCL device times within warp_s (profiling events) */
  int pinned;                            /* OpenCL transfers went through pinned staging buffers */
  uint64_t peak_rss;     /* bytes */
  uint64_t device_bytes; /* device memory of one launch (0 on the CPU backend) */
  int batch;            /* frames per launch as run: the most one device launch carried (1 on the CPU) */
  int batch_planned;    /* frames per launch the planner sized (1 on the CPU backend) */
  int launches;         /* device launches that ran */
  int launches_overlapped; /* launches enqueued while the previous batch was still on the device */
  int retries, fell_back;
  int plans;            /* input kinds (size, channels, depth, codec) seen, one plan each */
  long video_decoded_frames, video_kept_frames, video_seeks; /* video inputs */
  double video_gop_frames;                                   /* mean GOP length of the video's index */
  int src_width, src_height;     /* the first plan's frame size */
  int dct_denom, band_row0, band_rows; /* decode plan: scale 1/denom, rows [row0, row0 + rows) of the scaled frame */
  char device[320];
} tsr_split_stats;

/* Splits every input into the rig's views. Frames are named by their
 * file's stem, frame_000001... for stdin, <video stem>_<frame number> for a
 * video. Each input kind (size, channels, depth, codec) gets its own plan,
 * so mixed folders split whole. OUTDIR/run.json records the options that
 * determine the outputs: a re-run with the same options skips frames whose
 * outputs all exist (resume); with other options it returns TSR_E_MISMATCH
 * naming what changed, unless opts->overwrite. A frame that cannot be read
 * is reported and skipped; the others complete and the call returns the
 * first error's status with a summary in the context's message.
 * tsr_context_cancel makes it finish the frames in flight and return
 * TSR_E_CANCELLED. */
TSR_API tsr_status tsr_split(tsr_context *ctx, const tsr_split_options *opts, const char *const *inputs, int ninputs,
                     tsr_split_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
