/* tessera: command dispatch and the options shared by every command. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

tsr_status cli_context(const cli_common *c, tsr_context **ctx) {
  tsr_context_options co;
  tsr_context_options_init(&co);
  co.device = c->device;
  co.mem_budget = c->mem_budget;
  co.threads = c->threads;
  co.log = cli_log; /* the library reports, the CLI prints */
  *ctx = NULL;
  return tsr_context_create(&co, ctx);
}

int cli_common_opt(int c, const char *arg, cli_common *o) {
  switch (c) {
  case 'd': o->device = arg; return 1;
  case 'm':
    if (tsr_parse_bytes(arg, &o->mem_budget) || !o->mem_budget) {
      fprintf(stderr, "tessera: --mem-budget '%s' is not a size (e.g. 2G, 512M)\n", arg);
      return -1;
    }
    return 1;
  case 't': {
    long n;
    if (!cli_parse_long(arg, 1, 4096, &n)) {
      fprintf(stderr, "tessera: --threads '%s' is not a thread count\n", arg);
      return -1;
    }
    o->threads = (int)n;
    return 1;
  }
  case 'J': o->json = 1; return 1;
  }
  return 0;
}

int cli_next_opt(int argc, char **argv, const char *shortopts, const struct option *longopts, cli_common *common) {
  for (;;) {
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (c == -1 || c == 'h' || c == '?') return c;
    int r = cli_common_opt(c, optarg, common);
    if (r < 0) return '?';
    if (r == 0) return c;
  }
}

/* One side of WxH: digits only, no sign, no overflow. */
static int parse_side(const char *s, const char **end, unsigned long long *v) {
  if (*s < '0' || *s > '9') return 0;
  errno = 0;
  char *e;
  *v = strtoull(s, &e, 10);
  *end = e;
  return errno == 0;
}

int cli_parse_size(const char *s, int *w, int *h) {
  unsigned long long a, b;
  const char *e;
  if (!parse_side(s, &e, &a)) return 0;
  if (*e != 'x' && *e != 'X') return 0;
  if (!parse_side(e + 1, &e, &b) || *e) return 0;
  if (a < 1 || b < 1 || a > TSR_MAX_DIM || b > TSR_MAX_DIM) return -1;
  *w = (int)a;
  *h = (int)b;
  return 1;
}

