/* Opens the OpenCL ICD loader at run time. */
#include <dlfcn.h>
#include <stdlib.h>

#include "runtime/cl.h"

static tsr__cl_api g_api;
static const tsr__cl_api *g_api_ptr;
static const char *g_why;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load_once(void) {
  const char *lib = getenv("TESSERA_OPENCL_LIBRARY");
  void *h = dlopen(lib && *lib ? lib : "libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    g_why = "libOpenCL.so.1 could not be loaded (install ocl-icd-libopencl1 and a driver)";
    return;
  }
#define TSR_CL_SYM(name)                                           \
  *(void **)(&g_api.name) = dlsym(h, #name);                       \
  if (!g_api.name) {                                               \
    g_why = "libOpenCL.so.1 lacks " #name " (an OpenCL 1.2 loader is needed)"; \
    return;                                                        \
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
