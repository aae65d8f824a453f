/* Option values a user can get wrong: each is refused with a message
 * naming the option and its range, before anything runs; nothing wraps
 * (4294967297 is not 1) and nothing passes as NaN. The library refuses the
 * same values when a program passes them directly. */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "testutil.h"

START_TEST(bad_values_are_refused_by_name) {
  static const struct {
    const char *args, *says;
  } cases[] = {
      {"split IN -o OUT --size 4294967297x100", "each side must be 1 to 65535"},
      {"split IN -o OUT --size 70000x100", "each side must be 1 to 65535"},
      {"split IN -o OUT --size 10x", "is not WxH"},
      {"split IN -o OUT --size -5x10", "is not WxH"},
      {"split IN -o OUT --quality 4294967297", "--quality '4294967297': 1 to 100"},
      {"split IN -o OUT --hfov nan", "--hfov 'nan'"},
      {"split IN -o OUT --mask-nadir nan", "--mask-nadir 'nan'"},
      {"split IN -o OUT --fps inf", "--fps 'inf'"},
      {"split IN -o OUT --start nan", "--start 'nan'"},
      {"split IN -o OUT --batch 1e3", "--batch '1e3': 1 to 64"},
      {"split IN -o OUT --mem-budget nan", "--mem-budget 'nan' is not a size"},
      {"split IN -o OUT --threads 99999999999", "--threads '99999999999'"},
      {"merge OUT -o p.png --size 4294967297x2", "each side must be 1 to 65535"},
      {"merge OUT -o p.png", "the panorama's size"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char err[4096];
    int rc = tt_cli(cases[i].args, err, sizeof err);
    ck_assert_msg(rc == 1, "%s: exit %d", cases[i].args, rc);
    ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: said '%s'", cases[i].args, err);
  }
}
END_TEST

/* An error about a long path keeps its reason (the message used to be cut
 * at 1024 bytes). */
START_TEST(long_paths_keep_the_reason) {
  char *dir = tt_tempdir(), out[4096], args[8192], err[8192];
  snprintf(out, sizeof out, "%s/file", dir);
  tt_write_file(out, "x", 1);
  for (int i = 0; i < 30; i++) strcat(out, "/a_rather_long_folder_name_that_users_do_have_in_their_projects");
  snprintf(args, sizeof args, "split '%s/earth_2048x1024.jpg' -o '%s' --device cpu", TSR_TEST_DATA, out);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_uint_gt(strlen(out), 1500);
  ck_assert_msg(strstr(err, "Not a directory") != NULL, "%s", err);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* A missing input is named once on the terminal: in its own line without
 * -q (the summary then does not repeat it), in the summary with -q. */
START_TEST(missing_input_named_once) {
  char *dir = tt_tempdir(), args[8192], err[8192];
  for (int q = 0; q <= 1; q++) {
    snprintf(args, sizeof args, "split /nonexistent/missing_frame.jpg '%s/earth_2048x1024.jpg' -o '%s/o%d' --size 64x48 --device cpu%s",
             TSR_TEST_DATA, dir, q, q ? " -q" : "");
    ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
    int n = 0;
    for (const char *p = err; (p = strstr(p, "missing_frame.jpg")); p++) n++;
    ck_assert_msg(n == 1, "%s: named %d times: %s", q ? "-q" : "default", n, err);
  }
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Options every command takes may come before the command. */
START_TEST(common_options_before_the_command) {
  char err[4096];
  ck_assert_int_eq(tt_cli("--device cpu --threads=1 devices --json", err, sizeof err), 0);
  ck_assert_int_eq(tt_cli("--device=nosuchdevice split IN -o OUT", err, sizeof err), 10 - TSR_E_NO_DEVICE);
  ck_assert_msg(strstr(err, "nosuchdevice") != NULL, "%s", err);
  ck_assert_int_eq(tt_cli("--frobnicate split IN -o OUT", err, sizeof err), 1);
  ck_assert_msg(strstr(err, "before the command") != NULL, "%s", err);
  ck_assert_int_eq(tt_cli("--device", err, sizeof err), 1);
}
END_TEST

/* rig show --on draws on a screen-sized copy of the panorama (it used to
 * write the panorama's own size: 38 MB for 8K), --size W another width; a
 * narrower panorama is not enlarged. */
START_TEST(coverage_picture_is_screen_sized) {
  static const struct {
    const char *size;
    int w, h;
  } cases[] = {{"", 1920, 960}, {"--size 500", 500, 250}, {"--size 4000", 2048, 1024}};
  char *dir = tt_tempdir();
  tsr_context *ctx = NULL;
  tsr_context_options o = {.struct_size = sizeof o, .device = "cpu", .quiet = 1};
  ck_assert_int_eq(tsr_context_create(&o, &ctx), TSR_OK);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char args[8192], err[4096], out[4200];
    snprintf(out, sizeof out, "%s/c%zu.png", dir, i);
    snprintf(args, sizeof args, "rig show ring8 --on '%s/earth_2048x1024.jpg' -o '%s' %s", TSR_TEST_DATA, out,
             cases[i].size);
    ck_assert_msg(tt_cli(args, err, sizeof err) == 0, "%s: %s", args, err);
    tsr_image *im = NULL;
    ck_assert_int_eq(tsr_image_read(ctx, out, 0, &im), TSR_OK);
    ck_assert_msg(im->width == cases[i].w && im->height == cases[i].h, "%s: %dx%d", args, im->width, im->height);
    tsr_image_free(im);
  }
  char err[4096];
  ck_assert_int_eq(tt_cli("rig show ring8 --on x.jpg -o y.png --size 3", err, sizeof err), 1);
  ck_assert_msg(strstr(err, "--size '3'") != NULL, "%s", err);
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Runs the CLI with args; returns its exit status, its stdout parsed as
 * JSON in *json (NULL if it is not JSON) and its stderr in err. */
static int cli_json(const char *args, cJSON **json, char *err, size_t n) {
  char *dir = tt_tempdir(), cmd[20000], epath[4200], opath[4200];
  snprintf(epath, sizeof epath, "%s/err", dir);
  snprintf(opath, sizeof opath, "%s/out", dir);
  snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s' >'%s'", TSR_CLI_PATH, args, epath, opath);
  int st = system(cmd);
  FILE *f = fopen(epath, "r");
  size_t got = f ? fread(err, 1, n - 1, f) : 0;
  err[got] = 0;
  if (f) fclose(f);
  static char out[1 << 20];
  f = fopen(opath, "r");
  got = f ? fread(out, 1, sizeof out - 1, f) : 0;
  out[got] = 0;
  if (f) fclose(f);
  *json = cJSON_Parse(out);
  tt_rmtree(dir);
  free(dir);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --json means one thing for every command: the command's result as JSON
 * on stdout, nothing else there (bench --json once took a file name). */
START_TEST(json_means_json_everywhere) {
  char *dir = tt_tempdir(), args[8192], err[8192];
  cJSON *j;
  ck_assert_int_eq(cli_json("devices --json", &j, err, sizeof err), 0);
  ck_assert_msg(j != NULL, "devices: %s", err);
  cJSON_Delete(j);
  ck_assert_int_eq(cli_json("rig list --json", &j, err, sizeof err), 0);
  ck_assert_msg(cJSON_IsArray(j) && cJSON_GetArraySize(j) >= 4, "rig list: %s", err);
  cJSON_Delete(j);
  ck_assert_int_eq(cli_json("--json rig show cube", &j, err, sizeof err), 0);
  ck_assert_msg(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "views")) == 6, "rig show: %s", err);
  cJSON_Delete(j);
  snprintf(args, sizeof args, "split '%s/earth_2048x1024.jpg' -o '%s/out' --size 64x48 --device cpu --json",
           TSR_TEST_DATA, dir);
  ck_assert_int_eq(cli_json(args, &j, err, sizeof err), 0);
  ck_assert_msg(j && cJSON_GetObjectItem(j, "views_written") &&
                    cJSON_GetObjectItem(j, "views_written")->valueint == 8, "split: %s", err);
  cJSON_Delete(j);
  snprintf(args, sizeof args, "merge '%s/out' -o '%s/p.png' --size 128x64 --json", dir, dir);
  ck_assert_int_eq(cli_json(args, &j, err, sizeof err), 0);
  ck_assert_msg(j && cJSON_GetObjectItem(j, "width") && cJSON_GetObjectItem(j, "width")->valueint == 128, "merge: %s",
                err);
  cJSON_Delete(j);
  ck_assert_int_eq(cli_json("bench --device cpu --workloads copy --repeat 1 --quiet --json", &j, err, sizeof err), 0);
  ck_assert_msg(j && cJSON_GetObjectItem(j, "schema"), "bench: %s", err);
  cJSON_Delete(j);
  /* the old spelling is refused with the new one named */
  ck_assert_int_eq(cli_json("bench --json r.json", &j, err, sizeof err), 1);
  ck_assert_msg(strstr(err, "--json-file FILE") != NULL, "%s", err);
  cJSON_Delete(j);
  snprintf(args, sizeof args, "split IN -o '%s/o2' --json --stats x.json", dir);
  ck_assert_int_eq(cli_json(args, &j, err, sizeof err), 1);
  ck_assert_msg(strstr(err, "--stats") != NULL, "%s", err);
  cJSON_Delete(j);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

START_TEST(library_refuses_the_same) {
  uint64_t b = 7;
  ck_assert_int_eq(tsr_parse_bytes("nan", &b), TSR_E_INVALID);
  ck_assert_int_eq(tsr_parse_bytes("inf", &b), TSR_E_INVALID);
  ck_assert_int_eq(tsr_parse_bytes("-1", &b), TSR_E_INVALID);
  ck_assert_int_eq(tsr_parse_bytes("1.5G", &b), TSR_OK);
  ck_assert_uint_eq(b, 3ull << 29);
  tsr_context *ctx = tt_context("cpu");
  char *dir = tt_tempdir();
  const char *in[1] = {TSR_TEST_DATA "/earth_2048x1024.jpg"};
  tsr_split_options o = TSR_SPLIT_OPTIONS_INIT;
  o.outdir = dir;
  o.hfov = NAN;
  ck_assert_int_eq(tsr_split(ctx, &o, in, 1, NULL), TSR_E_INVALID);
  o.hfov = 0;
  o.mask_nadir = NAN;
  ck_assert_int_eq(tsr_split(ctx, &o, in, 1, NULL), TSR_E_INVALID);
  o.mask_nadir = 0;
  o.width = 70000;
  o.height = 10;
  ck_assert_int_eq(tsr_split(ctx, &o, in, 1, NULL), TSR_E_INVALID);
  o.width = o.height = 0;
  o.fps = NAN;
  ck_assert_int_eq(tsr_split(ctx, &o, in, 1, NULL), TSR_E_INVALID);
  /* a refusal still hands back zeroed statistics, not the caller's garbage */
  tsr_split_stats st, zero;
  memset(&st, 0x5A, sizeof st);
  memset(&zero, 0, sizeof zero);
  ck_assert_int_eq(tsr_split(ctx, &o, in, 1, &st), TSR_E_INVALID);
  ck_assert_msg(!memcmp(&st, &zero, sizeof st), "statistics not zeroed on an invalid option");
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

typedef struct {
  pthread_mutex_t lock;
  char text[8192];
  int errors, warnings;
} log_sink;

static void sink(void *user, tsr_log_level level, const char *line) {
  log_sink *l = user;
  pthread_mutex_lock(&l->lock);
  strncat(l->text, line, sizeof l->text - strlen(l->text) - 2);
  strcat(l->text, "\n");
  l->errors += level == TSR_LOG_ERROR;
  l->warnings += level == TSR_LOG_WARN;
  pthread_mutex_unlock(&l->lock);
}

/* The library's messages go to the caller's log callback, never to stderr
 * behind its back. */
START_TEST(messages_go_to_the_log_callback) {
  char *dir = tt_tempdir(), bad[4200], errfile[4200];
  snprintf(bad, sizeof bad, "%s/empty.jpg", dir);
  tt_write_file(bad, "", 0);
  snprintf(errfile, sizeof errfile, "%s/stderr", dir);
  log_sink l = {.lock = PTHREAD_MUTEX_INITIALIZER};
  tsr_context_options co = TSR_CONTEXT_OPTIONS_INIT;
  co.device = "cpu";
  co.log = sink;
  co.log_user = &l;
  tsr_context *ctx;
  ck_assert_int_eq(tsr_context_create(&co, &ctx), TSR_OK);
  const char *in[2] = {TSR_TEST_DATA "/earth_2048x1024.jpg", bad};
  tsr_split_options o = TSR_SPLIT_OPTIONS_INIT;
  char out[4400];
  snprintf(out, sizeof out, "%s/out", dir);
  o.outdir = out;
  o.width = 64;
  o.height = 48;
  fflush(stderr);
  int saved = dup(2), fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, 2);
  tsr_split_stats s;
  tsr_status st = tsr_split(ctx, &o, in, 2, &s);
  fflush(stderr);
  dup2(saved, 2);
  close(fd);
  close(saved);
  ck_assert_int_eq(st, TSR_E_EMPTY);
  ck_assert_int_eq(s.frames_done, 1);
  ck_assert_int_eq(l.errors, 1);
  /* "skipped DIR/empty.jpg: <reason>": the file named once */
  const char *at = strstr(l.text, "empty.jpg");
  ck_assert_msg(strstr(l.text, "skipped ") && at && !strstr(at + 1, "empty.jpg"), "%s", l.text);
  struct stat sb;
  ck_assert_int_eq(stat(errfile, &sb), 0);
  ck_assert_int_eq(sb.st_size, 0); /* nothing on stderr */
  tsr_context_destroy(ctx);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Two runs on one output folder: the second is refused while the first
 * writes; the first completes with each manifest line once. */
START_TEST(one_run_per_output_folder) {
  char *dir = tt_tempdir(), out[4200], args[8192], err[4096], p[4400];
  snprintf(out, sizeof out, "%s/out", dir);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    execl(TSR_CLI_PATH, "tessera", "split", TSR_TEST_DATA "/earth_2048x1024.jpg", "-o", out, "--rig", "dome16",
          "--size", "480x360", "--interp", "lanczos3", "--threads", "1", "-q", "--device", "cpu", (char *)NULL);
    _exit(127);
  }
  snprintf(p, sizeof p, "%s/run.json", out);
  double t0 = tsr__now();
  while (!tt_file_exists(p) && tsr__now() - t0 < 30) usleep(1000);
  snprintf(args, sizeof args, "split '%s/earth_2048x1024.jpg' -o '%s' --rig dome16 --size 480x360 --interp lanczos3 -q "
           "--device cpu", TSR_TEST_DATA, out);
  int rc = tt_cli(args, err, sizeof err);
  int status;
  waitpid(pid, &status, 0);
  ck_assert_msg(rc == 10 - TSR_E_BUSY, "second run: exit %d: %s", rc, err);
  ck_assert_msg(strstr(err, "another tessera run") != NULL, "%s", err);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  snprintf(p, sizeof p, "%s/manifest.jsonl", out);
  FILE *f = fopen(p, "r");
  int lines = 0, c;
  while ((c = fgetc(f)) != EOF) lines += c == '\n';
  fclose(f);
  ck_assert_int_eq(lines, 16);
  /* Once it is done, the folder is free again: the re-run resumes. */
  ck_assert_int_eq(tt_cli(args, err, sizeof err), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* Links inside the output folder are never written through: a manifest or
 * a view folder that points elsewhere is refused, the target untouched. */
START_TEST(links_in_the_output_folder_are_refused) {
  char *dir = tt_tempdir(), out[4200], p[4400], q[4400], args[8192], err[8192];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(args, sizeof args, "split '%s/earth_2048x1024.jpg' -o '%s' --size 64x48 --device cpu", TSR_TEST_DATA, out);
  ck_assert_int_eq(tt_cli(args, err, sizeof err), 0);
  snprintf(p, sizeof p, "%s/precious.txt", dir);
  tt_write_file(p, "keep me\n", 8);
  snprintf(q, sizeof q, "%s/manifest.jsonl", out);
  unlink(q);
  ck_assert_int_eq(symlink(p, q), 0);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
  struct stat sb;
  ck_assert_int_eq(stat(p, &sb), 0);
  ck_assert_int_eq(sb.st_size, 8); /* not truncated, not appended to */
  unlink(q);
  snprintf(q, sizeof q, "%s/y090_p+00", out);
  snprintf(p, sizeof p, "%s/elsewhere", dir);
  mkdir(p, 0755);
  tt_rmtree(q);
  ck_assert_int_eq(symlink(p, q), 0);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "y090_p+00 is a symbolic link") != NULL, "%s", err);
  ck_assert_int_eq(tt_dir_entries(p), 0);
  /* the masks folder too (--mask-nadir), in a folder of its own */
  char out2[4300];
  snprintf(out2, sizeof out2, "%s/out2", dir);
  mkdir(out2, 0755);
  snprintf(q, sizeof q, "%s/masks", out2);
  ck_assert_int_eq(symlink(p, q), 0);
  snprintf(args, sizeof args, "split '%s/earth_2048x1024.jpg' -o '%s' --size 64x48 --device cpu --mask-nadir 30",
           TSR_TEST_DATA, out2);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "masks is a symbolic link") != NULL, "%s", err);
  ck_assert_int_eq(tt_dir_entries(p), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* A write that fails (here: over the file size limit, EFBIG) names its
 * reason, leaves no partial or temporary file, and a re-run without the
 * limit completes. */
START_TEST(write_failures_name_their_reason) {
  char *dir = tt_tempdir(), out[4200], cmd[8192], err[8192];
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(cmd, sizeof cmd,
           "sh -c \"trap '' XFSZ; ulimit -f 40; exec '%s' split '%s/earth_2048x1024.jpg' -o '%s' --size 1024x768 "
           "--device cpu -q\" 2>'%s/err'",
           TSR_CLI_PATH, TSR_TEST_DATA, out, dir);
  ck_assert_int_ne(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/err", dir);
  FILE *f = fopen(cmd, "r");
  size_t got = fread(err, 1, sizeof err - 1, f);
  err[got] = 0;
  fclose(f);
  ck_assert_msg(strstr(err, "File too large") != NULL, "%s", err);
  snprintf(cmd, sizeof cmd, "find '%s' -name '.*.tmp.*' | grep -q .", out);
  ck_assert_int_ne(system(cmd), 0); /* no temporary file left */
  snprintf(cmd, sizeof cmd, "'%s' split '%s/earth_2048x1024.jpg' -o '%s' --size 1024x768 --device cpu -q", TSR_CLI_PATH,
           TSR_TEST_DATA, out);
  ck_assert_int_eq(system(cmd), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* A full disk: a small tmpfs where the test may mount one (root with
 * CAP_SYS_ADMIN), else an injected ENOSPC. The run fails naming the
 * reason and leaves no partial file; once there is room, the same command
 * completes the run, and the outputs are byte for byte those of a clean
 * run. */
START_TEST(full_disk_names_the_reason_and_resumes) {
  char *dir = tt_tempdir(), cmd[16384], err[8192], small[4200];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/in' '%s/small' && for i in 1 2 3; do cp '%s/earth_2048x1024.jpg' '%s/in/'f$i.jpg; done",
           dir, dir, TSR_TEST_DATA, dir);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(small, sizeof small, "%s/small", dir);
  snprintf(cmd, sizeof cmd, "'%s' split '%s/in' -o '%s/ref' --size 256x256 --device cpu -q", TSR_CLI_PATH, dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=100k tmpfs '%s' 2>/dev/null && mountpoint -q '%s'", small, small);
  int tmpfs = !getenv("TSR_TEST_NO_TMPFS") && geteuid() == 0 && system(cmd) == 0; /* TSR_TEST_NO_TMPFS: the injection */
  printf("cli: full disk %s\n", tmpfs ? "on a 100 KiB tmpfs" : "injected (TESSERA_FAULT_WRITE_LIMIT: no tmpfs can be mounted here)");
  snprintf(cmd, sizeof cmd, "%s'%s' split '%s/in' -o '%s/out' --size 256x256 --device cpu -q 2>'%s/err'",
           tmpfs ? "" : "TESSERA_FAULT_WRITE_LIMIT=100000 ", TSR_CLI_PATH, dir, small, dir);
  ck_assert_int_ne(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/err", dir);
  FILE *f = fopen(cmd, "r");
  size_t got = f ? fread(err, 1, sizeof err - 1, f) : 0;
  err[got] = 0;
  if (f) fclose(f);
  ck_assert_msg(strstr(err, "No space left on device") != NULL, "%s", err);
  snprintf(cmd, sizeof cmd, "find '%s' -name '.*.tmp.*' | grep -q .", small);
  ck_assert_int_ne(system(cmd), 0); /* no partial file */
  if (tmpfs) {
    snprintf(cmd, sizeof cmd, "mount -o remount,size=64m '%s'", small);
    ck_assert_int_eq(system(cmd), 0);
  }
  snprintf(cmd, sizeof cmd, "'%s' split '%s/in' -o '%s/out' --size 256x256 --device cpu -q", TSR_CLI_PATH, dir, small);
  ck_assert_int_eq(system(cmd), 0);
  /* every file of the clean run, the same bytes (the manifest's lines in
   * any order: frames complete in another order) */
  snprintf(cmd, sizeof cmd,
           "cd '%s/ref' && for f in $(find . -type f ! -name manifest.jsonl ! -name run.json ! -name '.tessera*'); do "
           "cmp -s \"$f\" '%s/out/'\"$f\" || { echo \"differs: $f\"; exit 1; }; done && "
           "sort manifest.jsonl > '%s/a' && sort '%s/out/manifest.jsonl' > '%s/b' && cmp '%s/a' '%s/b'",
           dir, small, dir, small, dir, dir, dir);
  char cmp[16500];
  snprintf(cmp, sizeof cmp, "(%s) >'%s/cmp' 2>&1", cmd, dir);
  int differ = system(cmp);
  snprintf(cmd, sizeof cmd, "%s/cmp", dir);
  f = fopen(cmd, "r");
  got = f ? fread(err, 1, sizeof err - 1, f) : 0;
  err[got] = 0;
  if (f) fclose(f);
  ck_assert_msg(differ == 0, "not the clean run's bytes: %s", err);
  snprintf(cmd, sizeof cmd, "test $(find '%s/ref' -name '*.jpg' | wc -l) -eq 24", dir);
  ck_assert_msg(system(cmd) == 0, "the clean run has not 24 views");
  if (tmpfs) {
    snprintf(cmd, sizeof cmd, "umount '%s'", small);
    ck_assert_int_eq(system(cmd), 0);
  }
  tt_rmtree(dir);
  free(dir);
}
END_TEST

/* A manifest line cut short (a disk filling mid-line, injected with
 * TESSERA_FAULT_MANIFEST_AFTER) fails its frame with the reason, is taken
 * back so the manifest has no torn line, counts the frame once, and the
 * re-run completes the manifest: 24 unique lines for 3 frames of ring8. */
START_TEST(manifest_short_write_named_and_taken_back) {
  char *dir = tt_tempdir(), cmd[16384], err[8192];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s/in' && for i in 1 2 3; do cp '%s/earth_2048x1024.jpg' '%s/in/'f$i.jpg; done",
           dir, TSR_TEST_DATA, dir);
  ck_assert_int_eq(system(cmd), 0);
  char args[8192];
  snprintf(args, sizeof args, "split '%s/in' -o '%s/o' --size 64x48 --device cpu --threads 1", dir, dir);
  setenv("TESSERA_FAULT_MANIFEST_AFTER", "10", 1);
  ck_assert_int_ne(tt_cli(args, err, sizeof err), 0);
  unsetenv("TESSERA_FAULT_MANIFEST_AFTER");
  ck_assert_msg(strstr(err, "manifest.jsonl: only") && strstr(err, "disk full?"), "%s", err);
  int written = -1, complete = -1, failed = -1;
  const char *sum = strstr(err, "split: ");
  ck_assert_msg(sum && sscanf(sum, "split: %d frames written, %d already complete, %d failed", &written, &complete,
                              &failed) == 3, "%s", err);
  ck_assert_int_eq(written + complete + failed, 3);
  ck_assert_int_gt(failed, 0);
  snprintf(cmd, sizeof cmd, "%s/o/manifest.jsonl", dir);
  FILE *f = fopen(cmd, "rb");
  ck_assert_ptr_nonnull(f);
  int lines = 0, c, last = '\n';
  while ((c = fgetc(f)) != EOF) lines += (last = c) == '\n';
  fclose(f);
  ck_assert_int_eq(lines, 10);
  ck_assert_int_eq(last, '\n'); /* no torn line */
  ck_assert_int_eq(tt_cli(args, err, sizeof err), 0);
  snprintf(cmd, sizeof cmd, "test $(sort -u '%s/o/manifest.jsonl' | wc -l) -eq 24", dir);
  ck_assert_int_eq(system(cmd), 0);
  tt_rmtree(dir);
  free(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("options");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, bad_values_are_refused_by_name);
  tcase_add_test(tc, common_options_before_the_command);
  tcase_add_test(tc, long_paths_keep_the_reason);
  tcase_add_test(tc, library_refuses_the_same);
  tcase_add_test(tc, coverage_picture_is_screen_sized);
  tcase_add_test(tc, json_means_json_everywhere);
  tcase_add_test(tc, missing_input_named_once);
  tcase_add_test(tc, messages_go_to_the_log_callback);
  tcase_add_test(tc, one_run_per_output_folder);
  tcase_add_test(tc, links_in_the_output_folder_are_refused);
  tcase_add_test(tc, write_failures_name_their_reason);
  tcase_add_test(tc, full_disk_names_the_reason_and_resumes);
  tcase_add_test(tc, manifest_short_write_named_and_taken_back);
  suite_add_tcase(s, tc);
  return tt_run(s);
}
