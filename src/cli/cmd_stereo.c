/* tessera stereo LEFT RIGHT -o DISP | DIR... -o OUT, and tessera
 * stereo-eval DISP GT: disparity of rectified pairs (tsr_stereo_pair,
 * tsr_stereo_batch) and its errors against ground truth. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera stereo LEFT RIGHT -o DISP.pfm|DISP.png [options]\n"
          "       tessera stereo DIR... -o OUT [options]\n"
          "\n"
          "Disparity of rectified pairs: census (9x7) costs, semi-global aggregation, a\n"
          "uniqueness test, subpixel refinement, a left-right check and a 3x3 median.\n"
          "Invalid pixels are +inf in PFM (Middlebury's convention) and 0 in PNG (16-bit,\n"
          "disparity x 256: KITTI's). Pairs too large for the memory budget run in tiles.\n"
          "\n"
          "A DIR is a Middlebury scene (im0.png, im1.png, calib.txt: its ndisp sets the\n"
          "range) written to OUT/<scene>/disp0.pfm, or a KITTI folder (image_2/, image_3/)\n"
          "written to OUT/<folder>/disp_0/<name>.png. A re-run resumes.\n"
          "\n"
          "range:   --min-disp N (default 0), --max-disp N or --ndisp N (default 256 for\n"
          "         pairs; calib.txt's ndisp for scenes)\n"
          "matching: --paths 4|8 (8)  --p1 N (10)  --p2 N (120)  --uniqueness PCT (5; 0 off)\n"
          "          --lr-max PX (1)  --no-lr  --no-median\n"
          "tiles:   --tile auto|WxH|PRESET  --overlap N (64; 0: none)  --guide\n"
          "         auto plans the grid from --mem-budget; PRESET is middlebury (1008x728,\n"
          "         overlap 364), kitti (1216x384/96), sceneflow and booster (960x544/128),\n"
          "         low_memory (512x512/96), high_memory (1024x1024/192)\n"
          "outputs: --vis FILE  --right-disp FILE  --confidence FILE (one pair);\n"
          "         --extras vis,right,confidence (batches)  --overwrite  --stats\n"
          "common:  --device D  --mem-budget BYTES  --threads N  --json\n");
}

typedef struct {
  const char *name;
  int w, h, overlap;
} preset;
/* Window sizes (width x height) and overlaps of a tiled learned matcher's
 * presets, for people who come from it. */
static const preset presets[] = {{"middlebury", 1008, 728, 364}, {"kitti", 1216, 384, 96},
                                 {"sceneflow", 960, 544, 128},   {"booster", 960, 544, 128},
                                 {"low_memory", 512, 512, 96},   {"high_memory", 1024, 1024, 192}};

static int parse_tile(const char *s, tsr_stereo_options *o, int *overlap_from_preset) {
  if (!strcmp(s, "auto")) {
    o->tile_w = o->tile_h = 0;
    return 1;
  }
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (!strcasecmp(s, presets[i].name)) {
      o->tile_w = presets[i].w;
      o->tile_h = presets[i].h;
      *overlap_from_preset = presets[i].overlap;
      return 1;
    }
  int w, h;
  if (cli_parse_size(s, &w, &h) != 1) return 0;
  o->tile_w = w;
  o->tile_h = h;
  return 1;
}

static int parse_extras(const char *s, int *extras) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  *extras = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (!strcmp(tok, "vis")) *extras |= TSR_STEREO_EXTRA_VIS;
    else if (!strcmp(tok, "right")) *extras |= TSR_STEREO_EXTRA_RIGHT;
    else if (!strcmp(tok, "confidence")) *extras |= TSR_STEREO_EXTRA_CONFIDENCE;
    else return 0;
  }
  return 1;
}

static cJSON *stats_json(const tsr_stereo_stats *s, const tsr_stereo_options *o) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddNumberToObject(j, "min_disp", o->min_disp);
  cJSON_AddNumberToObject(j, "num_disp", o->num_disp);
  cJSON_AddNumberToObject(j, "tiles_x", s->tiles_x);
  cJSON_AddNumberToObject(j, "tiles_y", s->tiles_y);
  cJSON_AddNumberToObject(j, "core_w", s->core_w);
  cJSON_AddNumberToObject(j, "core_h", s->core_h);
  cJSON_AddNumberToObject(j, "region_w", s->region_w);
  cJSON_AddNumberToObject(j, "region_h", s->region_h);
  cJSON_AddNumberToObject(j, "margin", s->margin);
  cJSON_AddNumberToObject(j, "tile_bytes", (double)s->tile_bytes);
  cJSON_AddNumberToObject(j, "cells", (double)s->cells);
  cJSON_AddNumberToObject(j, "guided_tiles", s->guided_tiles);
  cJSON_AddNumberToObject(j, "min_tile_ndisp", s->min_tile_ndisp);
  cJSON_AddNumberToObject(j, "max_tile_ndisp", s->max_tile_ndisp);
  cJSON_AddNumberToObject(j, "seconds", s->seconds);
  cJSON_AddStringToObject(j, "device", s->device);
  return j;
}

