/* Video frame source on libavformat/libavcodec/libswscale (see video.h).
 *
 * Sampling is a sequence of target times; the frame kept for a target t is
 * the first frame the decoder outputs whose time is >= t - half a frame
 * period, exactly as in a decode of every frame. To get there cheaply:
 *  - when the keyframe that precedes the target (from the container's index)
 *    has not been read yet, seek to it and flush the decoder: everything in
 *    between would only have been decoded to be dropped;
 *  - packets that end before the target are decoded with
 *    skip_frame = AVDISCARD_NONREF: a non-reference frame is never needed to
 *    decode another, so dropping it cannot change a kept frame;
 *  - frames that are not kept are never converted to RGB.
 * Index timestamps are not always presentation times (MP4 indexes by decode
 * time), so seeks ask for presentation times, the packet a seek lands on is
 * checked against the target, and the seek is redone one keyframe earlier
 * when it landed too late; the offset seen is remembered for the next
 * choices. Exactness rests on the keyframe's own time, never on the index.
 */
#include "video.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

/* Demuxers accepted; anything else the content probes as (an image, audio,
 * a playlist) is refused before its reader runs. */
static const char k_containers[] = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,mpegvideo,m4v";

#define EPS 1e-6 /* seconds: timestamp comparisons */

typedef struct {
  int64_t pos; /* byte position, -1 if unknown */
  int64_t ts;  /* index timestamp, stream time base */
  double t;    /* same, in seconds from the start of the stream */
} keyframe;

enum { MODE_ALL, MODE_TARGETS };

struct tsr__video {
  char *path;
  AVFormatContext *fmt;
  AVCodecContext *dec;
  AVStream *st;
  int sidx;
  AVPacket *pkt;
  AVFrame *frame;

  struct SwsContext *sws;
  int sws_w, sws_h, sws_src, sws_dst, sws_cs, sws_range;

  double tb;   /* seconds per time-base unit */
  int64_t t0;  /* stream start, time-base units */
  double fps, half;
  int cfr;     /* frames on a 1/fps grid: keyframe choice by frame number */

  tsr__video_sampling s;
  int mode;
  double step, end, first; /* targets: first + k * step, up to end */
  long k;           /* next target */
  int have_target, started;
  double thr;       /* current target minus half a period */
  double skip_before; /* packets before this time: non-reference frames dropped */

  keyframe *kf;
  int nkf;
  double kf_delta;  /* largest (landed pts - index time) seen: MP4 indexes by dts */
  int can_seek;
  int64_t last_pos; /* position of the last video packet read, -1: unknown */
  double max_read_t; /* latest packet time read since open or the last seek */
  int read_any, pending, draining, done;
  double last_t;
  char last_decode_error[128];

  tsr_status failed;
  char failmsg[512];
  tsr__video_stats stats;
};

/* ---- messages -------------------------------------------------------------- */

/* The last error line libav logged on this thread (decoder threads log on
 * their own), used to explain a failure; nothing is printed. */
static _Thread_local char g_avmsg[160];
static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;