int cli_parse_long(const char *s, long lo, long hi, long *out) {
  if (!*s) return 0;
  errno = 0;
  char *e;
  long v = strtol(s, &e, 10);
  if (*e || errno || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

int cli_parse_double(const char *s, double lo, double hi, int lo_open, double *out) {
  if (!*s) return 0;
  errno = 0;
  char *e;
  double v = strtod(s, &e);
  if (*e || errno || !isfinite(v) || v < lo || v > hi || (lo_open && v == lo)) return 0;
  *out = v;
  return 1;
}

const char *cli_sample_path(void) {
  const char *env = getenv("TESSERA_SAMPLE");
  if (env && *env) return env;
  static const char *const where[] = {TSR_SAMPLE_SOURCE, TSR_SAMPLE_INSTALLED};
  for (size_t i = 0; i < sizeof where / sizeof *where; i++)
    if (access(where[i], R_OK) == 0) return where[i];
  return NULL;
}

static volatile sig_atomic_t g_signal;
static tsr_context *volatile g_ctx;

/* The first SIGINT/SIGTERM asks the job to finish the items in flight; a
 * second one ends the process at once. */
static void on_signal(int sig) {
  if (g_signal) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  g_signal = sig;
  if (g_ctx) tsr_context_cancel(g_ctx);
}

void cli_signals_catch(tsr_context *ctx) {
  g_ctx = ctx;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

void cli_signals_release(void) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  g_ctx = NULL;
}

void cli_log(void *user, tsr_log_level level, const char *line) {
  (void)user;
  fprintf(stderr, "tessera: %s%s\n", level == TSR_LOG_WARN ? "warning: " : "", line);
}

int cli_print_json(cJSON *j) {
  char *txt = j ? cJSON_Print(j) : NULL;
  if (txt) printf("%s\n", txt);
  free(txt);
  cJSON_Delete(j);
  return txt ? 0 : 1;
}

int cli_exit_code(tsr_status st) {
  if (st == TSR_E_CANCELLED) return 128 + (g_signal ? g_signal : SIGINT);
  return st == TSR_OK ? 0 : 10 - (int)st;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  devices     list OpenCL devices and the CPU backend, with memory budgets\n"
          "  rig list    the built-in rigs of 360° views; 'rig show NAME|FILE' one rig\n"
          "  split       360° equirectangular frames to perspective views (tessera split --help)\n"
          "  merge       a split's views back into an equirectangular panorama\n"
          "  stereo      disparity of rectified pairs, tiled from the memory budget\n"
          "  stereo-eval errors of a disparity map against ground truth\n"
          "  augment     dataset augmentation, the same bytes on every run, device and shard\n"
          "  manifest    manifest merge: join the manifests of augment's shards\n"
          "  bench       the same workloads on every device, measured the same way (tessera bench --help)\n"
          "\n"
          "options for every command:\n"
          "  --device auto|cpu|cl|cl:P.D|NAME   device to use (default $TESSERA_DEVICE or auto)\n"
          "  --mem-budget SIZE                  device memory to plan with, e.g. 2G\n"
          "  --threads N                        CPU threads (default: all)\n"
          "  --json                             machine-readable output\n"
          "  --version                          print the version\n");
}

/* Options every command takes may also come before the command
 * (tessera --device cpu split ...): they are moved behind it, where the
 * command's own parser reads them. Returns 0, or -1 when an option before
 * the command is not one of them. */
static int hoist_common(int argc, char **argv) {
  static const char *const with_value[] = {"--device", "--mem-budget", "--threads"};
  int i = 1;
  while (i < argc && argv[i][0] == '-' && argv[i][1] == '-' && strcmp(argv[i], "--help") && strcmp(argv[i], "--version")) {
    int n = 0;
    if (!strcmp(argv[i], "--json")) n = 1;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value && !n; k++) {
      size_t len = strlen(with_value[k]);
      if (!strncmp(argv[i], with_value[k], len) && argv[i][len] == '=') n = 1;
      else if (!strcmp(argv[i], with_value[k])) n = i + 1 < argc ? 2 : -1;
    }
    if (n <= 0) return -1;
    i += n;
  }
  if (i == 1 || i >= argc) return i >= argc && i > 1 ? -1 : 0;
  /* argv[1..i-1] are common options, argv[i] the command: rotate it first. */
  char *cmd = argv[i];
  memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof *argv);
  argv[1] = cmd;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 1;
  }
  if (hoist_common(argc, argv)) {
    fprintf(stderr, "tessera: before the command only --device, --mem-budget, --threads and --json may come\n");
    usage(stderr);
    return 1;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("tessera %s\n", TSR_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "devices")) return cmd_devices(argc - 1, argv + 1);
  if (!strcmp(cmd, "rig")) return cmd_rig(argc - 1, argv + 1);
  if (!strcmp(cmd, "split")) return cmd_split(argc - 1, argv + 1);
  if (!strcmp(cmd, "merge")) return cmd_merge(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
  if (!strcmp(cmd, "stereo")) return cmd_stereo(argc - 1, argv + 1);
  if (!strcmp(cmd, "stereo-eval")) return cmd_stereo_eval(argc - 1, argv + 1);
  if (!strcmp(cmd, "augment")) return cmd_augment(argc - 1, argv + 1);
  if (!strcmp(cmd, "manifest")) return cmd_manifest(argc - 1, argv + 1);
  fprintf(stderr, "tessera: unknown command '%s'\n", cmd);
  usage(stderr);
  return 1;
}
