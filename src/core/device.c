/* The device registry: every OpenCL device (probed once per process by the
 * runtime, src/runtime/probe.c) plus the CPU backend, and the rules that
 * pick one (auto, cpu, cl, cl:P.D, name). */
#include <ctype.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

#define TSR_MAX_DEVICES 64

static tsr_device_info g_devs[TSR_MAX_DEVICES];
static int g_ndevs, g_published;
static const char *g_cl_note;
static tsr_device_info g_cpu;
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void read_cpu_info(tsr_device_info *d) {
  memset(d, 0, sizeof *d);
  snprintf(d->id, sizeof d->id, "cpu");
  snprintf(d->platform, sizeof d->platform, "tessera OpenMP");
  snprintf(d->name, sizeof d->name, "CPU");
  snprintf(d->vendor, sizeof d->vendor, "unknown");
  snprintf(d->driver_version, sizeof d->driver_version, "tessera %s", TSR_VERSION);
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    char *val = colon + 1;
    while (*val == ' ' || *val == '\t') val++;
    val[strcspn(val, "\n")] = 0;
    if (!strncmp(line, "model name", 10) && !strcmp(d->name, "CPU"))
      snprintf(d->name, sizeof d->name, "%s", val);
    else if (!strncmp(line, "vendor_id", 9) && !strcmp(d->vendor, "unknown"))
      snprintf(d->vendor, sizeof d->vendor, "%s", val);
    else if (!strncmp(line, "cpu MHz", 7) && !d->clock_mhz)
      d->clock_mhz = (unsigned)atof(val);
  }
  if (f) fclose(f);
  f = fopen("/proc/meminfo", "r");
  unsigned long long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
  if (f) fclose(f);
  d->backend = TSR_BACKEND_CPU;
  d->type = TSR_DEVTYPE_CPU_BACKEND;
  d->compute_units = (unsigned)omp_get_num_procs();
  d->global_mem = (uint64_t)kb * 1024;
  d->max_alloc = d->global_mem;
  d->free_mem = d->global_mem;
  d->fp64 = 1;
  d->usable = 1;
}

static void cpu_once(void) { read_cpu_info(&g_cpu); }

/* The runtime's prober publishes the OpenCL devices once; the CPU backend
 * is appended here. Until then (a CPU-only caller), the list holds the CPU
 * backend alone. */
void tsr__registry_publish(const tsr_device_info *cl_devs, int n, const char *opencl_note) {
  pthread_once(&g_cpu_once, cpu_once);
  pthread_mutex_lock(&g_lock);
  if (!g_published) {
    if (n > TSR_MAX_DEVICES - 1) n = TSR_MAX_DEVICES - 1;
    for (int i = 0; i < n; i++) g_devs[i] = cl_devs[i];
    g_devs[n] = g_cpu;
    g_ndevs = n + 1;
    g_cl_note = opencl_note;
    g_published = 1;
  }
  pthread_mutex_unlock(&g_lock);
}

void tsr__registry_get(const tsr_device_info **list, int *count, const char **opencl_note) {
  pthread_once(&g_cpu_once, cpu_once);
  pthread_mutex_lock(&g_lock);
  if (!g_published) {
    *list = &g_cpu;
    *count = 1;
  } else {
    *list = g_devs;
    *count = g_ndevs;
  }
  if (opencl_note) *opencl_note = g_cl_note;
  pthread_mutex_unlock(&g_lock);
}

const tsr_device_info *tsr__cpu_device(void) {
  const tsr_device_info *l;
  int n;
  tsr__registry_get(&l, &n, NULL);
  return &l[n - 1];
}

static int auto_rank(const tsr_device_info *d) {
  if (!d->usable) return 0;
  switch (d->type) {
  case TSR_DEVTYPE_GPU_DISCRETE: return 4;
  case TSR_DEVTYPE_GPU_INTEGRATED: return 3;
  case TSR_DEVTYPE_ACCELERATOR: return 2;
  case TSR_DEVTYPE_CPU_BACKEND: return 1;
  default: return 0; /* OpenCL CPU devices (PoCL) only when named */
  }
}

