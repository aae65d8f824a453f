/* Opens the OpenCL ICD loader at run time. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/cl.h"

static tsr__cl_api g_api;
static const tsr__cl_api *g_api_ptr;
static const char *g_why;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static char g_msg[600];

static void load_once(void) {
  const char *env = getenv("TESSERA_OPENCL_LIBRARY"), *lib = env && *env ? env : "libOpenCL.so.1";
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    if (env && *env)
      snprintf(g_msg, sizeof g_msg, "TESSERA_OPENCL_LIBRARY=%s could not be loaded: %s", lib, e ? e : "dlopen failed");
    else
      snprintf(g_msg, sizeof g_msg, "%s could not be loaded (install ocl-icd-libopencl1 and a driver)", lib);
    g_why = g_msg;
    return;
  }
#define TSR_CL_SYM(name)                                                                     \
  *(void **)(&g_api.name) = dlsym(h, #name);                                                 \
  if (!g_api.name) {                                                                         \
    snprintf(g_msg, sizeof g_msg, "%s lacks " #name " (an OpenCL 1.2 loader is needed)", lib); \
    g_why = g_msg;                                                                           \
    return;                                                                                  \
  }
  TSR_CL_FUNCS(TSR_CL_SYM)
#undef TSR_CL_SYM
  /* The handle stays open for the life of the process: drivers keep
   * threads and pointers into it. */
  g_api_ptr = &g_api;
}

const tsr__cl_api *tsr__cl_load(const char **why) {
  pthread_once(&g_once, load_once);
  if (why) *why = g_why;
  return g_api_ptr;
}
