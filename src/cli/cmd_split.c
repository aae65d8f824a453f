/* tessera split INPUT... -o OUTDIR: argument handling and input listing;
 * the work is tsr_split (src/split.c). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: tessera split INPUT... -o OUTDIR [OPTIONS]\n"
          "       tessera split --sample -o OUTDIR\n"
          "\n"
          "Splits 360° equirectangular frames into perspective views:\n"
          "OUTDIR/<view>/<frame>.<ext>, manifest.jsonl, rig_config.json and cameras.txt (COLMAP).\n"
          "INPUT: image files, folders (sorted; -r to recurse), or - for a stream of PPM/PAM\n"
          "frames on stdin (ffmpeg -i in.mp4 -f image2pipe -c:v ppm -).\n"
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
          "      --stats FILE.json   per-stage times, peak memory, batch, device\n"
          "      --batch N           frames per device launch (default: planned)\n"
          "      --encoders N        encoder threads (default: --threads)\n"
          "      --full-decode       decode whole frames (no row band / DCT scale)\n"
          "  -r, --recursive         descend into folders\n"
          "  -q, --quiet             no progress line\n"
          "      --sample            split the bundled sample frame\n"
          "  plus --device, --mem-budget, --threads (see tessera --help)\n");
}

static int is_image_name(const char *n) {
  const char *dot = strrchr(n, '.');
  if (!dot) return 0;
  static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".pam"};
  for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
    if (!strcasecmp(dot, ext[i])) return 1;
  return 0;
}

typedef struct {
  char **v;
  int n, cap;
} strlist;

static int push(strlist *l, const char *s) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 64;
    char **g = realloc(l->v, (size_t)cap * sizeof *g);
    if (!g) return -1;
    l->v = g;
    l->cap = cap;
  }
  return (l->v[l->n++] = strdup(s)) ? 0 : -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds a folder's images, sorted by name; sub-folders only with -r. */
static int add_dir(strlist *out, const char *dir, int recursive) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "tessera: %s: cannot open folder\n", dir);
    return -1;
  }
  strlist names = {0};
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d)) && !rc)
    if (e->d_name[0] != '.') rc = push(&names, e->d_name);
  closedir(d);
  if (names.n) qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
  for (int i = 0; i < names.n && !rc; i++) {
    size_t n = strlen(dir) + strlen(names.v[i]) + 2;
    char *p = malloc(n);
    if (!p) {
      rc = -1;
      break;
    }
    snprintf(p, n, "%s/%s", dir, names.v[i]);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      if (recursive) rc = add_dir(out, p, 1);
    } else if (is_image_name(names.v[i])) {
      rc = push(out, p);
    }
    free(p);
  }
  for (int i = 0; i < names.n; i++) free(names.v[i]);
  free(names.v);
  return rc;
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
                                           {NULL, 0, NULL, 0}};
  cli_common common = {0};
  tsr_split_options o = {0};
  o.interp = TSR_INTERP_BILINEAR;
  int recursive = 0, quiet = 0, sample = 0, c;
  char *end;
  optind = 1;
  while ((c = cli_next_opt(argc, argv, "o:rqh", longopts, &common)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    switch (c) {
    case 'o': o.outdir = optarg; break;
    case 'R': o.rig = optarg; break;
    case 'S':
      if (!cli_parse_size(optarg, &o.width, &o.height)) {
        fprintf(stderr, "tessera: --size '%s' is not WxH\n", optarg);
        return 1;
      }
      break;
    case 'F':
      o.hfov = strtod(optarg, &end);
      if (*end || o.hfov <= 0 || o.hfov >= 180) {
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
    case 'Q':
      o.quality = (int)strtol(optarg, &end, 10);
      if (*end || o.quality < 1 || o.quality > 100) {
        fprintf(stderr, "tessera: --quality '%s': 1 to 100\n", optarg);
        return 1;
      }
      break;
    case 'M':
      o.mask_nadir = strtod(optarg, &end);
      if (*end || o.mask_nadir <= 0 || o.mask_nadir > 180) {
        fprintf(stderr, "tessera: --mask-nadir '%s': degrees, more than 0\n", optarg);
        return 1;
      }
      break;
    case 's': o.stats_path = optarg; break;
    case 'b':
    case 'E': {
      long n = strtol(optarg, &end, 10);
      if (*end || n < 1 || n > 64) {
        fprintf(stderr, "tessera: --%s '%s': 1 to 64\n", c == 'b' ? "batch" : "encoders", optarg);
        return 1;
      }
      if (c == 'b') o.batch = (int)n;
      else o.encoders = (int)n;
      break;
    }
    case 'D': o.full_decode = 1; break;
    case 'C': o.copy_only = 1; break;
    case 'r': recursive = 1; break;
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
  strlist inputs = {0};
  int rc = 0;
  if (sample) {
    const char *p = cli_sample_path();
    if (!p) {
      fprintf(stderr, "tessera: the sample frame is not installed (set TESSERA_SAMPLE to a 360° JPEG)\n");
      return 1;
    }
    rc = push(&inputs, p);
  }
  for (int i = optind; i < argc && !rc; i++) {
    struct stat sb;
    if (strcmp(argv[i], "-") && stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) rc = add_dir(&inputs, argv[i], recursive);
    else rc = push(&inputs, argv[i]);
  }
  if (!rc && !inputs.n) {
    fprintf(stderr, "tessera: no images found in the inputs\n");
    rc = 1;
  }
  tsr_status st = TSR_OK;
  if (!rc) {
    tsr_context_options co = {.device = common.device, .mem_budget = common.mem_budget, .threads = common.threads,
                              .quiet = quiet};
    tsr_context *ctx = NULL;
    st = tsr_context_create(&co, &ctx);
    if (!st) {
      o.progress = !quiet && isatty(2);
      tsr_split_stats s;
      st = tsr_split(ctx, &o, (const char *const *)inputs.v, inputs.n, &s);
      long views = s.views_written;
      if ((!quiet || st) && s.frames_done + s.frames_skipped + s.frames_failed > 0)
        fprintf(stderr, "split: %d frames written, %d already complete, %d failed; %ld views in %.2f s (%.1f ms/view) on %s\n",
                s.frames_done, s.frames_skipped, s.frames_failed, views, s.wall_s,
                views ? s.wall_s * 1e3 / (double)views : 0.0, s.device);
    }
    if (st) fprintf(stderr, "tessera: split: %s\n", tsr_context_error(ctx));
    tsr_context_destroy(ctx);
    rc = cli_exit_code(st);
  }
  for (int i = 0; i < inputs.n; i++) free(inputs.v[i]);
  free(inputs.v);
  return rc;
}
