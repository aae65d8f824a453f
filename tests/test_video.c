/* The video frame source: a plain decode of every frame, sampled decodes
 * (rate, every Nth, a time window) that keep the expected frames and keep
 * them byte-identical to the plain decode, what sampling costs in decoded
 * frames and seeks, and bad input (missing, not a video, truncated,
 * damaged): a status and a message naming the file, never a crash. The
 * same frames are also read from Matroska and MPEG-TS copies of the clip.
 *
 * tests/data/clip_h264.mp4: 320x160, 30 fps, 300 frames (10 s), H.264 with
 * a keyframe every 30 frames and 2 B-frames, the earth image scrolling
 * (made by the command in tests/data/README.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "io/video.h"
#include "testutil.h"

#define CLIP TSR_TEST_DATA "/clip_h264.mp4"
#define CLIP_FRAMES 300
#define CLIP_FPS 30.0
#define CLIP_GOP 30

static char *dir;

static void setup(void) { dir = tt_tempdir(); }
static void teardown(void) {
  tt_rmtree(dir);
  free(dir);
}

static const char *tmp(const char *name) {
  static char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

typedef struct {
  tsr_image *img[CLIP_FRAMES * 2];
  long index[CLIP_FRAMES * 2];
  double t[CLIP_FRAMES * 2];
  int n;
  tsr__video_stats stats;
} frames;

static void frames_free(frames *f) {
  for (int i = 0; i < f->n; i++) tsr_image_free(f->img[i]);
  free(f);
}

/* Every kept frame of a sampled decode (images kept when keep is set). */
static frames *decode(const char *path, tsr__video_sampling s, int keep) {
  frames *f = calloc(1, sizeof *f);
  ck_assert_ptr_nonnull(f);
  char err[512];
  tsr__video *v = NULL;
  tsr_status st = tsr__video_open(path, &s, &v, err, sizeof err);
  ck_assert_msg(st == TSR_OK, "open: %s", err);
  for (;;) {
    tsr_image *img = NULL;
    long idx;
    double t;
    st = tsr__video_next(v, &img, &idx, &t, err, sizeof err);
    ck_assert_msg(st == TSR_OK, "next: %s", err);
    if (!img) break;
    ck_assert_msg(f->n < CLIP_FRAMES * 2, "too many frames");
    f->index[f->n] = idx;
    f->t[f->n] = t;
    if (keep) f->img[f->n] = img;
    else tsr_image_free(img);
    f->n++;
  }
  tsr__video_get_stats(v, &f->stats);
  tsr__video_close(v);
  return f;
}

static int same_bytes(const tsr_image *a, const tsr_image *b) {
  return a->width == b->width && a->height == b->height && a->channels == b->channels && a->depth == b->depth &&
         a->stride == b->stride && !memcmp(a->data, b->data, a->stride * (size_t)a->height);
}

START_TEST(linear_decode) {
  tsr__video_sampling all = {0};
  frames *f = decode(CLIP, all, 1);
  ck_assert_int_eq(f->n, CLIP_FRAMES);
  int differ = 0;
  for (int i = 0; i < f->n; i++) {
    ck_assert_int_eq(f->index[i], i);
    ck_assert_msg(fabs(f->t[i] - i / CLIP_FPS) < 1e-6, "frame %d at %.6f s", i, f->t[i]);
    ck_assert_int_eq(f->img[i]->width, 320);
    ck_assert_int_eq(f->img[i]->height, 160);
    ck_assert_int_eq(f->img[i]->channels, 3);
    ck_assert_int_eq(f->img[i]->depth, 8);
    if (i && !same_bytes(f->img[i], f->img[i - 1])) differ++;
  }
  /* The clip moves: a source stuck on one frame would pass the rest. */
  ck_assert_int_ge(differ, CLIP_FRAMES - 5);
  ck_assert_int_eq(f->stats.decoded_frames, CLIP_FRAMES);
  ck_assert_int_eq(f->stats.kept_frames, CLIP_FRAMES);
  ck_assert_int_eq(f->stats.seeks, 0);
  ck_assert_int_eq(f->stats.keyframes_in_index, CLIP_FRAMES / CLIP_GOP);
  ck_assert_double_eq_tol(f->stats.gop_frames, CLIP_GOP, 1e-9);
  ck_assert_double_eq_tol(f->stats.stream_fps, CLIP_FPS, 1e-9);
  ck_assert_double_eq_tol(f->stats.duration_s, 10.0, 1e-3);
  ck_assert_int_eq(f->stats.width, 320);
  ck_assert_str_eq(f->stats.codec, "h264");
  frames_free(f);
}
END_TEST