int cmd_stereo(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {"output", required_argument, NULL, 'o'},
                                           {"min-disp", required_argument, NULL, 'a'},
                                           {"max-disp", required_argument, NULL, 'b'},
                                           {"ndisp", required_argument, NULL, 'n'},
                                           {"paths", required_argument, NULL, 'P'},
                                           {"p1", required_argument, NULL, '1'},
                                           {"p2", required_argument, NULL, '2'},
                                           {"uniqueness", required_argument, NULL, 'u'},
                                           {"lr-max", required_argument, NULL, 'L'},
                                           {"no-lr", no_argument, NULL, 'N'},
                                           {"no-median", no_argument, NULL, 'M'},
                                           {"tile", required_argument, NULL, 'T'},
                                           {"overlap", required_argument, NULL, 'O'},
                                           {"guide", no_argument, NULL, 'G'},
                                           {"vis", required_argument, NULL, 'v'},
                                           {"right-disp", required_argument, NULL, 'R'},
                                           {"confidence", required_argument, NULL, 'C'},
                                           {"extras", required_argument, NULL, 'X'},
                                           {"overwrite", no_argument, NULL, 'W'},
                                           {"stats", no_argument, NULL, 's'},
                                           {NULL, 0, NULL, 0}};
  cli_common common = {0};
  tsr_stereo_options o;
  tsr_stereo_options_init(&o);
  tsr_stereo_files files = {0};
  const char *out = NULL;
  long v, max_disp = LONG_MIN, ndisp = 0;
  int c, overlap_preset = 0, overlap_given = 0, extras = 0, overwrite = 0, want_stats = 0, range_given = 0;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "o:h", longopts, &common)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    switch (c) {
    case 'o': out = optarg; break;
#define NUM(opt, lo, hi, dst)                                                            \
  if (!cli_parse_long(optarg, lo, hi, &v)) {                                             \
    fprintf(stderr, "tessera: %s '%s': expected an integer in %ld..%ld\n", opt, optarg, (long)(lo), (long)(hi)); \
    return 1;                                                                            \
  }                                                                                      \
  dst = (int)v;
    case 'a': NUM("--min-disp", -(TSR_STEREO_DISP_LIMIT - 1), TSR_STEREO_DISP_LIMIT - 1, o.min_disp); range_given = 1; break;
    case 'b': NUM("--max-disp", -(TSR_STEREO_DISP_LIMIT - 1), TSR_STEREO_DISP_LIMIT - 1, max_disp); range_given = 1; break;
    case 'n': NUM("--ndisp", 1, 2 * TSR_STEREO_DISP_LIMIT - 2, ndisp); range_given = 1; break;
    case 'P': NUM("--paths", 4, 8, o.paths);
      if (o.paths != 4 && o.paths != 8) {
        fprintf(stderr, "tessera: --paths must be 4 or 8\n");
        return 1;
      }
      break;
    case '1': NUM("--p1", 1, 4000, o.p1); break;
    case '2': NUM("--p2", 2, 4000, o.p2); break;
    case 'u': NUM("--uniqueness", 0, 100, o.uniqueness); if (!o.uniqueness) o.uniqueness = -1; break;
    case 'L': NUM("--lr-max", 0, 4000, o.lr_max); break;
    case 'N': o.lr_max = -1; break;
    case 'M': o.median = -1; break;
    case 'O': NUM("--overlap", 0, 4000, o.overlap); if (!o.overlap) o.overlap = -1; overlap_given = 1; break;
#undef NUM
    case 'T':
      if (!parse_tile(optarg, &o, &overlap_preset)) {
        fprintf(stderr, "tessera: --tile '%s': expected auto, WxH or a preset (middlebury, kitti, sceneflow, booster, "
                        "low_memory, high_memory)\n", optarg);
        return 1;
      }
      break;
    case 'G': o.guide = 1; break;
    case 'v': files.vis = optarg; break;
    case 'R': files.right = optarg; break;
    case 'C': files.confidence = optarg; break;
    case 'X':
      if (!parse_extras(optarg, &extras)) {
        fprintf(stderr, "tessera: --extras '%s': expected a comma-separated list of vis, right, confidence\n", optarg);
        return 1;
      }
      break;
    case 'W': overwrite = 1; break;
    case 's': want_stats = 1; break;
    default: usage(stderr); return 1;
    }
  }
  if (!overlap_given && overlap_preset) o.overlap = overlap_preset;
  if (max_disp != LONG_MIN && ndisp) {
    fprintf(stderr, "tessera: give --max-disp or --ndisp, not both\n");
    return 1;
  }
  if (max_disp != LONG_MIN) {
    if (max_disp < o.min_disp) {
      fprintf(stderr, "tessera: --max-disp %ld is below --min-disp %d\n", max_disp, o.min_disp);
      return 1;
    }
    ndisp = max_disp - o.min_disp + 1;
  }
  o.num_disp = ndisp ? (int)ndisp : 256;
  int nin = argc - optind;
  struct stat sb;
  int batch = nin >= 1 && stat(argv[optind], &sb) == 0 && S_ISDIR(sb.st_mode);
  if (!out || nin < 1 || (!batch && nin != 2)) {
    fprintf(stderr, "tessera: stereo needs %s\n",
            !out ? "an output (-o DISP.pfm for a pair, -o FOLDER for scenes)"
                 : "a LEFT and a RIGHT image, or Middlebury/KITTI folders");
    usage(stderr);
    return 1;
  }
  if (batch && (files.vis || files.right || files.confidence)) {
    fprintf(stderr, "tessera: --vis, --right-disp and --confidence name one pair's files; batches take --extras\n");
    return 1;
  }
  if (!batch && extras) {
    fprintf(stderr, "tessera: --extras is for batches; one pair takes --vis, --right-disp, --confidence\n");
    return 1;
  }
  tsr_context *ctx = NULL;
  tsr_status st = cli_context(&common, &ctx);
  cli_signals_catch(ctx);
  if (!batch) {
    tsr_stereo_stats s;
    memset(&s, 0, sizeof s);
    files.disp = out;
    if (!st) st = tsr_stereo_pair(ctx, argv[optind], argv[optind + 1], &o, &files, &s);
    if (!st && common.json) {
      cJSON *j = stats_json(&s, &o);
      cJSON_AddStringToObject(j, "output", out);
      cli_print_json(j);
    } else if (!st) {
      printf("wrote %s: %d disparities from %d, %dx%d tiles of %dx%d, %.2f s\n", out, o.num_disp, o.min_disp,
             s.tiles_x, s.tiles_y, s.core_w, s.core_h, s.seconds);
      if (want_stats) {
        cJSON *sj = stats_json(&s, &o);
        char *txt = cJSON_Print(sj);
        if (txt) fprintf(stderr, "%s\n", txt);
        free(txt);
        cJSON_Delete(sj);
      }
    }
  } else {
    tsr_stereo_batch_options bo = {sizeof bo, out, extras, range_given, overwrite, !common.json};
    tsr_stereo_batch_result r;
    memset(&r, 0, sizeof r);
    if (!st) st = tsr_stereo_batch(ctx, (const char *const *)argv + optind, nin, &o, &bo, &r);
    int ran = r.done + r.skipped + r.failed > 0;
    if (common.json && ran) {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddStringToObject(j, "output", out);
      cJSON_AddNumberToObject(j, "pairs", r.pairs);
      cJSON_AddNumberToObject(j, "done", r.done);
      cJSON_AddNumberToObject(j, "skipped", r.skipped);
      cJSON_AddNumberToObject(j, "failed", r.failed);
      cJSON_AddNumberToObject(j, "cells", (double)r.cells);
      cJSON_AddNumberToObject(j, "peak_rss_bytes", (double)r.peak_rss);
      cJSON_AddNumberToObject(j, "seconds", r.seconds);
      cli_print_json(j);
    } else if (ran) {
      printf("%d pair%s: %d matched, %d already there, %d failed (%.1f s, peak RSS %.0f MiB)\n", r.pairs,
             r.pairs == 1 ? "" : "s", r.done, r.skipped, r.failed, r.seconds, (double)r.peak_rss / 1048576.0);
    }
  }
  cli_signals_release();
  if (st) fprintf(stderr, "tessera: stereo: %s\n", tsr_context_error(ctx));
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}