static int contains_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (!strncasecmp(hay, needle, n)) return 1;
  return 0;
}

const tsr_device_info *tsr__device_find(const char *spec, tsr_status *status, char *why, size_t whylen) {
  const tsr_device_info *g_devs;
  int g_ndevs;
  const char *g_cl_note;
  tsr__registry_get(&g_devs, &g_ndevs, &g_cl_note);
  *status = TSR_OK;
  if (!spec || !*spec) spec = "auto";
  const tsr_device_info *best = NULL;
  if (!strcmp(spec, "auto")) {
    for (int i = 0; i < g_ndevs; i++)
      if (!best || auto_rank(&g_devs[i]) > auto_rank(best)) best = &g_devs[i];
    return best;
  }
  if (!strcmp(spec, "cpu")) return &g_devs[g_ndevs - 1];
  if (!strcmp(spec, "cl")) {
    /* The best usable OpenCL device of any type, PoCL included. */
    for (int i = 0; i < g_ndevs; i++)
      if (g_devs[i].backend == TSR_BACKEND_OPENCL && g_devs[i].usable &&
          (!best || auto_rank(&g_devs[i]) > auto_rank(best)))
        best = &g_devs[i];
    if (best) return best;
    snprintf(why, whylen, "no usable OpenCL device%s%s", g_cl_note ? ": " : "", g_cl_note ? g_cl_note : "");
    *status = TSR_E_NO_DEVICE;
    return NULL;
  }
  for (int i = 0; i < g_ndevs; i++)
    if (!strcmp(spec, g_devs[i].id)) best = &g_devs[i];
  if (!best && strncmp(spec, "cl:", 3))
    for (int i = 0; i < g_ndevs && !best; i++)
      if (g_devs[i].backend == TSR_BACKEND_OPENCL &&
          (contains_ci(g_devs[i].name, spec) || contains_ci(g_devs[i].platform, spec) ||
           contains_ci(g_devs[i].vendor, spec)))
        best = &g_devs[i];
  if (!best) {
    snprintf(why, whylen, "no device matches '%s' (see 'tessera devices')%s%s", spec,
             g_cl_note ? "; " : "", g_cl_note ? g_cl_note : "");
    *status = TSR_E_NO_DEVICE;
    return NULL;
  }
  if (!best->usable) {
    snprintf(why, whylen, "device %s (%s) cannot be used: %s", best->id, best->name, best->unusable_reason);
    *status = TSR_E_NO_DEVICE;
    return NULL;
  }
  return best;
}

const char *tsr__device_type_name(tsr_device_type t) {
  static const char *n[] = {"cpu-backend", "gpu-discrete", "gpu-integrated", "accelerator", "opencl-cpu", "other"};
  return (unsigned)t < sizeof n / sizeof *n ? n[t] : "other";
}

void tsr__device_identity_json(const tsr_device_info *d, struct cJSON *j) {
  cJSON_AddStringToObject(j, "id", d->id);
  cJSON_AddStringToObject(j, "backend", d->backend == TSR_BACKEND_CPU ? "cpu" : "opencl");
  cJSON_AddStringToObject(j, "type", tsr__device_type_name(d->type));
  cJSON_AddStringToObject(j, "platform", d->platform);
  cJSON_AddStringToObject(j, "vendor", d->vendor);
  cJSON_AddStringToObject(j, "name", d->name);
  cJSON_AddStringToObject(j, "driver_version", d->driver_version);
  cJSON_AddStringToObject(j, "opencl_c_version", d->opencl_c_version);
  cJSON_AddNumberToObject(j, "compute_units", d->compute_units);
  cJSON_AddNumberToObject(j, "clock_mhz", d->clock_mhz);
  cJSON_AddNumberToObject(j, "global_mem_bytes", (double)d->global_mem);
  cJSON_AddNumberToObject(j, "max_alloc_bytes", (double)d->max_alloc);
}
