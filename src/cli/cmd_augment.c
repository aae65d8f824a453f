/* tessera augment INPUT... -o OUT --seed S --copies N --ops "OPS" and
 * tessera manifest merge: deterministic dataset augmentation
 * (tsr_augment) and the join of its shards' manifests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera augment INPUT... -o OUT --ops \"OPS\" [options]\n"
          "\n"
          "INPUT: image files (jpg, png, ppm, pgm, pam), folders of them (walked\n"
          "recursively; the first folder level is the label) and video files (one clip\n"
          "each), or - (a PPM/PAM stream on stdin, alone). Outputs:\n"
          "OUT/<path below its input>_aug<k>.<ext>, a folder of frames\n"
          "per clip (or one .npy), and OUT/manifest.csv.\n"
          "\n"
          "  -o, --output DIR     output folder\n"
          "      --ops \"OPS\"      the ops, e.g. \"rrc(size=224); hflip; jitter(brightness=0.4)\":\n"
          "                       rrc(size=,scale=0.08:1,ratio=0.75:1.3333,interp=bilinear)\n"
          "                       hflip(p=0.5) vflip(p=0.5) rotate(deg=,border=constant,fill=0,p=1)\n"
          "                       affine(translate=0,scale=1:1,shear=0,deg=0,border=,fill=,p=1)\n"
          "                       jitter(brightness=0,contrast=0,saturation=0,hue=0,p=1) gray(p=0.1)\n"
          "                       blur(sigma=0.1:2,p=0.5) erase(area=0.02:0.33,ratio=0.3:3.3,value=0,p=0.5)\n"
          "                       resize(size=N|WxH,interp=bilinear,aa=1) ccrop(size=) letterbox(size=,fill=114)\n"
          "      --seed S         the key of every draw (default 0)\n"
          "      --copies N       outputs per input (default 1)\n"
          "      --frames K       frames per video clip, spread evenly (default 16)\n"
          "      --format F       auto (JPEG stays JPEG, the rest PNG), png, jpg or npy\n"
          "      --quality Q      JPEG quality (default 95)\n"
          "      --png-level L    PNG compression, zlib's 1..9 (default 1, the fastest)\n"
          "      --folds K        a fold per input from its key, stratified by label\n"
          "      --shard I/N      do shard I (0..N-1) of N; the shards' union is one run's output\n"
          "      --batch N        items per device batch\n"
          "      --full-decode    never decode a JPEG at a reduced DCT scale\n"
          "      --overwrite      redo everything (a re-run otherwise resumes)\n"
          "      --device D       auto, cpu, or an OpenCL device (tessera devices)\n"
          "      --mem-budget B   device memory to plan with\n"
          "      --threads N      CPU threads\n"
          "      --json           the summary as JSON\n"
          "\n"
          "usage: tessera manifest merge MANIFEST.csv... -o OUT.csv\n");
}

int cmd_augment(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {"output", required_argument, NULL, 'o'},
                                           {"ops", required_argument, NULL, 'O'},
                                           {"seed", required_argument, NULL, 'S'},
                                           {"copies", required_argument, NULL, 'c'},
                                           {"frames", required_argument, NULL, 'f'},
                                           {"format", required_argument, NULL, 'F'},
                                           {"quality", required_argument, NULL, 'q'},
                                           {"png-level", required_argument, NULL, 'p'},
                                           {"folds", required_argument, NULL, 'k'},
                                           {"shard", required_argument, NULL, 's'},
                                           {"batch", required_argument, NULL, 'b'},
                                           {"full-decode", no_argument, NULL, 'D'},
                                           {"overwrite", no_argument, NULL, 'W'},
                                           {NULL, 0, NULL, 0}};
  cli_common common = {0};
  tsr_augment_options o = TSR_AUGMENT_OPTIONS_INIT;
  long v;
  int c;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "o:h", longopts, &common)) != -1) {
#define INT_OPT(opt, lo, hi, dst)                                                                                  \
  if (!cli_parse_long(optarg, lo, hi, &v)) {                                                                     \
    fprintf(stderr, "tessera: %s '%s': expected an integer in %ld..%ld\n", opt, optarg, (long)(lo), (long)(hi)); \
    return 1;                                                                                                    \
  }                                                                                                              \
  dst = (int)v
    switch (c) {
    case 'h': usage(stdout); return 0;
    case 'o': o.outdir = optarg; break;
    case 'O': o.ops = optarg; break;
    case 'S': {
      char *end = NULL;
      errno = 0;
      unsigned long long s = strtoull(optarg, &end, 10);
      if (!*optarg || *end || errno || optarg[0] == '-') {
        fprintf(stderr, "tessera: --seed '%s': expected an integer in 0..18446744073709551615\n", optarg);
        return 1;
      }
      o.seed = s;
      break;
    }
    case 'c': INT_OPT("--copies", 1, 100000, o.copies); break;
    case 'f': INT_OPT("--frames", 1, 4096, o.frames); break;
    case 'q': INT_OPT("--quality", 1, 100, o.quality); break;
    case 'p': INT_OPT("--png-level", 1, 9, o.png_level); break;
    case 'k': INT_OPT("--folds", 0, 1000, o.folds); break;
    case 'b': INT_OPT("--batch", 1, 256, o.batch); break;
    case 'F':
      if (!strcasecmp(optarg, "auto")) o.format = TSR_AUG_OUT_AUTO;
      else if (!strcasecmp(optarg, "png")) o.format = TSR_AUG_OUT_PNG;
      else if (!strcasecmp(optarg, "jpg") || !strcasecmp(optarg, "jpeg")) o.format = TSR_AUG_OUT_JPEG;
      else if (!strcasecmp(optarg, "npy")) o.format = TSR_AUG_OUT_NPY;
      else {
        fprintf(stderr, "tessera: --format '%s': expected auto, png, jpg or npy\n", optarg);
        return 1;
      }
      break;
    case 's': {
      int i = -1, n = -1, used = 0;
      if (sscanf(optarg, "%d/%d%n", &i, &n, &used) != 2 || optarg[used] || n < 1 || n > 100000 || i < 0 || i >= n) {
        fprintf(stderr, "tessera: --shard '%s': expected I/N with 0 <= I < N (as SLURM_ARRAY_TASK_ID/count)\n", optarg);
        return 1;
      }
      o.shard = i;
      o.shards = n;
      break;
    }
    case 'D': o.full_decode = 1; break;
    case 'W': o.overwrite = 1; break;
    default: usage(stderr); return 1;
    }
#undef INT_OPT
  }
  int nin = argc - optind;
  if (!o.outdir || nin < 1 || !o.ops) {
    fprintf(stderr, "tessera: augment needs inputs, -o OUT and --ops \"...\" (tessera augment --help)\n");
    return 1;
  }
  o.progress = !common.json;
  tsr_context *ctx = NULL;
  tsr_status st = cli_context(&common, &ctx);
  cli_signals_catch(ctx);
  tsr_augment_result r;
  memset(&r, 0, sizeof r);
  if (!st) st = tsr_augment(ctx, (const char *const *)argv + optind, nin, &o, &r);
  int ran = r.done + r.skipped + r.failed > 0 || r.items > 0;
  if (common.json && ran) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "output", o.outdir);
    cJSON_AddStringToObject(j, "device", ctx ? tsr_context_device(ctx)->name : "");
    cJSON_AddNumberToObject(j, "inputs", r.items);
    cJSON_AddNumberToObject(j, "done", r.done);
    cJSON_AddNumberToObject(j, "skipped", r.skipped);
    cJSON_AddNumberToObject(j, "failed", r.failed);
    cJSON_AddNumberToObject(j, "outputs", (double)r.outputs);
    cJSON_AddNumberToObject(j, "videos", r.videos);
    cJSON_AddNumberToObject(j, "decoded_frames", (double)r.decoded_frames);
    cJSON_AddNumberToObject(j, "kept_frames", (double)r.kept_frames);
    cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)r.peak_rss);
    cJSON_AddNumberToObject(j, "seconds", r.seconds);
    cli_print_json(j);
  } else if (ran) {
    printf("%d input%s: %d done, %d already there, %d failed; %ld outputs", r.items, r.items == 1 ? "" : "s", r.done,
           r.skipped, r.failed, r.outputs);
    if (r.videos) printf("; %d videos, %ld frames decoded for %ld kept", r.videos, r.decoded_frames, r.kept_frames);
    printf(" (%.2f s, peak RSS %.0f MiB)\n", r.seconds, (double)r.peak_rss / 1048576.0);
  }
  cli_signals_release();
  if (st) fprintf(stderr, "tessera: augment: %s\n", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}

int cmd_manifest(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "merge")) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      printf("usage: tessera manifest merge MANIFEST.csv... -o OUT.csv\n");
      return 0;
    }
    fprintf(stderr, "usage: tessera manifest merge MANIFEST.csv... -o OUT.csv\n");
    return 1;
  }
  const char *out = NULL;
  const char **in = calloc((size_t)argc, sizeof *in);
  int n = 0;
  if (!in) return 1;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "tessera: manifest merge: -o needs a file\n");
        free(in);
        return 1;
      }
      out = argv[++i];
    } else in[n++] = argv[i];
  }
  if (!out || !n) {
    fprintf(stderr, "usage: tessera manifest merge MANIFEST.csv... -o OUT.csv\n");
    free(in);
    return 1;
  }
  tsr_context_options co;
  tsr_context_options_init(&co);
  co.device = "cpu";
  co.log = cli_log;
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&co, &ctx);
  if (!st) st = tsr_manifest_merge(ctx, in, n, out);
  if (st) fprintf(stderr, "tessera: manifest merge: %s\n", tsr_context_error(ctx));
  else printf("wrote %s from %d manifest%s\n", out, n, n == 1 ? "" : "s");
  tsr_context_destroy(ctx);
  free(in);
  return cli_exit_code(st);
}