/* ---- stereo-eval ---------------------------------------------------------------- */
/* A disparity file as floats: PFM as stored, 16-bit PNG / 256 (0 unknown). */
static tsr_status read_disp(tsr_context *ctx, const char *path, float **d, int *w, int *h, int *zero_unknown) {
  *zero_unknown = 0;
  if (tsr_format_from_name(path) != TSR_FMT_PNG) return tsr_pfm_read(ctx, path, d, w, h);
  tsr_image *img = NULL;
  tsr_status st = tsr_image_read(ctx, path, 0, &img);
  if (st) return st;
  if (img->channels != 1 || img->depth != 16) {
    tsr_image_free(img);
    fprintf(stderr, "tessera: %s: a disparity PNG is 16-bit gray (KITTI's)\n", path);
    return TSR_E_UNSUPPORTED;
  }
  *w = img->width;
  *h = img->height;
  *d = malloc((size_t)img->width * (size_t)img->height * sizeof **d);
  if (!*d) {
    tsr_image_free(img);
    return TSR_E_NOMEM;
  }
  for (int y = 0; y < img->height; y++) {
    const uint16_t *row = (const uint16_t *)(img->data + (size_t)y * img->stride);
    for (int x = 0; x < img->width; x++)
      (*d)[(size_t)y * (size_t)img->width + (size_t)x] = row[x] ? (float)row[x] / 256.0f : INFINITY;
  }
  *zero_unknown = 1;
  tsr_image_free(img);
  return TSR_OK;
}

