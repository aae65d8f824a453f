/* The device registry: every OpenCL device plus the CPU backend, probed once
 * per process, and the rules that pick one (auto, cpu, cl, cl:P.D, name). */
#include <ctype.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cl.h"

#define TSR_MAX_DEVICES 64

static tsr_device_info g_devs[TSR_MAX_DEVICES];
static int g_ndevs;
static const char *g_cl_note;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void read_cpu_info(tsr_device_info *d) {
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

static void cl_str(const tsr__cl_api *cl, cl_device_id dev, cl_device_info what, char *out, size_t n) {
  out[0] = 0;
  if (cl->clGetDeviceInfo(dev, what, n, out, NULL) != CL_SUCCESS) out[0] = 0;
  out[n - 1] = 0;
}

static uint64_t cl_u64(const tsr__cl_api *cl, cl_device_id dev, cl_device_info what) {
  cl_ulong v = 0;
  return cl->clGetDeviceInfo(dev, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static unsigned cl_uint_info(const tsr__cl_api *cl, cl_device_id dev, cl_device_info what) {
  cl_uint v = 0;
  return cl->clGetDeviceInfo(dev, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static void probe_cl_device(const tsr__cl_api *cl, cl_platform_id plat, const char *pname, int pi,
                            cl_device_id dev, int di, tsr_device_info *d) {
  memset(d, 0, sizeof *d);
  d->backend = TSR_BACKEND_OPENCL;
  snprintf(d->id, sizeof d->id, "cl:%d.%d", pi, di);
  snprintf(d->platform, sizeof d->platform, "%s", pname);
  cl_str(cl, dev, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
  cl_str(cl, dev, CL_DEVICE_NAME, d->name, sizeof d->name);
  cl_str(cl, dev, CL_DRIVER_VERSION, d->driver_version, sizeof d->driver_version);
  /* The language version the compiler accepts, not CL_DEVICE_VERSION (NVIDIA
   * reports 3.0 there but compiles OpenCL C 1.2). */
  cl_str(cl, dev, CL_DEVICE_OPENCL_C_VERSION, d->opencl_c_version, sizeof d->opencl_c_version);
  if (sscanf(d->opencl_c_version, "OpenCL C %d.%d", &d->cl_c_major, &d->cl_c_minor) != 2)
    d->cl_c_major = d->cl_c_minor = 0;
  cl_device_type t = 0;
  cl->clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof t, &t, NULL);
  cl_bool unified = CL_FALSE;
  cl->clGetDeviceInfo(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
  if (t & CL_DEVICE_TYPE_GPU)
    d->type = unified ? TSR_DEVTYPE_GPU_INTEGRATED : TSR_DEVTYPE_GPU_DISCRETE;
  else if (t & CL_DEVICE_TYPE_ACCELERATOR)
    d->type = TSR_DEVTYPE_ACCELERATOR;
  else if (t & CL_DEVICE_TYPE_CPU)
    d->type = TSR_DEVTYPE_CL_CPU;
  else
    d->type = TSR_DEVTYPE_OTHER;
  d->compute_units = cl_uint_info(cl, dev, CL_DEVICE_MAX_COMPUTE_UNITS);
  d->clock_mhz = cl_uint_info(cl, dev, CL_DEVICE_MAX_CLOCK_FREQUENCY);
  d->global_mem = cl_u64(cl, dev, CL_DEVICE_GLOBAL_MEM_SIZE);
  d->max_alloc = cl_u64(cl, dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  d->local_mem = cl_u64(cl, dev, CL_DEVICE_LOCAL_MEM_SIZE);
  cl_bool img = CL_FALSE;
  cl->clGetDeviceInfo(dev, CL_DEVICE_IMAGE_SUPPORT, sizeof img, &img, NULL);
  d->image_support = img == CL_TRUE;
  char ext[8192];
  cl_str(cl, dev, CL_DEVICE_EXTENSIONS, ext, sizeof ext);
  d->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
  d->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
  if (strstr(ext, "cl_amd_device_attribute_query")) {
    size_t kb[2] = {0, 0};
    if (cl->clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_FREE_MEMORY_AMD, sizeof kb, kb, NULL) == CL_SUCCESS)
      d->free_mem = (uint64_t)kb[0] * 1024;
  }
  cl_bool avail = CL_FALSE, compiler = CL_FALSE;
  cl->clGetDeviceInfo(dev, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
  cl->clGetDeviceInfo(dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
  d->usable = 1;
  if (d->cl_c_major * 10 + d->cl_c_minor < 12) {
    d->usable = 0;
    snprintf(d->unusable_reason, sizeof d->unusable_reason, "OpenCL C 1.2 needed, device has '%s'",
             d->opencl_c_version);
  } else if (!avail || !compiler) {
    d->usable = 0;
    snprintf(d->unusable_reason, sizeof d->unusable_reason, "device %s",
             !avail ? "not available" : "has no compiler");
  }
  (void)plat;
}

static void probe_once(void) {
  const tsr__cl_api *cl = tsr__cl_load(&g_cl_note);
  if (cl) {
    cl_platform_id plats[16];
    cl_uint np = 0;
    cl_int err = cl->clGetPlatformIDs(16, plats, &np);
    if (err != CL_SUCCESS || np == 0) {
      g_cl_note = err == CL_PLATFORM_NOT_FOUND_KHR || np == 0
                      ? "the OpenCL loader found no platform (no ICD installed in /etc/OpenCL/vendors, or OCL_ICD_VENDORS points elsewhere)"
                      : "clGetPlatformIDs failed";
      np = 0;
    }
    for (cl_uint p = 0; p < np; p++) {
      char pname[128] = "";
      cl->clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
      pname[sizeof pname - 1] = 0;
      cl_device_id devs[16];
      cl_uint nd = 0;
      if (cl->clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS) continue;
      for (cl_uint i = 0; i < nd && g_ndevs < TSR_MAX_DEVICES - 1; i++)
        probe_cl_device(cl, plats[p], pname, (int)p, devs[i], (int)i, &g_devs[g_ndevs++]);
    }
  }
  read_cpu_info(&g_devs[g_ndevs++]);
}

tsr_status tsr_devices(const tsr_device_info **list, int *count, const char **opencl_note) {
  if (!list || !count) return TSR_E_INVALID;
  pthread_once(&g_once, probe_once);
  *list = g_devs;
  *count = g_ndevs;
  if (opencl_note) *opencl_note = g_cl_note;
  return TSR_OK;
}

const tsr_device_info *tsr__cpu_device(void) {
  pthread_once(&g_once, probe_once);
  return &g_devs[g_ndevs - 1];
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
  pthread_once(&g_once, probe_once);
  *status = TSR_OK;
  if (!spec || !*spec) spec = "auto";
  const tsr_device_info *best = NULL;
  if (!strcmp(spec, "auto")) {
    for (int i = 0; i < g_ndevs; i++)
      if (!best || auto_rank(&g_devs[i]) > auto_rank(best)) best = &g_devs[i];
    return best;
  }
  if (!strcmp(spec, "cpu")) return tsr__cpu_device();
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
