/* The OpenCL runtime, private to the library.
 *
 * libOpenCL is opened with dlopen (src/cl_loader.c) so one binary runs with
 * or without OpenCL installed; every call goes through the table `tsr__cl`.
 * src/cl_program.c owns devices, contexts, queues and programs (with the
 * on-disk binary cache of src/cl_cache.c). */
#ifndef TSR_CL_H
#define TSR_CL_H

#include <CL/cl.h>
#include <CL/cl_ext.h>

#include "internal.h"

#define TSR_CL_FUNCS(X)                                                                       \
  X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo)              \
  X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue)    \
  X(clCreateProgramWithSource) X(clCreateProgramWithBinary) X(clBuildProgram)               \
  X(clGetProgramBuildInfo) X(clGetProgramInfo) X(clReleaseProgram) X(clCreateKernel)         \
  X(clReleaseKernel) X(clSetKernelArg) X(clCreateBuffer) X(clReleaseMemObject)               \
  X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueNDRangeKernel)                   \
  X(clEnqueueMigrateMemObjects) X(clFinish) X(clEnqueueMapBuffer)                            \
  X(clEnqueueUnmapMemObject) X(clGetKernelWorkGroupInfo) X(clWaitForEvents)                  \
  X(clReleaseEvent) X(clGetEventProfilingInfo) X(clFlush)

typedef struct {
#define TSR_CL_PTR(name) __typeof__(name) *name;
  TSR_CL_FUNCS(TSR_CL_PTR)
#undef TSR_CL_PTR
} tsr__cl_api;

/* Opens libOpenCL once per process ($TESSERA_OPENCL_LIBRARY, else
 * libOpenCL.so.1). Returns the table, or NULL with a static reason. */
const tsr__cl_api *tsr__cl_load(const char **why);

/* "CL_INVALID_WORK_GROUP_SIZE" for -54, etc. */
const char *tsr__cl_errname(cl_int err);

/* A device opened for computing: context, queue and built programs. */
struct tsr__cl_device {
  const tsr__cl_api *api;
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  cl_command_queue queue2; /* a second in-order queue, so transfers overlap kernels; may be NULL */
  cl_program warp_program;
  cl_kernel warp_kernel;
  int warp_from_cache; /* 1 when the warp program came from the binary cache */
  cl_program merge_program;
  cl_kernel merge_kernel;
  cl_program copy_program; /* the bench's copy kernel (cl/copy.cl) */
  cl_kernel copy_kernel;
  struct tsr__warp_buffers *warp_buffers; /* kept between warp jobs (src/warp_cl.c) */
};

/* Frees the warp's kept buffers (src/warp_cl.c). */
void tsr__warp_cl_release(tsr__cl_device *d);

/* Resolves a device id from the registry to its cl_platform_id/cl_device_id. */
tsr_status tsr__cl_lookup(tsr_context *ctx, const tsr_device_info *info, cl_platform_id *platform,
                          cl_device_id *device);
/* Opens ctx->dev (an OpenCL device) into ctx->cl if not open yet. */
tsr_status tsr__cl_open(tsr_context *ctx);
void tsr__cl_close(tsr__cl_device *d);

/* Kernel source by file name with every #include "x.h" replaced by the
 * header's text (each header once). From $TESSERA_KERNEL_DIR when set, else
 * from the embedded copies. *text is malloc'ed. */
tsr_status tsr__kernel_source(tsr_context *ctx, const char *file, char **text);

/* Builds (or loads from the cache) the program for `file` on the open device. */
tsr_status tsr__cl_build(tsr_context *ctx, const char *file, const char *options,
                         cl_program *program, int *from_cache);

/* On the open device (tsr__cl_open): builds `file` into *program once and
 * creates the kernel `name` into *kernel once (both owned by the device). */
tsr_status tsr__cl_kernel(tsr_context *ctx, const char *file, const char *name, cl_program *program,
                          cl_kernel *kernel, int *from_cache);

/* Creates a buffer and makes the device back it now: OpenCL allocates
 * lazily, so without this an out-of-memory error would surface at the first
 * kernel launch instead of where the batch is sized. Honours the
 * TESSERA_FAULT_ALLOC_ABOVE test hook. */
cl_int tsr__cl_alloc(tsr_context *ctx, size_t bytes, cl_mem_flags flags, cl_mem *out);

/* Binary cache (src/cl_cache.c). The key hashes everything that decides the
 * binary: source, options, platform, device and driver. */
typedef struct {
  char dir[4096];
  int enabled;
} tsr__cache;
void tsr__cache_init(tsr__cache *c);
uint64_t tsr__cache_key(const char *source, const char *options, const char *platform,
                        const char *device, const char *driver);
/* Returns a malloc'ed binary or NULL (missing, corrupt, or mismatched). */
uint8_t *tsr__cache_get(const tsr__cache *c, uint64_t key, size_t *size);
/* Writes atomically; failures are ignored (the cache is an optimisation). */
void tsr__cache_put(const tsr__cache *c, uint64_t key, const uint8_t *bin, size_t size);
void tsr__cache_path(const tsr__cache *c, uint64_t key, char *path, size_t len);

/* A command's duration from its profiling event; 0 when the queue gives
 * no profiling times. */
double tsr__cl_event_seconds(const tsr__cl_api *cl, cl_event ev);

/* Reports a failed CL call: "clCreateBuffer failed: CL_OUT_OF_RESOURCES". */
tsr_status tsr__cl_fail(tsr_context *ctx, const char *call, cl_int err);
/* True for the errors that mean "out of device memory". */
int tsr__cl_is_oom(cl_int err);

#endif
