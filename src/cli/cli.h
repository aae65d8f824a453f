/* The tessera command line: one file per command, sharing the options that
 * pick the device and its budget. */
#ifndef TSR_CLI_H
#define TSR_CLI_H

#include <getopt.h>

#include "tessera/tessera.h"

typedef struct {
  const char *device;
  uint64_t mem_budget;
  int threads;
  int json;
} cli_common;

/* Options every command takes; a command appends its own after these. */
#define CLI_COMMON_LONGOPTS                                         \
  {"device", required_argument, NULL, 'd'},                         \
  {"mem-budget", required_argument, NULL, 'm'},                     \
  {"threads", required_argument, NULL, 't'},                        \
  {"json", no_argument, NULL, 'J'},                                 \
  {"help", no_argument, NULL, 'h'}

/* Handles a common option; returns 1 if handled, 0 if not common, -1 on a
 * bad value (message printed). */
int cli_common_opt(int c, const char *arg, cli_common *o);
/* A context from the common options (device, budget, threads), its log
 * printed by the CLI. *ctx is set even on failure (its message says why). */
tsr_status cli_context(const cli_common *c, tsr_context **ctx);

/* The next option that is not a common one (those are stored in *common):
 * -1 at the end, 'h' for --help, '?' after a bad option or value (a
 * message is printed). */
int cli_next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts, cli_common *common);

/* Parses WxH: 1 when valid, 0 when not WxH, -1 when a side is outside
 * 1..TSR_MAX_DIM (nothing wraps: 4294967297x100 is out of range). */
int cli_parse_size(const char *s, int *w, int *h);
/* A whole decimal integer in [lo, hi]; 1 when valid. */
int cli_parse_long(const char *s, long lo, long hi, long *out);
/* A finite number in [lo, hi] (lo excluded with lo_open; NaN and inf
 * never pass); 1 when valid. */
int cli_parse_double(const char *s, double lo, double hi, int lo_open, double *out);
/* The message for a --size that cli_parse_size refused. */
#define CLI_SIZE_MSG(opt, arg, r)                                                                              \
  fprintf(stderr, (r) < 0 ? "tessera: %s '%s': each side must be 1 to 65535\n" : "tessera: %s '%s' is not WxH\n", \
          opt, arg)

/* While a job runs: SIGINT/SIGTERM cancel ctx (the job finishes what is in
 * flight); a second signal ends the process. */
void cli_signals_catch(tsr_context *ctx);
void cli_signals_release(void);

/* Exit status for a library status: 0 ok, 1 usage, 10 + |status| errors,
 * so each error class has its own code; a job cancelled by a signal gives
 * 128 + the signal (130 SIGINT, 143 SIGTERM). */
int cli_exit_code(tsr_status st);
/* The library's log lines, printed by the CLI (tsr_context_options.log). */
void cli_log(void *user, tsr_log_level level, const char *line);
/* --json: prints j on stdout and frees it; returns 0, or 1 when j is NULL
 * (out of memory). */
struct cJSON;
int cli_print_json(struct cJSON *j);

/* The bundled 8K sample frame: $TESSERA_SAMPLE, the source tree's copy or
 * the installed one; NULL if none is readable. */
const char *cli_sample_path(void);

int cmd_devices(int argc, char **argv);
int cmd_rig(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_stereo(int argc, char **argv);
int cmd_stereo_eval(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_manifest(int argc, char **argv);

#endif
