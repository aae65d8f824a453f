/* A stand-in for libOpenCL.so.1 (TESSERA_OPENCL_LIBRARY) that misbehaves
 * while probing, as broken drivers do: with FAKE_ABORT clGetPlatformIDs
 * aborts (PoCL in a container without /sys), otherwise it never returns.
 * Loading it creates the file named by $FAKE_OPENCL_MARKER, so a test can
 * tell whether a run loaded OpenCL at all. The other entry points the
 * loader looks up exist and fail. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void loaded(void) {
  const char *m = getenv("FAKE_OPENCL_MARKER");
  FILE *f = m ? fopen(m, "w") : NULL;
  if (f) fclose(f);
}

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

#define STUB(name)                                                                                                   \
  int name(void);                                                                                                    \
  int name(void) { return -1; }
STUB(clGetPlatformInfo)
STUB(clGetDeviceIDs)
STUB(clGetDeviceInfo)
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
