/* tessera bench: options only; the workloads and reports are in
 * src/bench*.c. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/bench/bench.h"
#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera bench [--device all|LIST] [--suite quick|full] [--repeat N] [--workloads LIST]\n"
          "                     [--json] [--json-file FILE] [--html FILE] [--compare BASE.json] [--results DIR]\n"
          "\n"
          "Runs the same workloads on every selected device, measured the same way, and checks each\n"
          "device's output against the CPU backend's (a difference above tolerance is FAILED).\n"
          "\n"
          "  --device all|LIST   'all': every device, PoCL included; LIST: comma-separated ids or names\n"
          "                      (cpu, cl:0.0, nvidia, ...). Default: the OpenCL GPUs and accelerators\n"
          "                      and the CPU backend\n"
          "  --suite quick|full  quick (default): small sizes, 3 measurements, under a minute on 2\n"
          "                      cores; full: 8K frames, 5 measurements\n"
          "  --repeat N          measurements per figure (median, min, max are reported)\n"
          "  --workloads LIST    a subset of copy,transfer,warp,split-8k,stereo,augment\n"
          "  --frame JPEG        the 8K equirectangular frame (default: the bundled sample)\n"
          "  --json              the results as JSON on stdout instead of the table (schema: bench/README.md)\n"
          "  --json-file FILE    the results as JSON into FILE, beside the table\n"
          "  --html FILE         one self-contained page of bar charts and the parity table\n"
          "  --compare BASE.json ratio current/base per figure, flagging changes beyond min-max noise\n"
          "  --results DIR       also write DIR/<vendor>/<device>.json for each device\n"
          "  --quiet             no progress lines on stderr\n"
          "\n"
          "Exit status: 0 all ran and agree with the CPU backend, 3 some device FAILED parity,\n"
          "4 some workload could not run, 1 bad usage.\n");
}

static int add_device(const tsr_device_info **sel, int *n, int max, const tsr_device_info *d) {
  for (int i = 0; i < *n; i++)
    if (sel[i] == d) return 0;
  if (*n >= max) return -1;
  sel[(*n)++] = d;
  return 0;
}

/* The devices to run on, in registry order for `all` and the default. */
static int select_devices(const char *spec, const tsr_device_info **sel, int max) {
  const tsr_device_info *devs;
  int n = 0, count;
  tsr_devices(&devs, &count, NULL);
  if (!spec || !strcmp(spec, "all")) {
    for (int i = 0; i < count; i++)
      if (devs[i].usable && (spec || devs[i].type != TSR_DEVTYPE_CL_CPU)) add_device(sel, &n, max, &devs[i]);
    return n;
  }
  char *copy = strdup(spec), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    tsr_status st;
    char why[512];
    const tsr_device_info *d = tsr__device_find(tok, &st, why, sizeof why);
    if (!d) {
      fprintf(stderr, "tessera: --device %s: %s\n", tok, why);
      free(copy);
      return -1;
    }
    add_device(sel, &n, max, d);
  }
  free(copy);
  return n;
}

static int write_json(const tsr__bench_report *rep, const char *path) {
  cJSON *j = tsr__bench_to_json(rep);
  tsr_status st = tsr__write_json(NULL, path, j);
  cJSON_Delete(j);
  if (st) fprintf(stderr, "tessera: cannot write %s\n", path);
  return st ? -1 : 0;
}

/* DIR/<vendor>/<device>.json, one device per file. */
static int write_results(const tsr__bench_report *rep, const char *dir, int verbose) {
  for (int i = 0; i < rep->ndev; i++) {
    char vendor[128], dev[256], path[4600];
    tsr__bench_result_path(&rep->dev[i].dev, vendor, sizeof vendor, dev, sizeof dev);
    snprintf(path, sizeof path, "%s/%s", dir, vendor);
    if (tsr__mkdirs(path)) {
      fprintf(stderr, "tessera: cannot create %s\n", path);
      return -1;
    }
    snprintf(path, sizeof path, "%s/%s/%s.json", dir, vendor, dev);
    tsr__bench_report one = *rep;
    one.dev = &rep->dev[i];
    one.ndev = 1;
    if (write_json(&one, path)) return -1;
    if (verbose) fprintf(stderr, "bench: wrote %s\n", path);
  }
  return 0;
}

