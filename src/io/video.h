/* Video frame source: the frames of a video file (MP4, MOV, MKV, WebM, AVI,
 * MPEG-TS, MPEG-PS), decoded with FFmpeg's libraries and handed out as
 * tsr_images, for jobs that take a video where they would take a folder of
 * frames.
 *
 * Only what the kept frames need is decoded: a sampling (a rate, every Nth
 * frame, a time window) becomes a list of target times; for each one the
 * source jumps to the keyframe before it when that keyframe is still ahead
 * of the decoder (from the container's index), else decodes forward,
 * dropping non-reference frames it will not keep and never colour-converting
 * a frame it does not keep. A kept frame is byte-identical to the same frame
 * of a plain decode of every frame. Streams without an index (MPEG-TS) or a
 * known duration are decoded forward.
 *
 * Errors are a tsr_status plus one line, naming the file, written to the
 * caller's buffer. The module installs a libav log callback once per process
 * that prints nothing (it keeps the last error line per thread for those
 * messages).
 */
#ifndef TSR_IO_VIDEO_H
#define TSR_IO_VIDEO_H

#include <stddef.h>

#include "tessera/tessera.h"

typedef struct {
  double fps;      /* > 0: keep one frame per 1/fps seconds of video time */
  int every;       /* > 0: keep every Nth frame of the stream */
  double start;    /* seconds from the start of the stream (>= 0) */
  double duration; /* seconds after start; 0: to the end */
  int count;       /* > 0: keep this many frames, spread evenly: the frames nearest the middles of
                      `count` equal parts of the range (needs a known duration) */
  int threads;     /* decoder threads: 0 libavcodec's choice (frame and slice threads), 1 one */
} tsr__video_sampling; /* fps, every and count all 0: keep every frame */

typedef struct {
  long decoded_frames; /* frames the decoder produced (the cost) */
  long kept_frames;
  long seeks;
  long decode_errors; /* packets the decoder rejected or frames it flagged as damaged (concealed) */
  long keyframes_in_index;
  double gop_frames; /* mean frames per GOP from the index, 0 if unknown */
  double read_s, decode_s, convert_s; /* seconds: demuxing and seeking, decoding, conversion to RGB */
  /* Stream facts, for reports. */
  int width, height;
  double stream_fps;  /* frames per second of the stream */
  double duration_s;  /* 0 if unknown */
  char codec[32];     /* decoder name, e.g. "h264" */
} tsr__video_stats;

typedef struct tsr__video tsr__video;

/* 1 if the name has a video extension: mp4 mov mkv avi webm m4v mts m2ts ts
 * mpg mpeg (any case). */
int tsr__is_video_name(const char *path);

/* Opens a video file for sampling s (NULL: every frame). Fails, with one
 * line in err naming the file, on a missing or unreadable file (TSR_E_IO),
 * an empty one (TSR_E_EMPTY), content that is not a video container or has
 * no video stream (TSR_E_FORMAT), a truncated or corrupt container
 * (TSR_E_CORRUPT), a codec without a decoder (TSR_E_UNSUPPORTED), frames
 * above the size limits (TSR_E_TOO_LARGE), or a bad sampling
 * (TSR_E_INVALID: negative values, or more than one of fps, every and count set;
 * TSR_E_UNSUPPORTED: count on a stream of unknown duration). */
tsr_status tsr__video_open(const char *path, const tsr__video_sampling *s, tsr__video **out, char *err,
                           size_t errlen);

/* The next kept frame as a new image the caller frees: packed RGB, 8-bit, or
 * 16-bit host order when the source has more than 8 bits per sample; gray
 * sources stay 1 channel. *index is the frame's number in the stream
 * (0-based, from its timestamp and the stream's frame rate), *t its time in
 * seconds from the start of the stream (index and t may be NULL). After the
 * last kept frame: TSR_OK with *img = NULL. An error ends the stream: later
 * calls return the same status. */
tsr_status tsr__video_next(tsr__video *v, tsr_image **img, long *index, double *t, char *err, size_t errlen);

void tsr__video_get_stats(const tsr__video *v, tsr__video_stats *st);
void tsr__video_close(tsr__video *v);

#endif
