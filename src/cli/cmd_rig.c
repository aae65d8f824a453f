/* tessera rig list | show NAME|FILE: the rigs and their views. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void print_rig(const tsr_rig *r) {
  printf("%s: %d views\n", r->name, r->nviews);
  for (int i = 0; i < r->nviews; i++) {
    const tsr_rig_view *v = &r->views[i];
    printf("  %-12s yaw %7.2f  pitch %6.2f  roll %6.2f  hfov %6.2f  %dx%d\n", v->name, v->yaw, v->pitch, v->roll,
           v->hfov, v->width, v->height);
  }
}

/* A rig as JSON: its name and views (the fields print_rig shows). */
static cJSON *rig_json(const tsr_rig *r) {
  cJSON *j = cJSON_CreateObject(), *views = cJSON_AddArrayToObject(j, "views");
  cJSON_AddStringToObject(j, "name", r->name);
  for (int i = 0; i < r->nviews; i++) {
    const tsr_rig_view *v = &r->views[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddNumberToObject(o, "yaw", v->yaw);
    cJSON_AddNumberToObject(o, "pitch", v->pitch);
    cJSON_AddNumberToObject(o, "roll", v->roll);
    cJSON_AddNumberToObject(o, "hfov", v->hfov);
    cJSON_AddNumberToObject(o, "width", v->width);
    cJSON_AddNumberToObject(o, "height", v->height);
    cJSON_AddItemToArray(views, o);
  }
  return j;
}

/* The panorama at width w (antialiased), or itself where it is no wider. */
static tsr_status shrink(tsr_context *ctx, tsr_image **pano, int w) {
  tsr_image *src = *pano, *dst = NULL;
  if (src->width <= w) return TSR_OK;
  double s = (double)src->width / w;
  int h = (int)(src->height / s + 0.5);
  if (h < 1) h = 1;
  const double a[6] = {s, 0, 0, 0, (double)src->height / h, 0};
  tsr_warp_view v;
  tsr_view_affine(&v, w, h, a);
  tsr_view_antialias(&v, src->width, src->height);
  tsr_status st = tsr_image_create(w, h, src->channels, src->depth, &dst);
  if (!st) st = tsr_warp(ctx, (const tsr_image *const *)&src, 1, &v, 1, TSR_INTERP_BILINEAR, TSR_BORDER_CLAMP, &dst, NULL);
  if (st) {
    tsr_image_free(dst);
    return st;
  }
  tsr_image_free(src);
  *pano = dst;
  return TSR_OK;
}

/* rig show NAME --on PANO -o coverage.png [--size W] */
static int coverage(tsr_context *ctx, const char *rigname, const char *pano_path, const char *out, int width, int json) {
  tsr_rig *r = NULL;
  tsr_image *pano = NULL, *img = NULL;
  tsr_status st = tsr_rig_get(ctx, rigname, &r);
  if (!st) st = tsr_image_read(ctx, pano_path, 0, &pano);
  if (!st) st = shrink(ctx, &pano, width);
  if (!st) st = tsr_rig_coverage(ctx, r, pano, &img);
  if (!st) st = tsr_image_write(ctx, img, out, NULL);
  if (st) {
    fprintf(stderr, "tessera: %s\n", tsr_context_error(ctx));
  } else if (json) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "rig", rig_json(r));
    cJSON_AddStringToObject(j, "panorama", pano_path);
    cJSON_AddStringToObject(j, "coverage", out);
    cJSON_AddNumberToObject(j, "width", img->width);
    cJSON_AddNumberToObject(j, "height", img->height);
    cli_print_json(j);
  } else {
    print_rig(r);
    printf("coverage of %d views drawn on %s at %dx%d: %s (labels: view numbers in the order above)\n", r->nviews,
           pano_path, img->width, img->height, out);
  }
  tsr_image_free(pano);
  tsr_image_free(img);
  tsr_rig_free(r);
  return cli_exit_code(st);
}

int cmd_rig(int argc, char **argv) {
  /* --json (here or before the command) anywhere: the same output as JSON. */
  int json = 0, m = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = 1;
    else argv[m++] = argv[i];
  }
  argc = m;
  if (argc < 2 || (strcmp(argv[1], "list") && strcmp(argv[1], "show")) || (!strcmp(argv[1], "show") && argc < 3)) {
    fprintf(stderr, "usage: tessera rig list\n       tessera rig show NAME|FILE.json [--on PANO -o coverage.png "
                    "[--size W]]\n");
    return 1;
  }
  if (!strcmp(argv[1], "show") && argc > 3) {
    const char *on = NULL, *out = NULL;
    long width = 1920; /* a screen's width: the picture is for looking at */
    int bad = argc % 2 == 0;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (!strcmp(argv[i], "--on")) on = argv[i + 1];
      else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) out = argv[i + 1];
      else if (!strcmp(argv[i], "--size")) {
        if (!cli_parse_long(argv[i + 1], 16, 65535, &width)) {
          fprintf(stderr, "tessera: rig show --size '%s' is not a width in pixels (16 to 65535)\n", argv[i + 1]);
          return 1;
        }
      } else bad = 1;
    }
    if (!on || !out || bad) {
      fprintf(stderr, "usage: tessera rig show NAME|FILE.json --on PANO -o coverage.png [--size W]\n"
                      "  --size W   width of the picture (default 1920; a wider panorama is scaled down)\n");
      return 1;
    }
    tsr_context_options o = {.struct_size = sizeof(tsr_context_options), .device = "cpu", .quiet = 1};
    tsr_context *ctx = NULL;
    int rc = tsr_context_create(&o, &ctx) ? 1 : coverage(ctx, argv[2], on, out, (int)width, json);
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
  cJSON *list = json ? cJSON_CreateArray() : NULL;
  for (int i = 0; i < n && !st; i++) {
    tsr_rig *r;
    st = tsr_rig_get(ctx, names[i], &r);
    if (st) {
      fprintf(stderr, "tessera: %s\n", tsr_context_error(ctx));
      break;
    }
    if (json) cJSON_AddItemToArray(list, rig_json(r));
    else print_rig(r);
    tsr_rig_free(r);
  }
  if (json && !st) {
    /* rig show NAME: the rig; rig list: the array of them */
    cJSON *one = !strcmp(argv[1], "show") ? cJSON_DetachItemFromArray(list, 0) : NULL;
    cli_print_json(one ? one : list);
    if (one) cJSON_Delete(list);
  } else {
    cJSON_Delete(list);
  }
  tsr_context_destroy(ctx);
  return cli_exit_code(st);
}