int cmd_bench(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {"suite", required_argument, NULL, 'S'},
                                           {"repeat", required_argument, NULL, 'r'},
                                           {"workloads", required_argument, NULL, 'W'},
                                           {"frame", required_argument, NULL, 'F'},
                                           {"json-file", required_argument, NULL, 'j'},
                                           {"html", required_argument, NULL, 'H'},
                                           {"compare", required_argument, NULL, 'C'},
                                           {"results", required_argument, NULL, 'R'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {NULL, 0, NULL, 0}};
  /* --json is a flag, as for every command; it once took a file name. */
  for (int i = 1; i < argc; i++)
    if ((!strcmp(argv[i], "--json") && i + 1 < argc && argv[i + 1][0] != '-') || !strncmp(argv[i], "--json=", 7)) {
      fprintf(stderr, "tessera: bench --json takes no file name: it prints the results as JSON on stdout; "
                      "--json-file FILE writes them into FILE\n");
      return 1;
    }
  cli_common common = {0};
  tsr__bench_options o = {.suite = "quick", .progress = 1};
  const char *json = NULL, *html = NULL, *base = NULL, *results = NULL;
  int c;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "h", longopts, &common)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return 0;
    case 'S':
      if (strcmp(optarg, "quick") && strcmp(optarg, "full")) {
        fprintf(stderr, "tessera: --suite '%s': quick or full\n", optarg);
        return 1;
      }
      o.suite = optarg;
      break;
    case 'r': {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || n < 1 || n > TSR_BENCH_MAX_SAMPLES) {
        fprintf(stderr, "tessera: --repeat '%s': 1 to %d\n", optarg, TSR_BENCH_MAX_SAMPLES);
        return 1;
      }
      o.repeat = (int)n;
      break;
    }
    case 'W': {
      char *copy = strdup(optarg), *save = NULL;
      for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, "copy") && strcmp(t, "transfer") && strcmp(t, "warp") && strcmp(t, "split-8k") &&
            strcmp(t, "stereo") && strcmp(t, "augment")) {
          fprintf(stderr, "tessera: --workloads: unknown workload '%s' (%s)\n", t, TSR_BENCH_WORKLOADS);
          free(copy);
          return 1;
        }
      free(copy);
      o.workloads = optarg;
      break;
    }
    case 'F': o.frame = optarg; break;
    case 'j': json = optarg; break;
    case 'H': html = optarg; break;
    case 'C': base = optarg; break;
    case 'R': results = optarg; break;
    case 'q': o.progress = 0; break;
    default: usage(stderr); return 1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "tessera: bench takes no arguments ('%s')\n", argv[optind]);
    return 1;
  }
  o.threads = common.threads;
  o.mem_budget = common.mem_budget;
  if (!o.frame) o.frame = cli_sample_path(); /* NULL: only copy and transfer can run */
  char err[512] = "";
  tsr__bench_report baserep = {0};
  if (base && tsr__bench_load(base, &baserep, err, sizeof err)) { /* fail before the long run */
    fprintf(stderr, "tessera: --compare %s\n", err);
    return 1;
  }
  const tsr_device_info *sel[64];
  int n = select_devices(common.device, sel, 64); /* a list here, not one device */
  if (n <= 0) {
    if (n == 0) fprintf(stderr, "tessera: no device selected\n");
    tsr__bench_report_free(&baserep);
    return 1;
  }
  tsr__bench_report rep;
  tsr_status st = tsr__bench_run(&o, sel, n, &rep, err, sizeof err);
  if (st) {
    fprintf(stderr, "tessera: bench: %s\n", err[0] ? err : tsr_strerror(st));
    tsr__bench_report_free(&rep);
    tsr__bench_report_free(&baserep);
    return cli_exit_code(st);
  }
  /* With --json, stdout holds the JSON alone; the table and comparison go
   * to stderr. */
  FILE *text = common.json ? stderr : stdout;
  tsr__bench_print_table(&rep, text);
  int rc = 0;
  if (base) {
    tsr__bench_cmp *cmp;
    int nc = tsr__bench_compare(&baserep, &rep, &cmp);
    fprintf(text, "\ncompared with %s (tessera %s, git %s, %s)\n", base, baserep.tessera_version, baserep.git,
            baserep.created);
    tsr__bench_print_compare(cmp, nc, text);
    free(cmp);
  }
  if (common.json && cli_print_json(tsr__bench_to_json(&rep))) rc = 1;
  if (json && write_json(&rep, json)) rc = 1;
  if (results && write_results(&rep, results, o.progress)) rc = 1;
  if (html) {
    tsr_context *ctx = NULL;
    tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
    if (tsr_context_create(&co, &ctx) || tsr__bench_write_html(ctx, &rep, html)) {
      fprintf(stderr, "tessera: cannot write %s: %s\n", html, tsr_context_error(ctx));
      rc = 1;
    }
    tsr_context_destroy(ctx);
  }
  int failed = 0, errors = 0;
  for (int i = 0; i < rep.ndev; i++)
    for (int k = 0; k < rep.dev[i].nwl; k++) {
      failed |= rep.dev[i].wl[k].state == TSR_BENCH_FAILED;
      errors |= rep.dev[i].wl[k].state == TSR_BENCH_ERROR;
    }
  if (!rc) rc = failed ? 3 : errors ? 4 : 0;
  tsr__bench_report_free(&rep);
  tsr__bench_report_free(&baserep);
  return rc;
}
