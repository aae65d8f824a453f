/* Stand-ins for libOpenCL.so.1 (TESSERA_OPENCL_LIBRARY) that misbehave
 * while probing, as broken drivers do:
 *  - FAKE_ABORT: clGetPlatformIDs aborts (PoCL in a container without /sys);
 *  - FAKE_HANG: it never returns;
 *  - FAKE_MANY: one platform reports 20 devices, more than the prober once
 *    had room for (its fixed 16-entry arrays were overrun); the probe's
 *    four entry points answer.
 * Loading one creates the file named by $FAKE_OPENCL_MARKER, so a test can
 * tell whether a run loaded OpenCL at all. The other entry points the
 * loader looks up exist and fail. Constants are the OpenCL 1.2
 * specification's (no header: the stubs' signatures would clash with it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void loaded(void) {
  const char *m = getenv("FAKE_OPENCL_MARKER");
  FILE *f = m ? fopen(m, "w") : NULL;
  if (f) fclose(f);
}

#define STUB(name)                                                                                                   \
  int name(void);                                                                                                    \
  int name(void) { return -30; /* CL_INVALID_VALUE */ }

#ifdef FAKE_MANY
#define NDEV 20

static int answer(const void *v, size_t n, size_t size, void *value, size_t *ret) {
  if (ret) *ret = n;
  if (value) {
    if (size < n) return -30; /* CL_INVALID_VALUE */
    memcpy(value, v, n);
  }
  return 0;
}

int clGetPlatformIDs(unsigned n, void **platforms, unsigned *count) {
  if (count) *count = 1;
  if (platforms && n) platforms[0] = (void *)0x1;
  return 0;
}

int clGetPlatformInfo(void *p, unsigned what, size_t size, void *value, size_t *ret) {
  (void)p;
  if (what != 0x0902) return -30; /* CL_PLATFORM_NAME */
  return answer("Fake many-device platform", 26, size, value, ret);
}

int clGetDeviceIDs(void *p, uint64_t type, unsigned n, void **devices, unsigned *count) {
  (void)p;
  (void)type;
  if (count) *count = NDEV;
  for (unsigned i = 0; devices && i < n && i < NDEV; i++) devices[i] = (void *)(uintptr_t)(0x100 + i);
  return 0;
}

int clGetDeviceInfo(void *d, unsigned what, size_t size, void *value, size_t *ret) {
  char s[64];
  unsigned u = 1;
  uint64_t l = (uint64_t)1 << 30;
  switch (what) {
  case 0x102B: /* CL_DEVICE_NAME */
    snprintf(s, sizeof s, "fake %u", (unsigned)((uintptr_t)d - 0x100));
    return answer(s, strlen(s) + 1, size, value, ret);
  case 0x102C: return answer("Fake", 5, size, value, ret);           /* CL_DEVICE_VENDOR */
  case 0x102D: return answer("1.0", 4, size, value, ret);            /* CL_DRIVER_VERSION */
  case 0x103D: return answer("OpenCL C 1.2", 13, size, value, ret);  /* CL_DEVICE_OPENCL_C_VERSION */
  case 0x1030: return answer("", 1, size, value, ret);               /* CL_DEVICE_EXTENSIONS */
  case 0x1000: l = 4; return answer(&l, sizeof l, size, value, ret); /* CL_DEVICE_TYPE: GPU */
  case 0x1002: case 0x100C: u = 8; return answer(&u, sizeof u, size, value, ret);
  case 0x1010: case 0x101F: case 0x1023: return answer(&l, sizeof l, size, value, ret);
  case 0x1016: case 0x1035: u = 0; return answer(&u, sizeof u, size, value, ret);
  case 0x1027: case 0x1028: return answer(&u, sizeof u, size, value, ret); /* available, compiler */
  default: return -30;
  }
}
#else
int clGetPlatformIDs(unsigned n, void *platforms, unsigned *count) {
  (void)n;
  (void)platforms;
  (void)count;
#ifdef FAKE_ABORT
  abort();
#else
  for (;;) pause();
#endif
}
STUB(clGetPlatformInfo)
STUB(clGetDeviceIDs)
STUB(clGetDeviceInfo)
#endif

STUB(clCreateContext)
STUB(clReleaseContext)
STUB(clCreateCommandQueue)
STUB(clReleaseCommandQueue)
STUB(clCreateProgramWithSource)
STUB(clCreateProgramWithBinary)
STUB(clBuildProgram)
STUB(clGetProgramBuildInfo)
STUB(clGetProgramInfo)
STUB(clReleaseProgram)
STUB(clCreateKernel)
STUB(clReleaseKernel)
STUB(clSetKernelArg)
STUB(clCreateBuffer)
STUB(clReleaseMemObject)
STUB(clEnqueueWriteBuffer)
STUB(clEnqueueReadBuffer)
STUB(clEnqueueNDRangeKernel)
STUB(clEnqueueMigrateMemObjects)
STUB(clFinish)
STUB(clEnqueueMapBuffer)
STUB(clEnqueueUnmapMemObject)
STUB(clGetKernelWorkGroupInfo)
STUB(clWaitForEvents)
STUB(clReleaseEvent)
STUB(clGetEventProfilingInfo)
STUB(clFlush)
STUB(clGetEventInfo)