int cmd_stereo_eval(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {"mask", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
  cli_common common = {0};
  const char *maskp = NULL;
  int c;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "h", longopts, &common)) != -1) {
    if (c == 'h') {
      printf("usage: tessera stereo-eval DISP GT [--mask M.png] [--json]\n\n"
             "Errors of DISP against ground truth GT (PFM, or KITTI's 16-bit PNG) by Middlebury's\n"
             "rules: pixels of unknown ground truth (inf; 0 in PNG) and those the mask does not\n"
             "mark 255 are skipped; a pixel without a disparity is bad at every threshold.\n"
             "Prints bad-0.5/1/2/4 (percent), average and RMS error (pixels with a disparity)\n"
             "and the invalid fraction.\n");
      return 0;
    }
    if (c == 'k') maskp = optarg;
    else {
      fprintf(stderr, "usage: tessera stereo-eval DISP GT [--mask M.png] [--json]\n");
      return 1;
    }
  }
  if (argc - optind != 2) {
    fprintf(stderr, "tessera: stereo-eval needs a disparity file and a ground truth\n");
    return 1;
  }
  tsr_context_options co;
  tsr_context_options_init(&co);
  co.device = "cpu";
  co.log = cli_log;
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&co, &ctx);
  float *d = NULL, *g = NULL;
  int dw = 0, dh = 0, gw = 0, gh = 0, zd, zg;
  tsr_image *mask = NULL;
  if (!st) st = read_disp(ctx, argv[optind], &d, &dw, &dh, &zd);
  if (!st) st = read_disp(ctx, argv[optind + 1], &g, &gw, &gh, &zg);
  if (!st && (dw != gw || dh != gh)) {
    fprintf(stderr, "tessera: stereo-eval: %s is %dx%d but %s is %dx%d\n", argv[optind], dw, dh, argv[optind + 1], gw, gh);
    st = TSR_E_INVALID;
  }
  if (!st && maskp) {
    st = tsr_image_read(ctx, maskp, 0, &mask);
    if (!st && (mask->width != gw || mask->height != gh || mask->channels != 1 || mask->depth != 8)) {
      fprintf(stderr, "tessera: stereo-eval: %s must be an 8-bit gray %dx%d mask\n", maskp, gw, gh);
      st = TSR_E_INVALID;
    }
  }
  uint8_t *m = NULL;
  if (!st && mask) {
    m = malloc((size_t)gw * (size_t)gh);
    if (!m) st = TSR_E_NOMEM;
    for (int y = 0; m && y < gh; y++) memcpy(m + (size_t)y * (size_t)gw, mask->data + (size_t)y * mask->stride, (size_t)gw);
  }
  if (!st) {
    tsr_stereo_eval ev;
    tsr_stereo_evaluate(d, g, m, gw, gh, zg, &ev);
    if (common.json) {
      cJSON *j = cJSON_CreateObject();
      cJSON_AddNumberToObject(j, "known_pixels", (double)ev.known);
      cJSON_AddNumberToObject(j, "bad0.5", ev.bad05);
      cJSON_AddNumberToObject(j, "bad1", ev.bad1);
      cJSON_AddNumberToObject(j, "bad2", ev.bad2);
      cJSON_AddNumberToObject(j, "bad4", ev.bad4);
      cJSON_AddNumberToObject(j, "avgerr", ev.avgerr);
      cJSON_AddNumberToObject(j, "rms", ev.rms);
      cJSON_AddNumberToObject(j, "invalid", ev.invalid_pct);
      cli_print_json(j);
    } else {
      printf("known %llu px  bad0.5 %.2f%%  bad1 %.2f%%  bad2 %.2f%%  bad4 %.2f%%  avgerr %.3f  rms %.3f  invalid %.2f%%\n",
             (unsigned long long)ev.known, ev.bad05, ev.bad1, ev.bad2, ev.bad4, ev.avgerr, ev.rms, ev.invalid_pct);
    }
  } else if (st != TSR_E_INVALID && st != TSR_E_UNSUPPORTED) {
    fprintf(stderr, "tessera: stereo-eval: %s\n", tsr_context_error(ctx));
  }
  free(d);
  free(g);
  free(m);
  tsr_image_free(mask);
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}