static void av_log_sink(void *avcl, int level, const char *fmt, va_list vl) {
  (void)avcl;
  if (level > AV_LOG_ERROR) return;
  char buf[sizeof g_avmsg];
  vsnprintf(buf, sizeof buf, fmt, vl);
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = 0;
  for (char *c = buf; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  if (n) memcpy(g_avmsg, buf, n + 1);
}

static void log_init(void) { av_log_set_callback(av_log_sink); }

static tsr_status say(char *err, size_t errlen, tsr_status st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static tsr_status say(char *err, size_t errlen, tsr_status st, const char *path, const char *fmt, ...) {
  if (!err || !errlen) return st;
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(err, errlen, "%s: %s", path, msg);
  return st;
}

static const char *averr(int code, char *buf, size_t n) {
  if (g_avmsg[0]) snprintf(buf, n, "%s", g_avmsg);
  else av_strerror(code, buf, n);
  return buf;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- names and formats ----------------------------------------------------- */

int tsr__is_video_name(const char *path) {
  static const char *const ext[] = {"mp4", "mov", "mkv", "avi", "webm", "m4v", "mts", "m2ts", "ts", "mpg", "mpeg"};
  if (!path) return 0;
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  if (!dot || (slash && dot < slash) || !dot[1]) return 0;
  for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
    if (!strcasecmp(dot + 1, ext[i])) return 1;
  return 0;
}

/* Whether any name of a demuxer's comma-separated list is one we accept. */
static int is_container(const char *names) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", names);
  char *save = NULL;
  for (char *n = strtok_r(buf, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
    size_t len = strlen(n);
    for (const char *p = k_containers; *p;) {
      const char *q = strchr(p, ',');
      size_t l = q ? (size_t)(q - p) : strlen(p);
      if (l == len && !strncmp(p, n, l)) return 1;
      p += l + (q ? 1 : 0);
    }
  }
  return 0;
}

/* After avformat_open_input failed: says what the content is, probed from
 * its first bytes without looking at the name. */
static tsr_status explain_open_failure(const char *path, int code, char *err, size_t errlen) {
  char why[160];
  averr(code, why, sizeof why);
  if (code != AVERROR_INVALIDDATA && code != AVERROR(EINVAL) && code != AVERROR_EOF &&
      code != AVERROR_PATCHWELCOME && code != AVERROR(ENOSYS))
    return say(err, errlen, TSR_E_IO, path, "cannot read: %s", why);
  uint8_t *buf = calloc(1, 4096 + AVPROBE_PADDING_SIZE);
  if (!buf) return say(err, errlen, TSR_E_NOMEM, path, "out of memory");
  FILE *f = fopen(path, "rb");
  size_t n = f ? fread(buf, 1, 4096, f) : 0;
  if (f) fclose(f);
  AVProbeData pd = {.filename = "", .buf = buf, .buf_size = (int)n};
  int score = AVPROBE_SCORE_RETRY;
  const AVInputFormat *fmt = n ? av_probe_input_format2(&pd, 1, &score) : NULL;
  free(buf);
  if (fmt && is_container(fmt->name))
    return say(err, errlen, TSR_E_CORRUPT, path, "truncated or corrupt %.*s file (%s)",
               (int)strcspn(fmt->name, ","), fmt->name, why);
  if (fmt) {
    const char *pipe = strstr(fmt->name, "_pipe");
    if (pipe) return say(err, errlen, TSR_E_FORMAT, path, "not a video file (the content is a %.*s image)",
                         (int)(pipe - fmt->name), fmt->name);
    return say(err, errlen, TSR_E_FORMAT, path, "not a video file (the content is %s)",
               fmt->long_name ? fmt->long_name : fmt->name);
  }
  return say(err, errlen, TSR_E_FORMAT, path, "not a video file (unrecognised content)");
}

static int output_format(enum AVPixelFormat fmt, int *ch, int *depth, enum AVPixelFormat *dst);
static int too_large(int w, int h, int ch, int depth);

/* ---- open / close ---------------------------------------------------------- */

void tsr__video_close(tsr__video *v) {
  if (!v) return;
  sws_freeContext(v->sws);
  av_frame_free(&v->frame);
  av_packet_free(&v->pkt);
  avcodec_free_context(&v->dec);
  avformat_close_input(&v->fmt);
  free(v->kf);
  free(v->path);
  free(v);
}

static int valid_rate(AVRational r) { return r.num > 0 && r.den > 0; }

/* Copies the keyframes of the container's own index (MP4 sample tables, MKV
 * cues, AVI idx1) and checks it against the file size: an MP4 cut short
 * still has its complete index when the index comes first. Formats whose
 * index is only what has been read so far (AVFMT_GENERIC_INDEX) get none. */
static tsr_status load_index(tsr__video *v, int64_t file_size, char *err, size_t errlen) {
  if (v->fmt->iformat->flags & AVFMT_GENERIC_INDEX) return TSR_OK;
  int n = avformat_index_get_entries_count(v->st);
  if (n <= 0) return TSR_OK;
  v->kf = malloc((size_t)n * sizeof *v->kf);
  if (!v->kf) return say(err, errlen, TSR_E_NOMEM, v->path, "out of memory");
  int64_t data_end = 0;
  for (int i = 0; i < n; i++) {
    const AVIndexEntry *e = avformat_index_get_entry(v->st, i);
    if (!e) continue;
    if (e->pos >= 0 && e->size > 0 && e->pos + e->size > data_end) data_end = e->pos + e->size;
    if (!(e->flags & AVINDEX_KEYFRAME) || (e->flags & AVINDEX_DISCARD_FRAME)) continue;
    keyframe *k = &v->kf[v->nkf];
    k->pos = e->pos;
    k->ts = e->timestamp;
    k->t = (double)(e->timestamp - v->t0) * v->tb;
    if (v->nkf && k->t <= v->kf[v->nkf - 1].t) continue; /* keep it strictly increasing */
    v->nkf++;
  }
  if (file_size > 0 && data_end > file_size)
    return say(err, errlen, TSR_E_CORRUPT, v->path,
               "truncated: the index places video data up to byte %lld but the file has %lld bytes",
               (long long)data_end, (long long)file_size);
  return TSR_OK;
}

static tsr_status check_sampling(const tsr__video_sampling *s, const char *path, char *err, size_t errlen) {
  if (!(s->fps >= 0) || !(s->start >= 0) || !(s->duration >= 0) || s->every < 0 || !isfinite(s->fps) ||
      !isfinite(s->start) || !isfinite(s->duration))
    return say(err, errlen, TSR_E_INVALID, path, "bad sampling (fps %g, every %d, start %g, duration %g)", s->fps,
               s->every, s->start, s->duration);
  if ((s->fps > 0) + (s->every > 0) + (s->count > 0) > 1 || s->count < 0)
    return say(err, errlen, TSR_E_INVALID, path, "only one of fps, every and a frame count can be set");
  return TSR_OK;
}

tsr_status tsr__video_open(const char *path, const tsr__video_sampling *s, tsr__video **out, char *err,
                           size_t errlen) {
  static const tsr__video_sampling all = {0};
  char why[160], *url = NULL;
  AVDictionary *opts = NULL;
  tsr_status st;
  if (err && errlen) err[0] = 0;
  if (!out || !path) return say(err, errlen, TSR_E_INVALID, path ? path : "(null)", "no output or path");
  *out = NULL;
  pthread_once(&g_log_once, log_init);
  g_avmsg[0] = 0;
  if (!s) s = &all;
  if ((st = check_sampling(s, path, err, errlen))) return st;

  struct stat sb;
  if (stat(path, &sb)) return say(err, errlen, TSR_E_IO, path, "cannot open: %s", strerror(errno));
  if (S_ISDIR(sb.st_mode)) return say(err, errlen, TSR_E_IO, path, "is a folder, not a video file");
  if (S_ISREG(sb.st_mode) && sb.st_size == 0) return say(err, errlen, TSR_E_EMPTY, path, "empty file");

  tsr__video *v = calloc(1, sizeof *v);
  if (!v || !(v->path = strdup(path)) || !(url = malloc(strlen(path) + 6))) {
    st = say(err, errlen, TSR_E_NOMEM, path, "out of memory");
    goto fail;
  }
  /* "file:" keeps a name with a colon from being read as a protocol. */
  sprintf(url, "file:%s", path);
  av_dict_set(&opts, "protocol_whitelist", "file", 0);
  av_dict_set(&opts, "format_whitelist", k_containers, 0);
  int rc = avformat_open_input(&v->fmt, url, NULL, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    st = explain_open_failure(path, rc, err, errlen);
    goto fail;
  }
  if ((rc = avformat_find_stream_info(v->fmt, NULL)) < 0) {
    st = say(err, errlen, TSR_E_CORRUPT, path, "truncated or corrupt: %s", averr(rc, why, sizeof why));
    goto fail;
  }
  v->sidx = -1;
  for (unsigned i = 0; i < v->fmt->nb_streams; i++) {
    AVStream *a = v->fmt->streams[i];
    if (v->sidx < 0 && a->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && a->codecpar->codec_id != AV_CODEC_ID_NONE &&
        !(a->disposition & AV_DISPOSITION_ATTACHED_PIC))
      v->sidx = (int)i;
    else a->discard = AVDISCARD_ALL; /* the demuxer then skips their packets */
  }
  if (v->sidx < 0) {
    st = say(err, errlen, TSR_E_FORMAT, path, "no video stream (%s container)", v->fmt->iformat->name);
    goto fail;
  }
  v->st = v->fmt->streams[v->sidx];
  const AVCodecParameters *par = v->st->codecpar;
  int och = 3, odepth = 8;
  enum AVPixelFormat odst;
  output_format((enum AVPixelFormat)par->format, &och, &odepth, &odst);
  if (too_large(par->width, par->height, och, odepth)) {
    st = say(err, errlen, TSR_E_TOO_LARGE, path, "%dx%d frames are above the size limits", par->width,
             par->height);
    goto fail;
  }
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (!codec) {
    st = say(err, errlen, TSR_E_UNSUPPORTED, path, "no decoder for %s video", avcodec_get_name(par->codec_id));
    goto fail;
  }
  if (!(v->dec = avcodec_alloc_context3(codec)) || !(v->pkt = av_packet_alloc()) || !(v->frame = av_frame_alloc())) {
    st = say(err, errlen, TSR_E_NOMEM, path, "out of memory");
    goto fail;
  }
  if ((rc = avcodec_parameters_to_context(v->dec, par)) < 0) {
    st = say(err, errlen, TSR_E_CORRUPT, path, "bad codec parameters: %s", averr(rc, why, sizeof why));
    goto fail;
  }
  v->dec->pkt_timebase = v->st->time_base;
  v->dec->max_pixels = (int64_t)(TSR_MAX_IMAGE_BYTES / 3); /* no decoder buffer above what a frame may be */
  /* Frame and slice threads, as many as libavcodec picks (or as the
   * sampling asks): both give the same pixels as a single-threaded decode. */
  v->dec->thread_count = s && s->threads > 0 ? s->threads : 0;
  v->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if ((rc = avcodec_open2(v->dec, codec, NULL)) < 0) {
    st = say(err, errlen, TSR_E_UNSUPPORTED, path, "cannot open the %s decoder: %s", codec->name,
             averr(rc, why, sizeof why));
    goto fail;
  }

  /* ffmpeg's own guess (mostly r_frame_rate): avg_frame_rate is wrong for
   * AVI with B-frames (twice the rate), r_frame_rate for some VFR files. */
  AVRational avg = v->st->avg_frame_rate, r = v->st->r_frame_rate, rate = av_guess_frame_rate(v->fmt, v->st, NULL);
  if (!valid_rate(rate)) rate = valid_rate(avg) ? avg : r;
  if (!valid_rate(rate) || av_q2d(rate) > 1000) {
    st = say(err, errlen, TSR_E_UNSUPPORTED, path, "the video stream has no usable frame rate");
    goto fail;
  }
  v->fps = av_q2d(rate);
  v->half = 0.5 / v->fps;
  /* Constant rate: the rate ffmpeg derives from timestamp steps agrees with
   * the mean (loosely: without a stored rate, the mean of millisecond
   * timestamps is off by a few percent). A frame seen off the 1/fps grid
   * turns this off for good (frame_time). */
  v->cfr = valid_rate(avg) && valid_rate(r) && fabs(av_q2d(r) / av_q2d(avg) - 1) < 0.05;
  v->tb = av_q2d(v->st->time_base);
  v->t0 = v->st->start_time != AV_NOPTS_VALUE ? v->st->start_time : 0;

  v->stats.width = par->width;
  v->stats.height = par->height;
  v->stats.stream_fps = v->fps;
  snprintf(v->stats.codec, sizeof v->stats.codec, "%s", codec->name);
  if (v->st->duration != AV_NOPTS_VALUE && v->st->duration > 0) v->stats.duration_s = (double)v->st->duration * v->tb;
  else if (v->fmt->duration != AV_NOPTS_VALUE && v->fmt->duration > 0)
    v->stats.duration_s = (double)v->fmt->duration / AV_TIME_BASE;

  int seekable = v->fmt->pb && (v->fmt->pb->seekable & AVIO_SEEKABLE_NORMAL);
  /* Matroska reads its cues on the first seek: one to the start loads them. */
  if (seekable && strstr(v->fmt->iformat->name, "matroska")) av_seek_frame(v->fmt, v->sidx, v->t0, AVSEEK_FLAG_BACKWARD);
  if ((st = load_index(v, S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : 0, err, errlen))) goto fail;
  v->stats.keyframes_in_index = v->nkf;
  double frames = v->st->nb_frames > 0 ? (double)v->st->nb_frames : v->stats.duration_s * v->fps;
  if (v->nkf > 0 && frames > 0) v->stats.gop_frames = frames / v->nkf;
  v->can_seek = v->nkf > 0 && seekable;

  v->s = *s;
  v->end = s->duration > 0 ? s->start + s->duration : INFINITY;
  if (s->every > 0) {
    v->mode = MODE_TARGETS;
    v->step = s->every / v->fps;
  } else if (s->fps > 0) {
    v->mode = MODE_TARGETS;
    v->step = 1.0 / s->fps;
  } else if (s->count > 0) {
    double span = (s->duration > 0 ? v->end : v->stats.duration_s) - s->start;
    if (!(span > 0)) {
      st = say(err, errlen, v->stats.duration_s > 0 ? TSR_E_INVALID : TSR_E_UNSUPPORTED, path,
               v->stats.duration_s > 0 ? "the start is past the end of the video"
                                       : "cannot spread %d frames: the video's duration is unknown", s->count);
      goto fail;
    }
    v->mode = MODE_TARGETS;
    v->step = span / s->count;
    v->first = 0.5 * v->step;
    v->end = s->start + span;
  } else v->mode = MODE_ALL;
  v->last_pos = -1;
  v->max_read_t = -INFINITY;
  v->last_t = -v->half * 2;
  v->skip_before = -INFINITY;
  free(url);
  *out = v;
  return TSR_OK;

fail:
  free(url);
  tsr__video_close(v);
  return st;
}

/* ---- reading and decoding ---------------------------------------------------- */

static double ts_time(const tsr__video *v, int64_t ts) { return (double)(ts - v->t0) * v->tb; }

static tsr_status fail(tsr__video *v, tsr_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static tsr_status fail(tsr__video *v, tsr_status st, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(v->failmsg, sizeof v->failmsg, "%s: %s", v->path, msg);
  v->failed = st;
  return st;
}

/* The next packet of the video stream into v->pkt: 0, AVERROR_EOF, or an
 * error (the demuxer's own, for a cut or damaged file). */
static int read_video_packet(tsr__video *v) {
  double t0 = now_s();
  int rc;
  for (;;) {
    rc = av_read_frame(v->fmt, v->pkt);
    if (rc < 0) break;
    if (v->pkt->stream_index == v->sidx) {
      if (v->pkt->pos >= 0) v->last_pos = v->pkt->pos;
      if (v->pkt->pts != AV_NOPTS_VALUE) {
        double t = ts_time(v, v->pkt->pts);
        if (t > v->max_read_t) v->max_read_t = t;
      }
      v->read_any = 1;
      break;
    }
    av_packet_unref(v->pkt);
  }
  v->stats.read_s += now_s() - t0;
  if (rc == AVERROR_EOF && v->fmt->pb && v->fmt->pb->error < 0 && v->fmt->pb->error != AVERROR_EOF)
    rc = v->fmt->pb->error;
  return rc;
}

/* Whether a keyframe whose presentation time is t_key can start the decode
 * for a target whose kept frame is the first at or after thr. On a constant
 * frame rate the comparison is by frame number, so a keyframe that is itself
 * the kept frame qualifies (this assumes no frame lies off the 1/fps grid
 * between thr and the keyframe); otherwise by time, which is exact for any
 * timestamps but starts a GOP early when the target is a keyframe. */
static int key_serves(const tsr__video *v, double t_key, double thr) {
  if (v->cfr) return llround(t_key * v->fps) <= (long long)ceil(thr * v->fps - 1e-3);
  return t_key <= thr + EPS;
}

/* The last index keyframe that can serve thr (with the learned offset), or -1. */
static int pick_keyframe(const tsr__video *v, double thr) {
  int lo = 0, hi = v->nkf - 1, best = -1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (key_serves(v, v->kf[mid].t + v->kf_delta, thr)) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

static int keyframe_unread(const tsr__video *v, int j) {
  if (!v->read_any) return 1;
  if (v->kf[j].pos >= 0 && v->last_pos >= 0) return v->kf[j].pos > v->last_pos;
  return v->kf[j].t + v->kf_delta > v->max_read_t + EPS;
}

static int seek_to(tsr__video *v, int64_t ts) {
  double t0 = now_s();
  int rc = av_seek_frame(v->fmt, v->sidx, ts, AVSEEK_FLAG_BACKWARD);
  v->stats.read_s += now_s() - t0;
  if (rc < 0) return rc;
  if (v->pending) av_packet_unref(v->pkt);
  avcodec_flush_buffers(v->dec);
  v->stats.seeks++;
  v->last_pos = -1;
  v->max_read_t = -INFINITY;
  v->read_any = 0;
  v->draining = 0;
  v->pending = 0;
  return 0;
}

/* Index timestamps are not always presentation times (MP4 indexes by decode
 * time, a B-frame delay earlier): the offset is learnt from the packets
 * seeks land on, matched to their index entry by position. */
static void learn_delta(tsr__video *v, double t_land, int64_t pos) {
  if (pos < 0) return;
  int lo = 0, hi = v->nkf - 1, x = -1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (v->kf[mid].pos <= pos) {
      x = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (x >= 0 && t_land - v->kf[x].t > v->kf_delta && t_land - v->kf[x].t < 60) v->kf_delta = t_land - v->kf[x].t;
}

/* Seeks to the keyframe before thr when it lies ahead of what has been read.
 * The seek asks for a presentation time (what av_seek_frame means by a
 * timestamp for MP4 and MKV alike); the packet it lands on is checked (a
 * keyframe, not after the frame the target keeps), else the seek is redone
 * just before that keyframe. The packet is left pending for the decoder. */
static tsr_status maybe_seek(tsr__video *v, double thr) {
  if (!v->can_seek) return TSR_OK;
  int j = pick_keyframe(v, thr);
  if (j < 0 || !keyframe_unread(v, j) || (!v->read_any && j == 0)) return TSR_OK;
  char why[160];
  int moved = 0;
  /* On a constant rate: a quarter period past the kept frame's slot. */
  double want = v->cfr ? (ceil(thr * v->fps - 1e-3) + 0.25) / v->fps : thr + EPS;
  for (int tries = 0;; tries++) {
    g_avmsg[0] = 0;
    int rc = seek_to(v, v->t0 + (int64_t)floor(want / v->tb));
    if (rc < 0) {
      /* A failed seek leaves the demuxer where it was: decode forward from
       * there, or, after an earlier seek of this loop, from the start. */
      v->can_seek = 0;
      if (!moved) return TSR_OK;
      if (seek_to(v, v->kf[0].ts) < 0)
        return fail(v, TSR_E_CORRUPT, "seeking failed: %s", averr(rc, why, sizeof why));
      return TSR_OK;
    }
    moved = 1;
    rc = read_video_packet(v);
    if (rc == AVERROR_EOF) return TSR_OK; /* the decoder loop sees the end */
    if (rc < 0) return fail(v, TSR_E_CORRUPT, "truncated or corrupt near %.3f s: %s", want,
                            averr(rc, why, sizeof why));
    int key = (v->pkt->flags & AV_PKT_FLAG_KEY) && v->pkt->pts != AV_NOPTS_VALUE;
    double t_land = key ? ts_time(v, v->pkt->pts) : 0;
    if (key) learn_delta(v, t_land, v->pkt->pos);
    if (key && key_serves(v, t_land, thr)) {
      v->pending = 1;
      return TSR_OK;
    }
    av_packet_unref(v->pkt);
    if (!key || tries >= 8 || !(t_land - v->half < want)) {
      /* The demuxer does not land on keyframes at or before the time asked
       * for: decode everything from the first keyframe instead. */
      v->can_seek = 0;
      if ((rc = seek_to(v, v->kf[0].ts)) < 0)
        return fail(v, TSR_E_CORRUPT, "seeking failed: %s", averr(rc, why, sizeof why));
      return TSR_OK;
    }
    want = t_land - v->half; /* landed after the kept frame: the keyframe before this one */
  }
}

/* The next frame from the decoder into v->frame: 1, 0 at the end, or an error status. */
static int decode_next(tsr__video *v) {
  char why[160];
  for (;;) {
    double t0 = now_s();
    int rc = avcodec_receive_frame(v->dec, v->frame);
    v->stats.decode_s += now_s() - t0;
    if (rc >= 0) {
      v->stats.decoded_frames++;
      if (v->frame->decode_error_flags || (v->frame->flags & AV_FRAME_FLAG_CORRUPT)) v->stats.decode_errors++;
      return 1;
    }
    if (rc == AVERROR_EOF) return 0;
    if (rc != AVERROR(EAGAIN)) return fail(v, TSR_E_CORRUPT, "decoding failed: %s", averr(rc, why, sizeof why));
    if (v->draining) return 0;
    if (!v->pending) {
      g_avmsg[0] = 0;
      rc = read_video_packet(v);
      if (rc == AVERROR_EOF) {
        v->draining = 1;
        avcodec_send_packet(v->dec, NULL);
        continue;
      }
      if (rc < 0)
        return fail(v, TSR_E_CORRUPT, "truncated or corrupt after %.3f s: %s", v->last_t > 0 ? v->last_t : 0.0,
                    averr(rc, why, sizeof why));
    }
    v->pending = 0;
    int skip = v->pkt->pts != AV_NOPTS_VALUE && ts_time(v, v->pkt->pts) < v->skip_before;
    v->dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
    g_avmsg[0] = 0;
    t0 = now_s();
    rc = avcodec_send_packet(v->dec, v->pkt);
    v->stats.decode_s += now_s() - t0;
    av_packet_unref(v->pkt);
    if (rc < 0 && rc != AVERROR(EAGAIN)) {
      /* A damaged packet: the decoder conceals what it can, as players do;
       * a stream where nothing decodes fails at its end. */
      v->stats.decode_errors++;
      averr(rc, v->last_decode_error, sizeof v->last_decode_error);
    }
  }
}

static double frame_time(tsr__video *v, const AVFrame *f) {
  int64_t ts = f->best_effort_timestamp;
  double t = ts != AV_NOPTS_VALUE ? ts_time(v, ts) : v->last_t + 2 * v->half;
  v->last_t = t;
  double n = t * v->fps;
  if (v->cfr && fabs(n) < 1e15 && fabs(n - nearbyint(n)) > 0.25) v->cfr = 0;
  return t;
}

static long frame_index(const tsr__video *v, double t) {
  double x = t * v->fps;
  return fabs(x) < 9e15 ? (long)llround(x) : -1;
}

/* ---- conversion ------------------------------------------------------------ */

static int sws_colorspace(const AVFrame *f) {
  switch (f->colorspace) {
  case AVCOL_SPC_BT709: return SWS_CS_ITU709;
  case AVCOL_SPC_FCC: return SWS_CS_FCC;
  case AVCOL_SPC_BT470BG:
  case AVCOL_SPC_SMPTE170M: return SWS_CS_ITU601;
  case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
  case AVCOL_SPC_BT2020_NCL:
  case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
  default:
    /* Untagged: HD and larger is BT.709 in practice, as players assume. */
    return f->width >= 1280 || f->height > 576 ? SWS_CS_ITU709 : SWS_CS_ITU601;
  }
}

/* The image a decoded format becomes: gray stays gray, more than 8 bits
 * per sample become 16; 0 for formats that cannot be converted. */
static int output_format(enum AVPixelFormat fmt, int *ch, int *depth, enum AVPixelFormat *dst) {
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
  if (!d || (d->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM))) return 0;
  int deep = d->comp[0].depth > 8;
  int gray = !(d->flags & AV_PIX_FMT_FLAG_PAL) &&
             (d->nb_components == 1 || (d->nb_components == 2 && (d->flags & AV_PIX_FMT_FLAG_ALPHA)));
  *ch = gray ? 1 : 3;
  *depth = deep ? 16 : 8;
  *dst = gray ? (deep ? AV_PIX_FMT_GRAY16 : AV_PIX_FMT_GRAY8) : (deep ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24);
  return 1;
}

static int too_large(int w, int h, int ch, int depth) {
  return w > TSR_MAX_DIM || h > TSR_MAX_DIM ||
         (uint64_t)w * (uint64_t)h * (uint64_t)ch * (uint64_t)(depth / 8) > TSR_MAX_IMAGE_BYTES;
}

static tsr_status convert(tsr__video *v, const AVFrame *f, tsr_image **out) {
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
  int ch, depth;
  enum AVPixelFormat dst;
  if (!output_format((enum AVPixelFormat)f->format, &ch, &depth, &dst))
    return fail(v, TSR_E_UNSUPPORTED, "unsupported pixel format %s", d ? d->name : "(none)");
  int gray = ch == 1;
  if (f->width < 1 || f->height < 1) return fail(v, TSR_E_CORRUPT, "a frame has no size");
  if (too_large(f->width, f->height, ch, depth))
    return fail(v, TSR_E_TOO_LARGE, "%dx%d frames are above the size limits", f->width, f->height);
  int cs = sws_colorspace(f);
  int range = f->color_range == AVCOL_RANGE_JPEG;
  if (!v->sws || v->sws_w != f->width || v->sws_h != f->height || v->sws_src != f->format || v->sws_dst != dst ||
      v->sws_cs != cs || v->sws_range != range) {
    sws_freeContext(v->sws);
    /* Same size: only chroma is resampled. Accurate rounding and full
     * chroma interpolation also keep swscale off its approximate fast
     * YUV-to-RGB path. */
    v->sws = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height, dst,
                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!v->sws) return fail(v, TSR_E_UNSUPPORTED, "cannot convert %s frames to RGB", d->name);
    if (!gray && !(d->flags & AV_PIX_FMT_FLAG_RGB))
      sws_setColorspaceDetails(v->sws, sws_getCoefficients(cs), range, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                               1 << 16, 1 << 16);
    v->sws_w = f->width;
    v->sws_h = f->height;
    v->sws_src = f->format;
    v->sws_dst = dst;
    v->sws_cs = cs;
    v->sws_range = range;
  }
  tsr_image *img;
  tsr_status st = tsr_image_create(f->width, f->height, ch, depth, &img);
  if (st) return fail(v, st, "cannot allocate a %dx%d frame", f->width, f->height);
  uint8_t *dstp[4] = {img->data, NULL, NULL, NULL};
  int dsts[4] = {(int)img->stride, 0, 0, 0};
  int h = sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dstp, dsts);
  if (h != f->height) {
    tsr_image_free(img);
    return fail(v, TSR_E_UNSUPPORTED, "converting a %s frame to RGB failed", d->name);
  }
  *out = img;
  return TSR_OK;
}

/* ---- the frame loop ------------------------------------------------------ */

tsr_status tsr__video_next(tsr__video *v, tsr_image **img, long *index, double *t, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (index) *index = -1;
  if (t) *t = 0;
  if (!img) return TSR_E_INVALID;
  *img = NULL;
  if (!v) return TSR_E_INVALID;
  tsr_status st = TSR_OK;
  for (;;) {
    if (v->failed) break;
    if (v->done) return TSR_OK;
    if (v->mode == MODE_TARGETS && !v->have_target) {
      double tk = v->s.start + v->first + (double)v->k * v->step;
      if (!(tk < v->end - EPS)) {
        v->done = 1;
        continue;
      }
      v->thr = tk - v->half;
      v->skip_before = v->thr - EPS;
      if ((st = maybe_seek(v, v->thr))) break;
      v->have_target = 1;
    } else if (v->mode == MODE_ALL && !v->started) {
      v->thr = v->s.start - v->half;
      v->skip_before = v->s.start > 0 ? v->thr - EPS : -INFINITY;
      if ((st = maybe_seek(v, v->thr))) break;
      v->started = 1;
    }
    int r = decode_next(v);
    if (r < 0) break;
    if (r == 0) {
      v->done = 1;
      if (v->stats.decoded_frames == 0 && v->stats.decode_errors > 0)
        fail(v, TSR_E_CORRUPT, "no frame could be decoded (%s)", v->last_decode_error);
      continue;
    }
    double ft = frame_time(v, v->frame);
    if (ft < v->thr - EPS) {
      av_frame_unref(v->frame);
      continue;
    }
    if (v->mode == MODE_ALL && ft >= v->end - v->half) {
      av_frame_unref(v->frame);
      v->done = 1;
      continue;
    }
    double c0 = now_s();
    st = convert(v, v->frame, img);
    v->stats.convert_s += now_s() - c0;
    av_frame_unref(v->frame);
    if (st) break;
    if (v->mode == MODE_TARGETS) {
      /* Targets this frame would also answer are passed over: no frame is
       * kept twice when the rate is above the stream's. */
      double kk = floor((ft + v->half + EPS - v->s.start - v->first) / v->step) + 1;
      if (kk < 1e15) v->k = (long)kk > v->k + 1 ? (long)kk : v->k + 1;
      else v->done = 1;
      v->have_target = 0;
    }
    v->stats.kept_frames++;
    if (index) *index = frame_index(v, ft);
    if (t) *t = ft;
    return TSR_OK;
  }
  if (err && errlen) snprintf(err, errlen, "%s", v->failmsg);
  return v->failed ? v->failed : st;
}

void tsr__video_get_stats(const tsr__video *v, tsr__video_stats *st) {
  if (!st) return;
  if (!v) {
    memset(st, 0, sizeof *st);
    return;
  }
  *st = v->stats;
}
