/* tessera devices: what the prober found, which device auto picks, and the
 * budget and batch the planner would use on each for a reference job. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/internal.h"

/* Reference job: one 8K RGB8 equirectangular frame to 8 views of 1920x1080. */
static tsr_mem_need reference_need(void) {
  tsr_warp_view views[8];
  double ident[6] = {1, 0, 0, 0, 1, 0};
  for (int i = 0; i < 8; i++) tsr_view_affine(&views[i], 1920, 1080, ident);
  return tsr_warp_mem_need(7680, 3840, 3, 8, views, 8);
}

static double gib(uint64_t b) { return (double)b / (1024.0 * 1024 * 1024); }

int cmd_devices(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {0, 0, 0, 0}};
  cli_common o = {0};
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    int r = cli_common_opt(c, optarg, &o);
    if (r < 0) return 1;
    if (c == 'h') {
      printf("usage: tessera devices [--json] [--device D] [--mem-budget SIZE]\n");
      return 0;
    }
    if (!r) return 1;
  }
  const tsr_device_info *devs;
  int n;
  const char *note;
  tsr_devices(&devs, &n, &note);
  /* Which device a context would pick with these options. */
  tsr_context_options copts = {.struct_size = sizeof(tsr_context_options), .device = o.device, .mem_budget = o.mem_budget, .threads = o.threads, .quiet = 1};
  tsr_context *ctx = NULL;
  tsr_status st = tsr_context_create(&copts, &ctx);
  if (st) {
    fprintf(stderr, "tessera: %s\n", tsr_context_error(ctx));
    tsr_context_destroy(ctx);
    return cli_exit_code(st);
  }
  const tsr_device_info *chosen = tsr_context_device(ctx);
  uint64_t override = o.mem_budget;
  if (!override && getenv("TESSERA_MEM_BUDGET")) tsr_parse_bytes(getenv("TESSERA_MEM_BUDGET"), &override);
  tsr_mem_need need = reference_need();

  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "devices");
  cJSON_AddStringToObject(root, "tessera_version", TSR_VERSION);
  if (note) cJSON_AddStringToObject(root, "opencl_unavailable", note);
  else cJSON_AddNullToObject(root, "opencl_unavailable");
  cJSON_AddStringToObject(root, "selected", chosen->id);
  cJSON *ref = cJSON_AddObjectToObject(root, "reference_job");
  cJSON_AddStringToObject(ref, "description", "7680x3840 RGB8 frame -> 8 views of 1920x1080");
  cJSON_AddNumberToObject(ref, "bytes_per_item", (double)(need.item_bytes[0] + need.item_bytes[1]));

  if (!o.json) {
    if (note) printf("OpenCL: unavailable: %s\n\n", note);
    printf("reference job: 7680x3840 RGB8 frame -> 8 views of 1920x1080 (%.1f MiB per frame)\n\n",
           (double)(need.item_bytes[0] + need.item_bytes[1]) / (1024.0 * 1024));
  }
  for (int i = 0; i < n; i++) {
    const tsr_device_info *d = &devs[i];
    uint64_t budget = tsr_device_budget(d, override);
    tsr_plan plan;
    tsr_status pst = tsr_plan_batch(&need, budget, d->backend == TSR_BACKEND_CPU ? 0 : d->max_alloc, 1 << 20, &plan);
    int batch = pst == TSR_OK ? plan.batch : 0;
    cJSON *j = cJSON_CreateObject();
    tsr__device_identity_json(d, j);
    cJSON_AddBoolToObject(j, "selected", d == chosen);
    cJSON_AddNumberToObject(j, "local_mem_bytes", (double)d->local_mem);
    if (d->free_mem) cJSON_AddNumberToObject(j, "free_mem_bytes", (double)d->free_mem);
    cJSON_AddBoolToObject(j, "image_support", d->image_support);
    cJSON_AddBoolToObject(j, "fp16", d->fp16);
    cJSON_AddBoolToObject(j, "fp64", d->fp64);
    cJSON_AddBoolToObject(j, "usable", d->usable);
    if (!d->usable) cJSON_AddStringToObject(j, "unusable_reason", d->unusable_reason);
    cJSON_AddNumberToObject(j, "budget_bytes", (double)budget);
    cJSON_AddNumberToObject(j, "reference_batch", batch);
    cJSON_AddItemToArray(arr, j);
    if (o.json) continue;
    printf("%s %-7s %s\n", d == chosen ? "*" : " ", d->id, d->name);
    if (d->backend == TSR_BACKEND_OPENCL) {
      printf("      platform: %s | vendor: %s | driver: %s\n", d->platform, d->vendor, d->driver_version);
      printf("      type: %s | %s | compute units: %u @ %u MHz\n", tsr__device_type_name(d->type),
             d->opencl_c_version[0] ? d->opencl_c_version : "OpenCL C ?", d->compute_units, d->clock_mhz);
      printf("      memory: global %.2f GiB, max alloc %.2f GiB, local %llu KiB%s | images: %s | fp16: %s | fp64: %s\n",
             gib(d->global_mem), gib(d->max_alloc), (unsigned long long)(d->local_mem / 1024),
             d->free_mem ? " (free reported)" : "", d->image_support ? "yes" : "no", d->fp16 ? "yes" : "no",
             d->fp64 ? "yes" : "no");
    } else {
      printf("      type: %s | vendor: %s | threads: %u | RAM available: %.2f GiB\n", tsr__device_type_name(d->type), d->vendor,
             d->compute_units, gib(d->global_mem));
    }
    if (!d->usable) printf("      unusable: %s\n", d->unusable_reason);
    printf("      budget: %.2f GiB%s | reference batch: %d frame%s\n", gib(budget), override ? " (override)" : "",
           batch, batch == 1 ? "" : "s");
  }
  if (o.json) {
    char *s = cJSON_Print(root);
    puts(s);
    free(s);
  } else {
    printf("\n* = selected (%s); PoCL and other OpenCL CPU devices are used only when named.\n",
           o.device ? o.device : getenv("TESSERA_DEVICE") ? getenv("TESSERA_DEVICE") : "auto");
  }
  cJSON_Delete(root);
  tsr_context_destroy(ctx);
  return 0;
}
