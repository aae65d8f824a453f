/* The OpenCL device prober: every platform's devices, their memory and
 * capabilities, published once per process into the core registry
 * (src/core/device.c), which adds the CPU backend and picks devices. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cl.h"

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

#define TSR_MAX_CL_DEVICES 63

static tsr_device_info g_found[TSR_MAX_CL_DEVICES];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Every platform's devices into out[] (at most max); returns the count and
 * sets *note where OpenCL is unusable. Counts first, then the lists: a
 * platform may report any number of devices. */
static int probe_all(tsr_device_info *out, int max, const char **note) {
  int n = 0;
  const tsr__cl_api *cl = tsr__cl_load(note);
  cl_platform_id *plats = NULL;
  cl_uint np = 0;
  if (cl) {
    cl_int err = cl->clGetPlatformIDs(0, NULL, &np);
    if (err == CL_SUCCESS && np > 0 && (plats = calloc(np, sizeof *plats)))
      err = cl->clGetPlatformIDs(np, plats, NULL);
    if (err != CL_SUCCESS || np == 0 || !plats) {
      *note = err == CL_PLATFORM_NOT_FOUND_KHR || np == 0
                 ? "the OpenCL loader found no platform (no ICD installed in /etc/OpenCL/vendors, or OCL_ICD_VENDORS points elsewhere)"
                 : "clGetPlatformIDs failed";
      np = 0;
    }
  }
  for (cl_uint p = 0; p < np; p++) {
    char pname[128] = "";
    cl->clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    pname[sizeof pname - 1] = 0;
    cl_uint nd = 0;
    if (cl->clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
    cl_device_id *devs = calloc(nd, sizeof *devs);
    if (devs && cl->clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL) == CL_SUCCESS)
      for (cl_uint i = 0; i < nd && n < max; i++) probe_cl_device(cl, plats[p], pname, (int)p, devs[i], (int)i, &out[n++]);
    free(devs);
  }
  free(plats);
  return n;
}

/* Whether the OpenCL runtime can be probed in this process: the probe runs
 * first in a child, so a driver that aborts (PoCL without /sys) or hangs
 * while probing costs the child, not the run. Returns 1, or 0 with *note
 * saying what happened (OpenCL then stays unloaded here and the CPU
 * backend runs). TESSERA_PROBE_TIMEOUT: seconds to wait (default 20);
 * TESSERA_PROBE_GUARD=0 probes in-process directly. */
static int probe_guarded(const char **note) {
  static char msg[700];
  const char *g = getenv("TESSERA_PROBE_GUARD");
  if (g && !strcmp(g, "0")) return 1;
  const char *t = getenv("TESSERA_PROBE_TIMEOUT");
  double timeout = t && *t ? atof(t) : 20;
  if (!(timeout > 0)) timeout = 20;
  const char *lib = getenv("TESSERA_OPENCL_LIBRARY");
  lib = lib && *lib ? lib : "libOpenCL.so.1";
  int fd[2];
  if (pipe(fd)) return 1; /* no child to be had: probe here */
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    return 1;
  }
  if (pid == 0) { /* the child: probe, say so, leave without cleanup */
    close(fd[0]);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* an aborting driver leaves no core file */
    const char *why = NULL;
    probe_all(g_found, TSR_MAX_CL_DEVICES, &why);
    char ok = 'k';
    ssize_t w = write(fd[1], &ok, 1);
    _exit(w == 1 ? 0 : 1);
  }
  close(fd[1]);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char got = 0;
  int timed_out = 0;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    double left = timeout - ((double)(now.tv_sec - t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - t0.tv_nsec));
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    struct pollfd pf = {fd[0], POLLIN, 0};
    int r = poll(&pf, 1, (int)(left * 1000) + 1);
    if ((r < 0 && errno == EINTR) || r == 0) continue; /* r == 0: the time is up, seen above */
    if (r > 0) {
      ssize_t k = read(fd[0], &got, 1);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) got = 0; /* closed without a word: the child died */
    }
    break;
  }
  close(fd[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out && got == 'k') return 1;
  if (timed_out)
    snprintf(msg, sizeof msg,
             "probing %s did not finish within %g s (a hanging driver?); the CPU backend runs "
             "(TESSERA_PROBE_TIMEOUT=S waits longer, --device cpu skips OpenCL)",
             lib, timeout);
  else if (WIFSIGNALED(status))
    snprintf(msg, sizeof msg,
             "probing %s crashed (signal %d, %s); the CPU backend runs (--device cpu skips OpenCL)", lib,
             WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    snprintf(msg, sizeof msg, "probing %s failed (exit status %d); the CPU backend runs", lib,
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  *note = msg;
  return 0;
}

static void probe_once(void) {
  const char *note = NULL;
  int n = probe_guarded(&note) ? probe_all(g_found, TSR_MAX_CL_DEVICES, &note) : 0;
  tsr__registry_publish(g_found, n, note);
}

void tsr__probe(void) { pthread_once(&g_once, probe_once); }

tsr_status tsr_devices(const tsr_device_info **list, int *count, const char **opencl_note) {
  if (!list || !count) return TSR_E_INVALID;
  tsr__probe();
  tsr__registry_get(list, count, opencl_note);
  return TSR_OK;
}
