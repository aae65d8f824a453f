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

int cmd_rig(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "list") && strcmp(argv[1], "show")) || (!strcmp(argv[1], "show") && argc < 3)) {
    fprintf(stderr, "usage: tessera rig list\n       tessera rig show NAME|FILE.json\n");
    return 1;
  }
  tsr_context_options o = {.device = "cpu", .quiet = 1};
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
