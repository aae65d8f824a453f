/* tessera rig list | show NAME|FILE: the rigs and their views. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_rig(const tsr_rig *r) {
  printf("%s: %d views\n", r->name, r->nviews);
  for (int i = 0; i < r->nviews; i++) {
    const tsr_rig_view *v = &r->views[i];
    printf("  %-12s yaw %7.2f  pitch %6.2f  roll %6.2f  hfov %6.2f  %dx%d\n", v->name, v->yaw, v->pitch, v->roll,
           v->hfov, v->width, v->height);
  }
}

/* rig show NAME --on PANO -o coverage.png */
static int coverage(tsr_context *ctx, const char *rigname, const char *pano_path, const char *out) {
  tsr_rig *r = NULL;
  tsr_image *pano = NULL, *img = NULL;
  tsr_status st = tsr_rig_get(ctx, rigname, &r);
  if (!st) st = tsr_image_read(ctx, pano_path, 0, &pano);
  if (!st) st = tsr_rig_coverage(ctx, r, pano, &img);
  if (!st) st = tsr_image_write(ctx, img, out, NULL);
  if (st) {
    fprintf(stderr, "tessera: %s\n", tsr_context_error(ctx));
  } else {
    print_rig(r);
    printf("coverage of %d views drawn on %s: %s (labels: view numbers in the order above)\n", r->nviews, pano_path,
           out);
  }
  tsr_image_free(pano);
  tsr_image_free(img);
  tsr_rig_free(r);
  return cli_exit_code(st);
}

int cmd_rig(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "list") && strcmp(argv[1], "show")) || (!strcmp(argv[1], "show") && argc < 3)) {
    fprintf(stderr, "usage: tessera rig list\n       tessera rig show NAME|FILE.json [--on PANO -o coverage.png]\n");
    return 1;
  }
  if (!strcmp(argv[1], "show") && argc > 3) {
    const char *on = NULL, *out = NULL;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (!strcmp(argv[i], "--on")) on = argv[i + 1];
      else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) out = argv[i + 1];
    }
    if (!on || !out || argc % 2 == 0) {
      fprintf(stderr, "usage: tessera rig show NAME|FILE.json --on PANO -o coverage.png\n");
      return 1;
    }
    tsr_context_options o = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
    tsr_context *ctx = NULL;
    int rc = tsr_context_create(&o, &ctx) ? 1 : coverage(ctx, argv[2], on, out);
    tsr_context_destroy(ctx);
    return rc;
  }
  tsr_context_options o = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&o, &ctx);
  int n = 1;
  const char *const *names = tsr_rig_builtin_names(&n);
  if (!strcmp(argv[1], "show")) {
    names = (const char *const *)&argv[2];
    n = 1;
  }
  for (int i = 0; i < n && !st; i++) {
    tsr_rig *r;
    st = tsr_rig_get(ctx, names[i], &r);
    if (st) {
      fprintf(stderr, "tessera: %s\n", tsr_context_error(ctx));
      break;
    }
    print_rig(r);
    tsr_rig_free(r);
  }
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}
