/* tessera split INPUT... -o OUTDIR: argument handling and input listing;
 * the work is tsr_split (src/jobs/split/split.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera split INPUT... -o OUTDIR [OPTIONS]\n"
          "       tessera split --sample -o OUTDIR\n"
          "\n"
          "Splits 360° equirectangular frames into perspective views:\n"
          "OUTDIR/<view>/<frame>.<ext>, manifest.jsonl, rig_config.json and cameras.txt (COLMAP).\n"
          "INPUT: image files, folders (sorted; -r to recurse), video files (mp4, mov, mkv, ...),\n"
          "or - for a stream of PPM/PAM frames on stdin (ffmpeg ... -f image2pipe -c:v ppm -).\n"
          "A re-run with the same options resumes; with other options it stops (see --overwrite).\n"
          "\n"
          "  -o, --output DIR        output folder (required)\n"
          "      --rig NAME|FILE     ring8 (default), ring12, cube, dome16, colmap12, or a JSON rig\n"
          "      --size WxH          size of every view\n"
          "      --hfov DEG          horizontal field of view of every view\n"
          "      --interp KIND       nearest, bilinear (default), bicubic, lanczos3\n"
          "      --no-aa             no antialiasing (no supersampling, no DCT-scaled decode)\n"
          "      --format jpg|png    output format (default: jpg for 8-bit gray/RGB, else png)\n"
          "      --quality Q         JPEG quality (default 95)\n"
          "      --mask-nadir DEG    also write masks hiding DEG degrees around the nadir\n"
          "      --stats FILE.json   per-stage times, peak memory, batch, device (--json: on stdout)\n"
          "      --batch N           frames per device launch (default: planned)\n"
          "      --encoders N        encoder threads (default: --threads)\n"
          "      --full-decode       decode whole frames (no row band / DCT scale)\n"
          "      --fps R             video: keep R frames per second (e.g. 2, 0.5)\n"
          "      --every N           video: keep every Nth frame\n"
          "      --start T           video: start at T seconds\n"
          "      --duration T        video: read T seconds\n"
          "      --live              stdin: keep only the newest frames when the split is slower\n"
          "      --overwrite         redo everything in an output folder made with other options\n"
          "  -r, --recursive         descend into folders\n"
          "  -q, --quiet             no progress line\n"
          "      --sample            split the bundled sample frame\n"
          "  plus --device, --mem-budget, --threads (see tessera --help)\n");
}

static double parse_seconds(const char *opt, const char *arg, int *bad) {
  double v = 0;
  if (!cli_parse_double(arg, 0, 1e9, 0, &v)) {
    fprintf(stderr, "tessera: %s '%s': seconds, 0 or more\n", opt, arg);
    *bad = 1;
  }
  return v;
}

int cmd_split(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {"output", required_argument, NULL, 'o'},
                                           {"rig", required_argument, NULL, 'R'},
                                           {"size", required_argument, NULL, 'S'},
                                           {"hfov", required_argument, NULL, 'F'},
                                           {"interp", required_argument, NULL, 'I'},
                                           {"no-aa", no_argument, NULL, 'A'},
                                           {"format", required_argument, NULL, 'f'},
                                           {"quality", required_argument, NULL, 'Q'},
                                           {"mask-nadir", required_argument, NULL, 'M'},
                                           {"stats", required_argument, NULL, 's'},
                                           {"batch", required_argument, NULL, 'b'},
                                           {"encoders", required_argument, NULL, 'E'},
                                           {"full-decode", no_argument, NULL, 'D'},
                                           {"copy-only", no_argument, NULL, 'C'},
                                           {"recursive", no_argument, NULL, 'r'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"sample", no_argument, NULL, 'P'},
                                           {"fps", required_argument, NULL, 'T'},
                                           {"every", required_argument, NULL, 'N'},
                                           {"start", required_argument, NULL, 'B'},
                                           {"duration", required_argument, NULL, 'U'},
                                           {"live", no_argument, NULL, 'L'},
                                           {"overwrite", no_argument, NULL, 'W'},
                                           {NULL, 0, NULL, 0}};
  cli_common common = {0};
  tsr_split_options o;
  tsr_split_options_init(&o);
  int quiet = 0, sample = 0, c, bad = 0;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "o:rqh", longopts, &common)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    switch (c) {
    case 'o': o.outdir = optarg; break;
    case 'R': o.rig = optarg; break;
    case 'S': {
      int r = cli_parse_size(optarg, &o.width, &o.height);
      if (r != 1) {
        CLI_SIZE_MSG("--size", optarg, r);
        return 1;
      }
      break;
    }
    case 'F':
      if (!cli_parse_double(optarg, 0, 180, 1, &o.hfov) || o.hfov >= 180) {
        fprintf(stderr, "tessera: --hfov '%s': degrees, more than 0 and less than 180\n", optarg);
        return 1;
      }
      break;
    case 'I':
      if (!strcmp(optarg, "nearest")) o.interp = TSR_INTERP_NEAREST;
      else if (!strcmp(optarg, "bilinear")) o.interp = TSR_INTERP_BILINEAR;
      else if (!strcmp(optarg, "bicubic")) o.interp = TSR_INTERP_BICUBIC;
      else if (!strcmp(optarg, "lanczos3")) o.interp = TSR_INTERP_LANCZOS3;
      else {
        fprintf(stderr, "tessera: --interp '%s': nearest, bilinear, bicubic or lanczos3\n", optarg);
        return 1;
      }
      break;
    case 'A': o.no_antialias = 1; break;
    case 'f':
      if (strcmp(optarg, "jpg") && strcmp(optarg, "png")) {
        fprintf(stderr, "tessera: --format '%s': jpg or png\n", optarg);
        return 1;
      }
      o.format = optarg;
      break;
    case 'Q': {
      long q;
      if (!cli_parse_long(optarg, 1, 100, &q)) {
        fprintf(stderr, "tessera: --quality '%s': 1 to 100\n", optarg);
        return 1;
      }
      o.quality = (int)q;
      break;
    }
    case 'M':
      if (!cli_parse_double(optarg, 0, 180, 1, &o.mask_nadir)) {
        fprintf(stderr, "tessera: --mask-nadir '%s': degrees, more than 0\n", optarg);
        return 1;
      }
      break;
    case 's': o.stats_path = optarg; break;
    case 'b':
    case 'E': {
      long n;
      if (!cli_parse_long(optarg, 1, 64, &n)) {
        fprintf(stderr, "tessera: --%s '%s': 1 to 64\n", c == 'b' ? "batch" : "encoders", optarg);
        return 1;
      }
      if (c == 'b') o.batch = (int)n;
      else o.encoders = (int)n;
      break;
    }
    case 'D': o.full_decode = 1; break;
    case 'C': o.copy_only = 1; break;
    case 'r': o.recursive = 1; break;
    case 'T': {
      if (!cli_parse_double(optarg, 0, 1000, 1, &o.fps)) {
        fprintf(stderr, "tessera: --fps '%s': frames per second, more than 0\n", optarg);
        return 1;
      }
      break;
    }
    case 'N': {
      long n;
      if (!cli_parse_long(optarg, 1, 1000000, &n)) {
        fprintf(stderr, "tessera: --every '%s': a frame count, 1 or more\n", optarg);
        return 1;
      }
      o.every = (int)n;
      break;
    }
    case 'B': o.start = parse_seconds("--start", optarg, &bad); if (bad) return 1; break;
    case 'U': o.duration = parse_seconds("--duration", optarg, &bad); if (bad) return 1; break;
    case 'L': o.live = 1; break;
    case 'W': o.overwrite = 1; break;
    case 'q': quiet = 1; break;
    case 'P': sample = 1; break;
    default: usage(stderr); return 1;
    }
  }
  if (optind >= argc && !sample) {
    usage(stderr);
    return 1;
  }
  if (!o.outdir) {
    fprintf(stderr, "tessera: split needs an output folder (-o OUTDIR)\n");
    return 1;
  }
  if (o.fps > 0 && o.every > 0) {
    fprintf(stderr, "tessera: --fps and --every cannot be combined\n");
    return 1;
  }
  if (common.json) {
    if (o.stats_path) {
      fprintf(stderr, "tessera: --json prints what --stats writes: give one of them\n");
      return 1;
    }
    o.stats_path = "-";
  }
  const char **inputs = calloc((size_t)(argc - optind + 1), sizeof *inputs);
  int ninputs = 0, rc = 0;
  if (!inputs) return 1;
  if (sample) {
    const char *p = cli_sample_path();
    if (!p) {
      fprintf(stderr, "tessera: the sample frame is not installed (set TESSERA_SAMPLE to a 360° JPEG)\n");
      free(inputs);
      return 1;
    }
    inputs[ninputs++] = p;
  }
  for (int i = optind; i < argc; i++) inputs[ninputs++] = argv[i];
  tsr_status st = TSR_OK;
  if (!rc) {
    tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = common.device, .mem_budget = common.mem_budget, .threads = common.threads,
                              .quiet = quiet};
    tsr_context *ctx = NULL;
    if (!quiet) co.log = cli_log; /* the library reports, the CLI prints */
    st = tsr_context_create(&co, &ctx);
    if (!st) {
      o.progress = !quiet && isatty(2);
      tsr_split_stats s;
      cli_signals_catch(ctx);
      st = tsr_split(ctx, &o, inputs, ninputs, &s);
      cli_signals_release();
      long views = s.views_written;
      if ((!quiet || st) && s.frames_done + s.frames_skipped + s.frames_failed > 0)
        fprintf(stderr, "split: %d frames written, %d already complete, %d failed%s; %ld views in %.2f s (%.1f ms/view) on %s\n",
                s.frames_done, s.frames_skipped, s.frames_failed, s.frames_dropped ? " (some dropped: --live)" : "",
                views, s.wall_s, views ? s.wall_s * 1e3 / (double)views : 0.0, s.device);
    }
    if (st) {
      /* Without -q each skipped file already had its line: the summary does
       * not name the first one again. */
      const char *msg = tsr_context_error(ctx), *first = quiet ? NULL : strstr(msg, " (first: ");
      fprintf(stderr, "tessera: split: %.*s\n", first ? (int)(first - msg) : (int)strlen(msg), msg);
    }
    tsr_context_destroy(ctx);
    rc = cli_exit_code(st);
  }
  free(inputs);
  return rc;
}