/* The frame numbers a sampling keeps on the clip, computed apart from the
 * module: target k at start + k * step (step 0: every frame), kept frame =
 * the first whose time is >= target - half a period, no frame twice. */
static int expected(tsr__video_sampling s, long *out) {
  double step = s.every > 0 ? s.every / CLIP_FPS : s.fps > 0 ? 1.0 / s.fps : 1.0 / CLIP_FPS;
  double end = s.duration > 0 ? s.start + s.duration : INFINITY;
  int n = 0;
  long prev = -1;
  for (long k = 0;; k++) {
    double tk = s.start + k * step;
    if (tk >= end - 1e-6) break;
    long idx = (long)ceil((tk - 0.5 / CLIP_FPS) * CLIP_FPS - 1e-9);
    if (idx < 0) idx = 0;
    if (idx >= CLIP_FRAMES) break;
    if (idx <= prev) continue;
    out[n++] = prev = idx;
  }
  return n;
}

START_TEST(sampled_frames_match_full_decode) {
  static const tsr__video_sampling cases[] = {
      {.fps = 1},
      {.fps = 3},
      {.fps = 7},
      {.fps = 0.4, .start = 0.5},
      {.fps = 60}, /* above the stream's rate: every frame once */
      {.fps = 60, .start = 2, .duration = 1},
      {.fps = 45, .start = 4.01},
      {.every = 4},
      {.every = 25, .start = 3.3, .duration = 4},
      {.every = 31, .start = 0.9},
      {.fps = 2, .start = 8.5},
      {.fps = 1, .start = 9.99},
      {.start = 9.5},                  /* every frame from 9.5 s */
      {.start = 0.96, .duration = 0.2}, /* every frame of a window */
      {.fps = 1, .start = 11},          /* after the end: nothing */
  };
  tsr__video_sampling all = {0};
  frames *ref = decode(CLIP, all, 1);
  ck_assert_int_eq(ref->n, CLIP_FRAMES);
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    tsr__video_sampling s = cases[c];
    long want[CLIP_FRAMES];
    int nwant = expected(s, want);
    frames *f = decode(CLIP, s, 1);
    char what[128];
    snprintf(what, sizeof what, "fps %g every %d start %g duration %g", s.fps, s.every, s.start, s.duration);
    ck_assert_msg(f->n == nwant, "%s: %d frames kept, %d expected", what, f->n, nwant);
    for (int i = 0; i < f->n; i++) {
      ck_assert_msg(f->index[i] == want[i], "%s: kept frame %d is #%ld, expected #%ld", what, i, f->index[i],
                    want[i]);
      ck_assert_msg(fabs(f->t[i] - want[i] / CLIP_FPS) < 1e-6, "%s: #%ld at %.6f s", what, want[i], f->t[i]);
      ck_assert_msg(same_bytes(f->img[i], ref->img[want[i]]), "%s: frame #%ld differs from the full decode", what,
                    want[i]);
    }
    ck_assert_int_eq(f->stats.kept_frames, f->n);
    frames_free(f);
  }
  frames_free(ref);
}
END_TEST

/* One frame a second from a clip with a keyframe a second: each kept frame
 * is a keyframe, reached by a seek, so the decoder produces about one frame
 * per kept frame, far below a decode of the whole clip. */
