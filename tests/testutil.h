/* Helpers shared by the Check suites: which backends to run on, scratch
 * folders, and image comparison. */
#ifndef TSR_TESTUTIL_H
#define TSR_TESTUTIL_H

#include <check.h>

#include "tessera/tessera.h"

/* Whether a usable OpenCL device exists, probed in a child process so the
 * test runner itself never initialises a driver before forking tests.
 * name receives "cl:0.0 (pthread-... on Portable Computing Language)". */
int tt_opencl_present(char *name, size_t len);

/* Adds the suite's backends to tc: the CPU backend always, OpenCL when
 * present. When TSR_TEST_REQUIRE_OPENCL=1 and no OpenCL device exists,
 * returns 0 (the runner must fail). Prints the devices used. */
int tt_backend_count(const char *suite, int *count);
/* The --device string for loop index i (0 = "cpu", 1 = "cl"). */
const char *tt_backend(int i);
tsr_context *tt_context(const char *device);

/* A fresh empty folder under $TMPDIR; caller frees the string. */
char *tt_tempdir(void);
void tt_rmtree(const char *dir);
/* Writes bytes to a file. */
void tt_write_file(const char *path, const void *data, size_t n);
int tt_file_exists(const char *path);
/* Runs the tessera CLI with args (shell-quoted by the caller); returns
 * its exit status and the start of its stderr in err. */
int tt_cli(const char *args, char *err, size_t n);
/* Counts entries of a folder (excluding . and ..). */
int tt_dir_entries(const char *dir);

/* Fills img with a deterministic pattern (seeded). */
void tt_fill_random(tsr_image *img, unsigned seed);
void tt_fill_smooth(tsr_image *img, unsigned seed);
/* Max absolute sample difference of two same-shaped images. */
int tt_max_diff(const tsr_image *a, const tsr_image *b);
double tt_psnr(const tsr_image *a, const tsr_image *b);
/* Reference sampling in double precision: one sample with a border rule
 * (TSR_BORDER_*), and bilinear interpolation at source position (u, v). */
double tt_ref_fetch(const tsr_image *s, int border, long x, long y, int c);
double tt_ref_bilinear(const tsr_image *s, int border, double u, double v, int c);
/* Any tsr_interp at (u, v), in double, unclamped. */
double tt_ref_interp(const tsr_image *s, int interp, int border, double u, double v, int c);
/* Channel TT_PREMUL + c of an image with alpha (2 or 4 channels, the last):
 * colour c times alpha, for references of premultiplied resampling (the
 * reference functions are linear in what tt_ref_fetch returns). */
#define TT_PREMUL 64
/* tt_ref_interp as tessera resamples images with alpha: a colour is the
 * interpolation of alpha x colour over that of alpha (0 where either is not
 * positive); nearest, alpha itself and images without alpha as
 * tt_ref_interp. Unclamped above. */
double tt_ref_interp_alpha(const tsr_image *s, int interp, int border, double u, double v, int c);
/* Reads an image (the test fails if it cannot). */
tsr_image *tt_load(const char *path);
/* A context on device with a memory budget (0: the device's), quiet. */
tsr_context *tt_context_budget(const char *device, uint64_t budget);
/* Largest sample difference between two split output folders over every
 * view of rig for one frame (stem) written as ext. */
int tt_split_diff(const char *a, const char *b, const char *rig, const char *stem, const char *ext);
/* tsr_split on a fresh quiet context on device (threads 0: all); the
 * context's message goes to err when not NULL. */
tsr_status tt_split(const char *device, int threads, const tsr_split_options *o, const char **in, int n,
                    tsr_split_stats *s, char *err, size_t errlen);
/* Runs a suite; returns the process exit code (1 if a test failed or a
 * required backend was missing). */
int tt_run(Suite *s);

#endif
