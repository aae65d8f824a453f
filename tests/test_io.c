/* Image I/O: round trips for every format, depth and channel count, and
 * every class of bad input (each with its own status, a message naming the
 * file, and no output left behind). */
#include <stdio.h>

#include <jpeglib.h>
#include <turbojpeg.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/codec.h"
#include "testutil.h"

static tsr_context *ctx;
static char *dir;

static void setup(void) {
  ctx = tt_context("cpu");
  dir = tt_tempdir();
}
static void teardown(void) {
  tt_rmtree(dir);
  free(dir);
  tsr_context_destroy(ctx);
}

static char *path(const char *name) {
  static char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

static tsr_image *make(int w, int h, int ch, int depth, unsigned seed) {
  tsr_image *img;
  ck_assert_int_eq(tsr_image_create(w, h, ch, depth, &img), TSR_OK);
  tt_fill_random(img, seed);
  return img;
}

static void roundtrip_exact(const char *name, int ch, int depth) {
  tsr_image *a = make(37, 23, ch, depth, (unsigned)(ch * 100 + depth)), *b = NULL;
  ck_assert_msg(tsr_image_write(ctx, a, path(name), NULL) == TSR_OK, "%s", tsr_context_error(ctx));
  ck_assert_msg(tsr_image_read(ctx, path(name), 0, &b) == TSR_OK, "%s", tsr_context_error(ctx));
  ck_assert_int_eq(b->channels, ch);
  ck_assert_int_eq(b->depth, depth);
  ck_assert_msg(tt_max_diff(a, b) == 0, "%s: %d-channel %d-bit round trip differs", name, ch, depth);
  tsr_image_free(a);
  tsr_image_free(b);
}

START_TEST(png_roundtrip) {
  for (int ch = 1; ch <= 4; ch++) {
    roundtrip_exact("a.png", ch, 8);
    roundtrip_exact("a.png", ch, 16);
  }
}
END_TEST

START_TEST(pnm_roundtrip) {
  for (int depth = 8; depth <= 16; depth += 8) {
    roundtrip_exact("a.pgm", 1, depth);
    roundtrip_exact("a.ppm", 3, depth);
    for (int ch = 1; ch <= 4; ch++) roundtrip_exact("a.pam", ch, depth);
  }
}
END_TEST

START_TEST(jpeg_roundtrip) {
  for (int ch = 1; ch <= 3; ch += 2) {
    tsr_image *a, *b = NULL;
    ck_assert_int_eq(tsr_image_create(160, 96, ch, 8, &a), TSR_OK);
    tt_fill_smooth(a, 3);
    tsr_write_options o = {.struct_size = sizeof(tsr_write_options), .quality = 95, .subsampling = 444};
    ck_assert_int_eq(tsr_image_write(ctx, a, path("a.jpg"), &o), TSR_OK);
    ck_assert_int_eq(tsr_image_read(ctx, path("a.jpg"), 0, &b), TSR_OK);
    ck_assert_int_eq(b->channels, ch);
    double psnr = tt_psnr(a, b);
    ck_assert_msg(psnr > 38, "JPEG q95 PSNR %.1f dB", psnr);
    tsr_image_free(b);
    o.quality = 10;
    ck_assert_int_eq(tsr_image_write(ctx, a, path("b.jpeg"), &o), TSR_OK);
    ck_assert_int_eq(tsr_image_read(ctx, path("b.jpeg"), 0, &b), TSR_OK);
    ck_assert_msg(tt_psnr(a, b) < psnr, "quality setting has no effect");
    tsr_image_free(a);
    tsr_image_free(b);
  }
}
END_TEST

START_TEST(jpeg_real_photo_and_metadata) {
  tsr_image *img = NULL, *again = NULL;
  ck_assert_int_eq(tsr_image_read(ctx, TSR_TEST_DATA "/earth_2048x1024.jpg", 0, &img), TSR_OK);
  ck_assert_int_eq(img->width, 2048);
  ck_assert_int_eq(img->height, 1024);
  ck_assert_int_eq(img->channels, 3);
  /* Carry a synthetic EXIF segment through decode and encode. */
  static const uint8_t exif[] = {0xFF, 0xE1, 0x00, 0x0E, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 8};
  img->meta = malloc(sizeof exif);
  memcpy(img->meta, exif, sizeof exif);
  img->meta_size = sizeof exif;
  tsr_write_options o = {.struct_size = sizeof(tsr_write_options), .quality = 90, .keep_metadata = 1};
  ck_assert_int_eq(tsr_image_write(ctx, img, path("m.jpg"), &o), TSR_OK);
  ck_assert_int_eq(tsr_image_read(ctx, path("m.jpg"), TSR_READ_KEEP_METADATA, &again), TSR_OK);
  ck_assert_uint_eq(again->meta_size, sizeof exif);
  ck_assert_mem_eq(again->meta, exif, sizeof exif);
  ck_assert(tt_psnr(img, again) > 30);
  tsr_image_free(again);
  /* Without the flag nothing is kept. */
  ck_assert_int_eq(tsr_image_read(ctx, path("m.jpg"), 0, &again), TSR_OK);
  ck_assert_uint_eq(again->meta_size, 0);
  tsr_image_free(again);
  tsr_image_free(img);
}
END_TEST

static uint8_t *slurp(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n);
  ck_assert_uint_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

/* Reading `name` must fail with `want`, a message naming the file, no image. */
static void expect_bad(const char *name, tsr_status want) {
  tsr_image *img = (tsr_image *)0x1;
  tsr_status st = tsr_image_read(ctx, path(name), 0, &img);
  ck_assert_msg(st == want, "%s: got %d (%s), want %d", name, st, tsr_context_error(ctx), want);
  ck_assert_ptr_null(img);
  ck_assert_msg(strstr(tsr_context_error(ctx), name), "message '%s' does not name the file",
                tsr_context_error(ctx));
}

static void write_truncated(const char *src_name, const char *dst_name, double keep) {
  size_t n;
  uint8_t *b = slurp(path(src_name), &n);
  tt_write_file(path(dst_name), b, (size_t)(n * keep));
  free(b);
}

START_TEST(bad_inputs) {
  tsr_image *a = make(64, 48, 3, 8, 7);
  ck_assert_int_eq(tsr_image_write(ctx, a, path("ok.jpg"), NULL), TSR_OK);
  ck_assert_int_eq(tsr_image_write(ctx, a, path("ok.png"), NULL), TSR_OK);
  ck_assert_int_eq(tsr_image_write(ctx, a, path("ok.ppm"), NULL), TSR_OK);
  tsr_image_free(a);
  write_truncated("ok.jpg", "trunc.jpg", 0.6);
  write_truncated("ok.png", "trunc.png", 0.6);
  write_truncated("ok.ppm", "trunc.ppm", 0.6);
  write_truncated("ok.jpg", "header_only.jpg", 0.02);
  expect_bad("trunc.jpg", TSR_E_CORRUPT);
  expect_bad("trunc.png", TSR_E_CORRUPT);
  expect_bad("trunc.ppm", TSR_E_CORRUPT);
  expect_bad("header_only.jpg", TSR_E_CORRUPT);

  /* Corrupt bytes in the middle of the PNG data: the CRC catches them. */
  size_t n;
  uint8_t *b = slurp(path("ok.png"), &n);
  for (size_t i = n / 2; i < n / 2 + 16; i++) b[i] ^= 0x5A;
  tt_write_file(path("corrupt.png"), b, n);
  free(b);
  expect_bad("corrupt.png", TSR_E_CORRUPT);

  tt_write_file(path("empty.jpg"), "", 0);
  expect_bad("empty.jpg", TSR_E_EMPTY);
  tt_write_file(path("text.png"), "hello, not an image\n", 20);
  expect_bad("text.png", TSR_E_FORMAT);
  /* A JPEG named .png */
  b = slurp(path("ok.jpg"), &n);
  tt_write_file(path("really_jpeg.png"), b, n);
  free(b);
  expect_bad("really_jpeg.png", TSR_E_FORMAT);
  ck_assert_ptr_nonnull(strstr(tsr_context_error(ctx), "JPEG"));

  /* Dimensions above the limit, caught before allocation. */
  const char *big = "P6\n70000 10\n255\n";
  tt_write_file(path("big.ppm"), big, strlen(big));
  expect_bad("big.ppm", TSR_E_TOO_LARGE);
  const char *huge = "P6\n65000 65000\n65535\n";
  tt_write_file(path("huge.ppm"), huge, strlen(huge));
  expect_bad("huge.ppm", TSR_E_TOO_LARGE);
  /* A PNG header claiming 100000 x 100000 (IHDR CRC correct). */
  static const uint8_t png_big[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                    0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0, 0x27, 0x30, 0x9C, 0x9F};
  tt_write_file(path("big.png"), png_big, sizeof png_big);
  tsr_image *img = NULL;
  tsr_status st = tsr_image_read(ctx, path("big.png"), 0, &img);
  ck_assert_msg(st == TSR_E_TOO_LARGE || st == TSR_E_CORRUPT, "big.png: %d %s", st, tsr_context_error(ctx));
  ck_assert_ptr_null(img);

  /* Unsupported depth: maxval 1023, a PAM with 5 channels. */
  const char *deep = "P5\n4 4\n1023\n";
  tt_write_file(path("deep.pgm"), deep, strlen(deep));
  expect_bad("deep.pgm", TSR_E_UNSUPPORTED);
  const char *wide = "P7\nWIDTH 2\nHEIGHT 2\nDEPTH 5\nMAXVAL 255\nENDHDR\n";
  tt_write_file(path("wide.pam"), wide, strlen(wide));
  expect_bad("wide.pam", TSR_E_UNSUPPORTED);

  /* Unreadable paths. */
  expect_bad("missing.png", TSR_E_IO);
  mkdir(path("adir.png"), 0755);
  expect_bad("adir.png", TSR_E_IO);
}
END_TEST

START_TEST(writes_are_atomic) {
  tsr_image *rgba = make(16, 16, 4, 8, 1), *deep = make(16, 16, 3, 16, 2), *rgb = make(16, 16, 3, 8, 3);
  int before = tt_dir_entries(dir);
  /* Encoder refusals leave neither the file nor a temporary. */
  ck_assert_int_eq(tsr_image_write(ctx, rgba, path("x.jpg"), NULL), TSR_E_UNSUPPORTED);
  ck_assert_int_eq(tsr_image_write(ctx, deep, path("x.jpg"), NULL), TSR_E_UNSUPPORTED);
  ck_assert_int_eq(tsr_image_write(ctx, rgba, path("x.ppm"), NULL), TSR_E_FORMAT);
  ck_assert_int_eq(tsr_image_write(ctx, rgb, path("x.bmp"), NULL), TSR_E_FORMAT);
  tsr_write_options bad_q = {.struct_size = sizeof(tsr_write_options), .quality = 101};
  ck_assert_int_eq(tsr_image_write(ctx, rgb, path("x.jpg"), &bad_q), TSR_E_INVALID);
  ck_assert_int_eq(tt_dir_entries(dir), before);
  ck_assert_int_eq(tsr_image_write(ctx, rgb, path("no/such/dir/x.png"), NULL), TSR_E_IO);
  /* Replacing an existing file: readers see the old or the new, whole. */
  ck_assert_int_eq(tsr_image_write(ctx, rgb, path("y.png"), NULL), TSR_OK);
  ck_assert_int_eq(tsr_image_write(ctx, deep, path("y.png"), NULL), TSR_OK);
  ck_assert_int_eq(tt_dir_entries(dir), before + 1);
  tsr_image *back = NULL;
  ck_assert_int_eq(tsr_image_read(ctx, path("y.png"), 0, &back), TSR_OK);
  ck_assert_int_eq(tt_max_diff(back, deep), 0);
  /* A read-only folder: a clear error, nothing written. */
  if (geteuid() != 0) {
    mkdir(path("ro"), 0555);
    ck_assert_int_eq(tsr_image_write(ctx, rgb, path("ro/z.png"), NULL), TSR_E_IO);
  }
  tsr_image_free(back);
  tsr_image_free(rgba);
  tsr_image_free(deep);
  tsr_image_free(rgb);
}
END_TEST

START_TEST(pnm_stream) {
  /* Two concatenated PPMs, as ffmpeg's image2pipe writes them: the decoder
   * reports where the first ends. */
  tsr_image *a = make(5, 4, 3, 8, 11), *b = make(5, 4, 3, 8, 12), *r = NULL;
  ck_assert_int_eq(tsr_image_write(ctx, a, path("a.ppm"), NULL), TSR_OK);
  ck_assert_int_eq(tsr_image_write(ctx, b, path("b.ppm"), NULL), TSR_OK);
  size_t na, nb;
  uint8_t *ba = slurp(path("a.ppm"), &na), *bb = slurp(path("b.ppm"), &nb);
  uint8_t *cat = malloc(na + nb);
  memcpy(cat, ba, na);
  memcpy(cat + na, bb, nb);
  ck_assert_int_eq(tsr_image_decode(ctx, cat, na + nb, "stream", 0, &r), TSR_OK);
  ck_assert_int_eq(tt_max_diff(r, a), 0);
  tsr_image_free(r);
  ck_assert_int_eq(tsr_image_decode(ctx, cat + na, nb, "stream", 0, &r), TSR_OK);
  ck_assert_int_eq(tt_max_diff(r, b), 0);
  tsr_image_free(r);
  free(ba);
  free(bb);
  free(cat);
  tsr_image_free(a);
  tsr_image_free(b);
}
END_TEST

START_TEST(png_palette_and_low_depth_expand) {
  /* A 2x1 palette PNG (written by hand: IHDR, PLTE, IDAT, IEND). Palette
   * index 0 = red, 1 = blue. */
  static const uint8_t pal[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
      0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x03, 0x00, 0x00, 0x00, 0xc3, 0xfc, 0x8f, 0xb8, 0x00,
      0x00, 0x00, 0x06, 0x50, 0x4c, 0x54, 0x45, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0x6c, 0xa1, 0xfd, 0x8e,
      0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x60, 0x04, 0x00, 0x00, 0x04,
      0x00, 0x02, 0xbf, 0x7a, 0x3f, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
      0x82};
  tt_write_file(path("pal.png"), pal, sizeof pal);
  tsr_image *img = NULL;
  ck_assert_msg(tsr_image_read(ctx, path("pal.png"), 0, &img) == TSR_OK, "%s", tsr_context_error(ctx));
  ck_assert_int_eq(img->channels, 3);
  ck_assert_int_eq(img->depth, 8);
  static const uint8_t want[] = {255, 0, 0, 0, 0, 255};
  ck_assert_mem_eq(img->data, want, 6);
  tsr_image_free(img);
}
END_TEST

/* ---- small files that claim huge images ---------------------------------- */
/* A 16x16 JPEG (gray, or RGB 4:4:4 with rgb set), progressive and
 * arithmetic-coded, whose frame header is then made to claim 65500x65500:
 * a full progressive decode would need 8.5 GB (gray) or 25.7 GB (RGB) of
 * coefficient buffers. */
static uint8_t *bomb_jpeg(size_t *size, int rgb) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  unsigned char *buf = NULL;
  unsigned long n = 0;
  jpeg_mem_dest(&c, &buf, &n);
  c.image_width = c.image_height = 16;
  c.input_components = rgb ? 3 : 1;
  c.in_color_space = rgb ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  for (int k = 0; k < c.num_components; k++) c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
  c.arith_code = TRUE;
  jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  uint8_t row[48];
  for (int y = 0; y < 16; y++) {
    for (int x = 0; x < 48; x++) row[x] = (uint8_t)(x * y);
    JSAMPROW r = row;
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  for (unsigned long i = 0; i + 8 < n; i++)
    if (buf[i] == 0xFF && (buf[i + 1] == 0xCA || buf[i + 1] == 0xC2)) { /* SOF10 (or SOF2) */
      buf[i + 5] = buf[i + 7] = 65500 >> 8;
      buf[i + 6] = buf[i + 8] = 65500 & 255;
      break;
    }
  *size = n;
  return buf;
}

/* Peak RSS of a child that runs f(arg), in MiB. */
static long child_peak_mib(void (*f)(const void *), const void *arg, int *status) {
  fflush(stdout); /* or the child prints the parent's buffered lines again */
  pid_t pid = fork();
  if (pid == 0) {
    f(arg);
    _exit(0);
  }
  waitpid(pid, status, 0);
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_maxrss / 1024;
}

/* arg: {rgb, full}: the band decode the split uses, or the whole image. */
static void decode_band_bomb(const void *arg) {
  const int *mode = arg;
  size_t n;
  uint8_t *b = bomb_jpeg(&n, mode[0]);
  tsr_context *ctx = tt_context("cpu");
  tsr_image *img = NULL;
  tsr_status st = mode[1] ? tsr_image_decode(ctx, b, n, "bomb.jpg", 0, &img)
                          : tsr__jpeg_decode_band(ctx, b, n, "bomb.jpg", 1, 1000, 16, &img);
  printf("io: bomb.jpg (%s, %s, %zu bytes): %s\n", mode[0] ? "RGB 4:4:4" : "gray", mode[1] ? "whole" : "band", n,
         tsr_context_error(ctx));
  fflush(stdout);
  tsr_image_free(img);
  tsr_context_destroy(ctx);
  free(b); /* clean for valgrind, which runs this suite */
  _exit(st == TSR_OK ? 1 : 0);
}

/* PNG's CRC-32 (ISO 3309 polynomial, reflected), bit by bit. */
static uint32_t png_crc(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

static void decode_png_bomb(const void *arg) {
  (void)arg;
  /* A valid 1x1 PNG header, then an sCAL chunk claiming 2 GB. */
  static const uint8_t head[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1,
                                 0,    0,   0,   1,   8,    0,    0,    0,    0};
  uint8_t b[64];
  memcpy(b, head, sizeof head);
  uint32_t crc = png_crc(b + 12, 17);
  size_t n = sizeof head;
  b[n++] = (uint8_t)(crc >> 24);
  b[n++] = (uint8_t)(crc >> 16);
  b[n++] = (uint8_t)(crc >> 8);
  b[n++] = (uint8_t)crc;
  const uint8_t scal[] = {0x7F, 0xFF, 0xFF, 0x00, 's', 'C', 'A', 'L', 1, '1', 0, '1'};
  memcpy(b + n, scal, sizeof scal);
  n += sizeof scal;
  tsr_context *ctx = tt_context("cpu");
  tsr_image *img = NULL;
  tsr_status st = tsr_image_decode(ctx, b, n, "bomb.png", 0, &img);
  printf("io: bomb.png (%zu bytes): %s\n", n, tsr_context_error(ctx));
  fflush(stdout);
  tsr_image_free(img);
  tsr_context_destroy(ctx);
  _exit(st == TSR_OK ? 1 : 0);
}

START_TEST(small_files_cannot_cost_gigabytes) {
  int status;
  long mib;
  static const int modes[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}}; /* gray/RGB x band/whole */
  for (int k = 0; k < 4; k++) {
    mib = child_peak_mib(decode_band_bomb, modes[k], &status);
    printf("io: decoding it peaked at %ld MiB (largest child so far)\n", mib);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mode %d decoded", k); /* refused */
    ck_assert_int_lt(mib, 512);
  }
  mib = child_peak_mib(decode_png_bomb, NULL, &status);
  printf("io: decoding it peaked at %ld MiB\n", mib);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ck_assert_int_lt(mib, 512);
}
END_TEST

/* A valid progressive JPEG (which now decodes through the libjpeg API,
 * whose memory is capped) gives the same pixels as TurboJPEG's
 * whole-image decode. */
START_TEST(progressive_jpeg_decodes_the_same) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  unsigned char *buf = NULL;
  unsigned long n = 0;
  jpeg_mem_dest(&c, &buf, &n);
  c.image_width = 97;
  c.image_height = 61;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  uint8_t row[97 * 3];
  for (int y = 0; y < 61; y++) {
    for (int x = 0; x < 97 * 3; x++) row[x] = (uint8_t)(x * 7 + y * 13 + (x * y) % 31);
    JSAMPROW r = row;
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  tsr_image *img = NULL;
  ck_assert_int_eq(tsr_image_decode(ctx, buf, n, "p.jpg", 0, &img), TSR_OK);
  ck_assert_int_eq(img->width, 97);
  tjhandle tj = tjInitDecompress();
  uint8_t *want = malloc((size_t)97 * 61 * 3);
  ck_assert_int_eq(tjDecompress2(tj, buf, n, want, 97, 97 * 3, 61, TJPF_RGB, TJFLAG_ACCURATEDCT), 0);
  for (int y = 0; y < 61; y++)
    ck_assert_msg(!memcmp(img->data + (size_t)y * img->stride, want + (size_t)y * 97 * 3, 97 * 3), "row %d differs", y);
  tjDestroy(tj);
  free(want);
  free(buf);
  tsr_image_free(img);
}
END_TEST

/* A band image handed to the JPEG band decoder for reuse is never lost:
 * whether the data fails before the decoder takes it (a cut header) or
 * after (a cut scan), the caller that frees what the contract leaves it
 * (the split's way) leaks nothing. The split once leaked a 393 KB band
 * here; ASan and valgrind (scripts/test.sh) see any leak. */
START_TEST(band_reuse_never_leaks) {
  tsr_image *a, *reuse, *img;
  ck_assert_int_eq(tsr_image_create(160, 96, 3, 8, &a), TSR_OK);
  tt_fill_smooth(a, 5);
  ck_assert_int_eq(tsr_image_write(ctx, a, path("band.jpg"), NULL), TSR_OK);
  tsr_image_free(a);
  size_t n;
  uint8_t *b = slurp(path("band.jpg"), &n);
  const size_t cuts[] = {2, 40, 200, n * 6 / 10, n};
  for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
    ck_assert_int_eq(tsr_image_create(160, 16, 3, 8, &reuse), TSR_OK); /* the band's shape: taken if reached */
    img = reuse;
    tsr_status st = tsr__jpeg_decode_band(ctx, b, cuts[k], "band.jpg", 1, 32, 16, &img);
    if (st) {
      ck_assert_msg(img == NULL || img == reuse, "cut at %zu: the caller's band replaced on failure", cuts[k]);
      tsr_image_free(img); /* not taken: still ours; taken: already freed (NULL) */
    } else {
      ck_assert_msg(cuts[k] == n && img == reuse, "cut at %zu: decoded, or the band not reused", cuts[k]);
      tsr_image_free(img);
    }
  }
  free(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("io");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, png_roundtrip);
  tcase_add_test(tc, pnm_roundtrip);
  tcase_add_test(tc, jpeg_roundtrip);
  tcase_add_test(tc, jpeg_real_photo_and_metadata);
  tcase_add_test(tc, bad_inputs);
  tcase_add_test(tc, writes_are_atomic);
  tcase_add_test(tc, pnm_stream);
  tcase_add_test(tc, png_palette_and_low_depth_expand);
  tcase_add_test(tc, small_files_cannot_cost_gigabytes);
  tcase_add_test(tc, band_reuse_never_leaks);
  tcase_add_test(tc, progressive_jpeg_decodes_the_same);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