START_TEST(decode_cost) {
  tsr__video_sampling s = {.fps = 1};
  frames *f = decode(CLIP, s, 0);
  long gop = lround(f->stats.gop_frames);
  ck_assert_int_eq(gop, CLIP_GOP);
  ck_assert_int_eq(f->n, 10);
  ck_assert_msg(f->stats.decoded_frames <= 2 * gop * f->n, "%ld frames decoded for %d kept",
                f->stats.decoded_frames, f->n);
  /* Tighter: one frame per kept frame, plus at most the GOP after the last. */
  ck_assert_msg(f->stats.decoded_frames <= f->n + gop, "%ld frames decoded for %d kept", f->stats.decoded_frames,
                f->n);
  ck_assert_int_ge(f->stats.seeks, 8);
  frames_free(f);

  /* Far into the clip: a seek, not a decode of everything before. */
  s = (tsr__video_sampling){.fps = 1, .start = 7.0};
  f = decode(CLIP, s, 0);
  ck_assert_int_eq(f->n, 3);
  ck_assert_int_gt(f->stats.seeks, 0);
  ck_assert_msg(f->stats.decoded_frames <= 2 * gop * f->n, "%ld frames decoded for %d kept",
                f->stats.decoded_frames, f->n);
  ck_assert_msg(f->stats.decoded_frames <= f->n + gop, "%ld frames decoded for %d kept", f->stats.decoded_frames,
                f->n);
  frames_free(f);

  /* A window inside one GOP: decoded forward from its keyframe, not from 0. */
  s = (tsr__video_sampling){.start = 5.5, .duration = 0.3};
  f = decode(CLIP, s, 0);
  ck_assert_int_eq(f->n, 9);
  ck_assert_int_eq(f->stats.seeks, 1);
  ck_assert_msg(f->stats.decoded_frames <= 2 * CLIP_GOP, "%ld frames decoded", f->stats.decoded_frames);
  frames_free(f);
}
END_TEST

/* Copies the clip's packets into another container (no re-encoding), so
 * the same frames can be read through other demuxers. */
static void remux(const char *src, const char *dst) {
  AVFormatContext *in = NULL, *out = NULL;
  ck_assert_int_eq(avformat_open_input(&in, src, NULL, NULL), 0);
  ck_assert_int_ge(avformat_find_stream_info(in, NULL), 0);
  ck_assert_int_ge(avformat_alloc_output_context2(&out, NULL, NULL, dst), 0);
  for (unsigned i = 0; i < in->nb_streams; i++) {
    AVStream *o = avformat_new_stream(out, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_ge(avcodec_parameters_copy(o->codecpar, in->streams[i]->codecpar), 0);
    o->codecpar->codec_tag = 0;
    o->time_base = in->streams[i]->time_base;
  }
  ck_assert_int_ge(avio_open(&out->pb, dst, AVIO_FLAG_WRITE), 0);
  ck_assert_int_ge(avformat_write_header(out, NULL), 0);
  AVPacket *pkt = av_packet_alloc();
  while (av_read_frame(in, pkt) >= 0) {
    av_packet_rescale_ts(pkt, in->streams[pkt->stream_index]->time_base, out->streams[pkt->stream_index]->time_base);
    pkt->pos = -1;
    ck_assert_int_ge(av_interleaved_write_frame(out, pkt), 0);
  }
  ck_assert_int_ge(av_write_trailer(out), 0);
  av_packet_free(&pkt);
  avio_closep(&out->pb);
  avformat_free_context(out);
  avformat_close_input(&in);
}

/* The same frames through Matroska (cues: seeks) and MPEG-TS (no index:
 * decoded forward), compared with the MP4's plain decode. */
START_TEST(other_containers) {
  static const tsr__video_sampling cases[] = {
      {.fps = 1}, {.fps = 3, .start = 2.2, .duration = 5}, {.start = 6.1, .duration = 0.5}};
  tsr__video_sampling all = {0};
  frames *ref = decode(CLIP, all, 1);
  ck_assert_int_eq(ref->n, CLIP_FRAMES);
  for (int c = 0; c < 2; c++) {
    const char *path = tmp(c ? "clip.ts" : "clip.mkv");
    remux(CLIP, path);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
      long want[CLIP_FRAMES];
      int nwant = expected(cases[k], want);
      frames *f = decode(path, cases[k], 1);
      ck_assert_msg(f->n == nwant, "%s case %zu: %d frames kept, %d expected", path, k, f->n, nwant);
      for (int i = 0; i < f->n; i++) {
        ck_assert_msg(f->index[i] == want[i], "%s case %zu: kept #%ld, expected #%ld", path, k, f->index[i],
                      want[i]);
        ck_assert_msg(same_bytes(f->img[i], ref->img[want[i]]), "%s case %zu: #%ld differs from the MP4's", path,
                      k, want[i]);
      }
      if (c == 0) { /* Matroska: the cues are the index */
        ck_assert_int_eq(f->stats.keyframes_in_index, CLIP_FRAMES / CLIP_GOP);
        ck_assert_int_gt(f->stats.seeks, 0);
        /* No stored frame rate here (millisecond timestamps, mean rate
         * 30.3): still one frame a second for about a frame each. */
        if (k == 0)
          ck_assert_msg(f->stats.decoded_frames <= f->n + CLIP_GOP, "%s: %ld frames decoded for %d kept", path,
                        f->stats.decoded_frames, f->n);
      } else { /* MPEG-TS: no index, no seek */
        ck_assert_int_eq(f->stats.keyframes_in_index, 0);
        ck_assert_int_eq(f->stats.seeks, 0);
      }
      frames_free(f);
    }
  }
  frames_free(ref);
}
END_TEST

