/* tessera merge VIEWS_DIR --rig NAME|FILE -o PANO --size WxH [--frame STEM]:
 * a split's views back into one equirectangular panorama (tsr_merge). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera merge VIEWS_DIR -o PANO.png --size WxH [--rig NAME|FILE] [--hfov DEG] [--frame STEM]\n"
          "\n"
          "Blends the views VIEWS_DIR/<view>/<frame>.<ext> of one frame (as tessera split wrote them)\n"
          "into an equirectangular panorama with feathered overlaps and an alpha channel where no\n"
          "view sees. --rig (default ring8) and --hfov must be the split's; view sizes are read from\n"
          "the images. --frame picks the frame when the folder holds several.\n");
}

/* The single frame stem in the first view's folder, or the named one. */
static int find_view_file(const char *dir, const char *view, const char *stem, char *out, size_t n, char *found,
                          size_t flen) {
  char folder[4096];
  snprintf(folder, sizeof folder, "%s/%s", dir, view);
  DIR *d = opendir(folder);
  if (!d) return -1;
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char s[256];
    snprintf(s, sizeof s, "%s", e->d_name);
    char *dot = strrchr(s, '.');
    if (dot) *dot = 0;
    if (stem && strcmp(s, stem)) continue;
    if (count++ == 0) {
      snprintf(out, n, "%s/%s", folder, e->d_name);
      snprintf(found, flen, "%s", s);
    }
  }
  closedir(d);
  return count;
}

int cmd_merge(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {"output", required_argument, NULL, 'o'},
                                           {"rig", required_argument, NULL, 'R'},
                                           {"size", required_argument, NULL, 'S'},
                                           {"frame", required_argument, NULL, 'F'},
                                           {"hfov", required_argument, NULL, 'V'},
                                           {NULL, 0, NULL, 0}};
  cli_common common = {0};
  const char *out = NULL, *rigname = "ring8", *stem = NULL;
  int w = 0, h = 0, c;
  double hfov = 0;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "o:h", longopts, &common)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    switch (c) {
    case 'o': out = optarg; break;
    case 'R': rigname = optarg; break;
    case 'F': stem = optarg; break;
    case 'V':
      hfov = atof(optarg);
      if (hfov <= 0 || hfov >= 180) {
        fprintf(stderr, "tessera: --hfov '%s': degrees, more than 0 and less than 180\n", optarg);
        return 1;
      }
      break;
    case 'S':
      if (!cli_parse_size(optarg, &w, &h) || w < 2) {
        fprintf(stderr, "tessera: --size '%s' is not WxH\n", optarg);
        return 1;
      }
      break;
    default: usage(stderr); return 1;
    }
  }
  if (optind != argc - 1 || !out || !w) {
    usage(stderr);
    return 1;
  }
  const char *dir = argv[optind];
  tsr_context_options co = {.struct_size = sizeof(tsr_context_options), .device = common.device, .mem_budget = common.mem_budget, .threads = common.threads};
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&co, &ctx);
  tsr_rig *rig = NULL;
  tsr_image **views = NULL;
  tsr_image *pano = NULL;
  if (!st) st = tsr_rig_get(ctx, rigname, &rig);
  if (!st && !(views = calloc((size_t)rig->nviews, sizeof *views))) st = TSR_E_NOMEM;
  char chosen[256] = "";
  for (int i = 0; !st && i < rig->nviews; i++) {
    char path[4400], found[256];
    int n = find_view_file(dir, rig->views[i].name, stem ? stem : (chosen[0] ? chosen : NULL), path, sizeof path,
                           found, sizeof found);
    if (n < 1) {
      fprintf(stderr, "tessera: merge: no %s image for view %s in %s/%s\n", stem ? stem : "frame",
              rig->views[i].name, dir, rig->views[i].name);
      st = TSR_E_IO;
      break;
    }
    if (n > 1) {
      fprintf(stderr, "tessera: merge: %s/%s holds %d frames; pick one with --frame STEM\n", dir,
              rig->views[i].name, n);
      st = TSR_E_INVALID;
      break;
    }
    snprintf(chosen, sizeof chosen, "%s", found);
    st = tsr_image_read(ctx, path, 0, &views[i]);
    if (!st) { /* the split may have overridden the rig's sizes (--size) */
      rig->views[i].width = views[i]->width;
      rig->views[i].height = views[i]->height;
      if (hfov > 0) rig->views[i].hfov = hfov;
    }
  }
  if (!st) st = tsr_merge(ctx, rig, (const tsr_image *const *)views, w, h, &pano);
  if (!st) st = tsr_image_write(ctx, pano, out, NULL);
  if (st && tsr_context_error(ctx)[0]) fprintf(stderr, "tessera: merge: %s\n", tsr_context_error(ctx));
  if (!st) printf("merged %d views of %s into %s (%dx%d)\n", rig->nviews, chosen, out, w, h);
  for (int i = 0; views && i < rig->nviews; i++) tsr_image_free(views[i]);
  free(views);
  tsr_image_free(pano);
  tsr_rig_free(rig);
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}
