/* tessera merge SPLIT_DIR -o PANO.png|FOLDER --size WxH [--frame STEM]: a
 * split's output folder back into equirectangular panoramas, one frame
 * (tsr_merge_split) or all of them (tsr_merge_frames); the views' geometry
 * comes from the folder's manifest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera merge SPLIT_DIR -o PANO.png|FOLDER --size WxH [--frame STEM] [--overwrite]\n"
          "\n"
          "Blends the views of one frame of a tessera split's output folder into an\n"
          "equirectangular panorama with feathered overlaps and an alpha channel where no view\n"
          "sees. The views and their geometry (angles, field of view, size) come from\n"
          "SPLIT_DIR/manifest.jsonl, so whatever rig, --size or --hfov the split used merges back.\n"
          "-o PANO.png (or .jpg, .ppm, ...) merges one frame: --frame picks it (default: the first in\n"
          "the manifest). -o FOLDER merges every frame into FOLDER/<frame>.png, skipping those done\n"
          "(another --size into the same folder needs --overwrite).\n");
}

/* --json: what a merge wrote. */
static cJSON *merge_json(const char *out, int w, int h) {
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "output", out);
  cJSON_AddNumberToObject(j, "width", w);
  cJSON_AddNumberToObject(j, "height", h);
  return j;
}

int cmd_merge(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {"output", required_argument, NULL, 'o'},
                                           {"size", required_argument, NULL, 'S'},
                                           {"frame", required_argument, NULL, 'F'},
                                           {"overwrite", no_argument, NULL, 'W'},
                                           {NULL, 0, NULL, 0}};
  cli_common common = {0};
  const char *out = NULL, *stem = NULL;
  int w = 0, h = 0, c, overwrite = 0;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "o:h", longopts, &common)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    switch (c) {
    case 'o': out = optarg; break;
    case 'F': stem = optarg; break;
    case 'W': overwrite = 1; break;
    case 'S': {
      int r = cli_parse_size(optarg, &w, &h);
      if (r != 1 || w < 2) {
        CLI_SIZE_MSG("--size", optarg, r == 1 ? -1 : r);
        return 1;
      }
      break;
    }
    default: usage(stderr); return 1;
    }
  }
  if (optind != argc - 1 || !out || !w) {
    fprintf(stderr, "tessera: merge needs %s\n",
            optind != argc - 1 ? "one split output folder" : !out ? "an output file (-o PANO.png)"
                                                                 : "the panorama's size (--size WxH, e.g. 4096x2048)");
    usage(stderr);
    return 1;
  }
  tsr_context *ctx = NULL;
  tsr_status st = cli_context(&common, &ctx);
  tsr_image *pano = NULL;
  char chosen[256] = "";
  int one = stem || tsr_format_from_name(out) != TSR_FMT_AUTO;
  if (one) {
    if (!st) st = tsr_merge_split(ctx, argv[optind], stem, w, h, &pano, chosen, sizeof chosen);
    if (!st) st = tsr_image_write(ctx, pano, out, NULL);
    if (!st && !common.json) printf("merged the views of %s into %s (%dx%d)\n", chosen, out, w, h);
    if (!st && common.json) {
      cJSON *j = merge_json(out, w, h);
      cJSON_AddStringToObject(j, "frame", chosen);
      cli_print_json(j);
    }
  } else {
    int done = 0, skipped = 0;
    cli_signals_catch(ctx);
    if (!st) st = tsr_merge_frames(ctx, argv[optind], out, w, h, overwrite, &done, &skipped);
    cli_signals_release();
    if (!st && !common.json) printf("merged %d frames into %s/ (%dx%d), %d already there\n", done, out, w, h, skipped);
    if (!st && common.json) {
      cJSON *j = merge_json(out, w, h);
      cJSON_AddNumberToObject(j, "frames_merged", done);
      cJSON_AddNumberToObject(j, "frames_already_there", skipped);
      cli_print_json(j);
    }
  }
  if (st) fprintf(stderr, "tessera: merge: %s\n", tsr_context_error(ctx));
  tsr_image_free(pano);
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}