static void *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  void *buf = malloc((size_t)len);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)len, fp), (size_t)len);
  fclose(fp);
  *n = (size_t)len;
  return buf;
}

/* Opens path and reads every frame: the first failing status (TSR_OK if
 * none), its message in err. Frames read are counted in *nframes. */
static tsr_status try_all(const char *path, tsr__video_sampling s, char *err, size_t errlen, int *nframes) {
  tsr__video *v = NULL;
  *nframes = 0;
  tsr_status st = tsr__video_open(path, &s, &v, err, errlen);
  if (st) {
    ck_assert_ptr_null(v);
    return st;
  }
  for (;;) {
    tsr_image *img = NULL;
    st = tsr__video_next(v, &img, NULL, NULL, err, errlen);
    if (st) {
      ck_assert_ptr_null(img);
      /* The error sticks. */
      char again[512];
      ck_assert_int_eq(tsr__video_next(v, &img, NULL, NULL, again, sizeof again), st);
      ck_assert_ptr_null(img);
      ck_assert_str_eq(again, err);
      break;
    }
    if (!img) break;
    tsr_image_free(img);
    (*nframes)++;
  }
  tsr__video_close(v);
  return st;
}

static void expect_error(const char *path, tsr__video_sampling s, tsr_status want) {
  char err[512] = "";
  int n;
  tsr_status st = try_all(path, s, err, sizeof err, &n);
  ck_assert_msg(st == want, "%s: status %d (%s), expected %d", path, st, err, want);
  ck_assert_msg(strstr(err, path) != NULL, "message does not name the file: %s", err);
  ck_assert_msg(!strchr(err, '\n'), "message is not one line: %s", err);
  printf("video: %s\n", err);
}

START_TEST(bad_input) {
  tsr__video_sampling all = {0}, fps1 = {.fps = 1};
  expect_error(tmp("missing.mp4"), all, TSR_E_IO);

  size_t n;
  uint8_t *jpg = slurp(TSR_TEST_DATA "/earth_2048x1024.jpg", &n);
  tt_write_file(tmp("photo.mp4"), jpg, n);
  free(jpg);
  expect_error(tmp("photo.mp4"), all, TSR_E_FORMAT);

  tt_write_file(tmp("empty.mkv"), "", 0);
  expect_error(tmp("empty.mkv"), all, TSR_E_EMPTY);

  char text[4096];
  for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + i % 26);
  tt_write_file(tmp("text.mov"), text, sizeof text);
  expect_error(tmp("text.mov"), all, TSR_E_FORMAT);

  uint8_t *clip = slurp(CLIP, &n);
  /* Cut in the middle of the media data: the index (at the front) says
   * more frames exist than the file holds. */
  tt_write_file(tmp("half.mp4"), clip, n / 2);
  expect_error(tmp("half.mp4"), all, TSR_E_CORRUPT);
  expect_error(tmp("half.mp4"), fps1, TSR_E_CORRUPT);
  /* Cut inside the index itself. */
  tt_write_file(tmp("head.mp4"), clip, 1500);
  expect_error(tmp("head.mp4"), all, TSR_E_CORRUPT);

  /* Damaged media data: whatever the decoder makes of it, no crash, no
   * hang, and an error names the file. */
  unsigned seed = 7;
  for (int pass = 0; pass < 3; pass++) {
    uint8_t *bad = malloc(n);
    ck_assert_ptr_nonnull(bad);
    memcpy(bad, clip, n);
    for (size_t i = n / 4 + (size_t)pass * 9000; i < n / 4 + (size_t)pass * 9000 + 3000 && i < n; i++) {
      seed = seed * 1664525u + 1013904223u;
      bad[i] = (uint8_t)(seed >> 24);
    }
    tt_write_file(tmp("damaged.mp4"), bad, n);
    free(bad);
    char err[512] = "";
    int frames_read;
    tsr_status st = try_all(tmp("damaged.mp4"), pass == 1 ? fps1 : all, err, sizeof err, &frames_read);
    printf("video: damaged copy %d: status %d, %d frames read%s%s\n", pass, st, frames_read, *err ? ": " : "", err);
    if (st) ck_assert_msg(strstr(err, tmp("damaged.mp4")) != NULL, "message does not name the file: %s", err);
    else ck_assert_int_gt(frames_read, 0);
  }
  free(clip);

  tsr__video *v = NULL;
  char err[512];
  tsr__video_sampling bad = {.fps = -1};
  ck_assert_int_eq(tsr__video_open(CLIP, &bad, &v, err, sizeof err), TSR_E_INVALID);
  bad = (tsr__video_sampling){.fps = 1, .every = 2};
  ck_assert_int_eq(tsr__video_open(CLIP, &bad, &v, err, sizeof err), TSR_E_INVALID);
  bad = (tsr__video_sampling){.start = NAN};
  ck_assert_int_eq(tsr__video_open(CLIP, &bad, &v, err, sizeof err), TSR_E_INVALID);
  ck_assert_ptr_null(v);
}
END_TEST

START_TEST(video_names) {
  ck_assert(tsr__is_video_name("a/b/walk.MP4"));
  ck_assert(tsr__is_video_name("x.mkv"));
  ck_assert(tsr__is_video_name("x.m2ts"));
  ck_assert(tsr__is_video_name("x.Mpeg"));
  ck_assert(tsr__is_video_name("x.ts"));
  ck_assert(!tsr__is_video_name("x.jpg"));
  ck_assert(!tsr__is_video_name("mp4"));
  ck_assert(!tsr__is_video_name("dir.mp4/frame"));
  ck_assert(!tsr__is_video_name("x."));
  ck_assert(!tsr__is_video_name(NULL));
}
END_TEST

int main(void) {
  Suite *s = suite_create("video");
  TCase *tc = tcase_create("video");
  tcase_set_timeout(tc, 300);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, linear_decode);
  tcase_add_test(tc, sampled_frames_match_full_decode);
  tcase_add_test(tc, decode_cost);
  tcase_add_test(tc, other_containers);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, video_names);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
