/* The OpenCL runtime, private to the library: the one way every op and job
 * reaches a device.
 *
 * libOpenCL is opened with dlopen (cl_loader.c) so one binary runs with or
 * without OpenCL installed; every call goes through the table `tsr__cl_api`.
 * cl_device.c opens a context's device; registry.c keeps its programs,
 * kernels and buffers, charging every buffer to the budget ledger;
 * launch.c moves data and runs kernels; cl_cache.c is the on-disk binary
 * cache; probe.c lists the devices. */
#ifndef TSR_CL_H
#define TSR_CL_H

#include <CL/cl.h>
#include <CL/cl_ext.h>

#include "core/internal.h"

#define TSR_CL_FUNCS(X)                                                                       \
  X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo)              \
  X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue) X(clReleaseCommandQueue)    \
  X(clCreateProgramWithSource) X(clCreateProgramWithBinary) X(clBuildProgram)               \
  X(clGetProgramBuildInfo) X(clGetProgramInfo) X(clReleaseProgram) X(clCreateKernel)         \
  X(clReleaseKernel) X(clSetKernelArg) X(clCreateBuffer) X(clReleaseMemObject)               \
  X(clEnqueueWriteBuffer) X(clEnqueueReadBuffer) X(clEnqueueNDRangeKernel)                   \
  X(clEnqueueMigrateMemObjects) X(clFinish) X(clEnqueueMapBuffer)                            \
  X(clEnqueueUnmapMemObject) X(clGetKernelWorkGroupInfo) X(clWaitForEvents)                  \
  X(clReleaseEvent) X(clGetEventProfilingInfo) X(clFlush) X(clGetEventInfo)

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

/* ---- the open device ------------------------------------------------------
 * One per context, opened on first use. `lock` serialises what OpenCL does
 * not allow from several threads at once (setting a kernel's arguments
 * and enqueueing it) and guards the registry and the ledger; everything
 * else (enqueues, waits) is thread-safe in OpenCL 1.2. */
#define TSR_CL_QUEUES 2

typedef struct tsr__cl_program tsr__cl_program;
typedef struct tsr__cl_kernel_entry tsr__cl_kernel_entry;
typedef struct tsr__buf tsr__buf;

struct tsr__cl_device {
  const tsr__cl_api *api;
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue[TSR_CL_QUEUES]; /* in-order, profiling; queue[1] may equal queue[0] */
  pthread_mutex_t lock;
  tsr__cl_program *programs; /* registry: built programs by (file, options) */
  tsr__cl_kernel_entry *kernels; /* registry: kernels by (file, name) */
  tsr__buf *buffers;         /* every live buffer, held or cached */
  /* The ledger: bytes of every live buffer (device and pinned staging) of
   * every context on this device; each allocation must fit under the
   * asking context's budget. */
  uint64_t charged, peak;
  /* Test hook (TESSERA_FAULT_LAUNCH_AFTER=N): every kernel launch after the
   * first N fails as a lost device would. -1 = off. */
  long fault_launch_after, launches;
  unsigned long long use_clock; /* orders cached buffers for eviction */
};

/* Opens ctx->dev (an OpenCL device) into ctx->cl once, whichever thread
 * asks first; contexts on the same device share one open device. */
tsr_status tsr__cl_open(tsr_context *ctx);
/* Drops ctx's share of its device; the last share closes it. */
void tsr__cl_release(tsr_context *ctx);
/* Releases every buffer, kernel and program, the queues and the context. */
void tsr__cl_close(tsr__cl_device *d);
/* The registry's part of closing: every buffer, kernel and program. */
void tsr__cl_registry_release(tsr__cl_device *d);
/* Probes the OpenCL devices once per process (src/runtime/probe.c). */
void tsr__probe(void);

/* ---- programs and kernels by name (src/runtime/registry.c) -----------------
 * Kernel source by file name with every #include "x.h" replaced by the
 * header's text (each header once). From $TESSERA_KERNEL_DIR when set, else
 * from the embedded copies. *text is malloc'ed. */
tsr_status tsr__kernel_source(tsr_context *ctx, const char *file, char **text);
/* Builds (or loads from the cache) the program for `file`. Not registered:
 * tsr__cl_kernel is the way jobs get kernels. */
tsr_status tsr__cl_build(tsr_context *ctx, const char *file, const char *options, cl_program *program,
                         int *from_cache);
/* The kernel `name` of `file`, built once per device and kept by the
 * registry until the device closes. *build_s (if not NULL) receives the
 * build time of this call (0 when the program was already built) and
 * *from_cache whether the program came from the binary cache. */
tsr_status tsr__cl_kernel(tsr_context *ctx, const char *file, const char *name, cl_kernel *kernel, double *build_s,
                          int *from_cache);

/* ---- buffers and the ledger (src/runtime/registry.c) -----------------------
 * Every allocation goes through here and is charged to the device's ledger.
 * A buffer is held by its owner until released (freed) or put back in the
 * cache (kept for a later job with the same key, evicted when another
 * allocation needs the memory). */
typedef enum {
  TSR_BUF_READ = 1,   /* kernels read it */
  TSR_BUF_WRITE = 2,  /* kernels write it */
  TSR_BUF_RW = 3,
  TSR_BUF_PINNED_UP = 4,   /* host staging for uploads, mapped for writing */
  TSR_BUF_PINNED_DOWN = 5, /* host staging for downloads, mapped for reading */
  TSR_BUF_PINNED_RW = 6,   /* host staging mapped both ways */
} tsr__buf_kind;

struct tsr__buf {
  cl_mem mem;
  size_t bytes;
  tsr__buf_kind kind;
  uint8_t *host;      /* pinned staging: the mapped pointer */
  char owner[24];     /* who holds it: "warp", "merge", "bench", ... */
  uint64_t key;       /* cache key (0: not cacheable) */
  int held;           /* 0: in the cache, evictable */
  unsigned long long last_use;
  tsr__buf *next;
};

/* Allocates and charges a buffer (device buffers are made resident at once,
 * so running out of memory shows up here, not at the first launch).
 * Evicts cached buffers when the ledger would exceed the budget; returns
 * TSR_E_DEVICE_MEMORY when the budget or the device cannot hold it
 * (the caller halves its batch). Honours TESSERA_FAULT_ALLOC_ABOVE. */
tsr_status tsr__buf_alloc(tsr_context *ctx, const char *owner, tsr__buf_kind kind, size_t bytes, tsr__buf **out);
/* Frees and uncharges (NULL is ignored). */
void tsr__buf_free(tsr_context *ctx, tsr__buf *b);
/* Puts a buffer in the cache under key (it stays charged until evicted). */
void tsr__buf_keep(tsr_context *ctx, tsr__buf *b, uint64_t key);
/* Takes a cached buffer of this key and size back (held), or NULL. */
tsr__buf *tsr__buf_reuse(tsr_context *ctx, const char *owner, uint64_t key, size_t bytes);
/* The context's budget less the buffers held on its device (by any
 * context): what a job can plan with (cached buffers count as free, since
 * they are evicted on demand). */
uint64_t tsr__cl_available(tsr_context *ctx);
/* Ledger figures, for stats and tests. */
void tsr__cl_ledger(tsr_context *ctx, uint64_t *charged, uint64_t *held, uint64_t *peak, int *nbuffers);

/* ---- launches and transfers (src/runtime/launch.c) ------------------------
 * One way to move data and run kernels, for every op and the bench. Every
 * call takes an optional event to wait for and returns an event when ev is
 * not NULL (the caller releases it with tsr__cl_event_release). Blocking
 * rules: a non-blocking write reads the host memory until its event
 * completes, a non-blocking read writes it until then; the caller keeps
 * that memory alive (pinned staging does). */
typedef struct {
  size_t size;
  const void *value;
} tsr__cl_arg;
#define TSR_ARG_BUF(b) ((tsr__cl_arg){sizeof(cl_mem), &(b)->mem})
#define TSR_ARG_VAL(v) ((tsr__cl_arg){sizeof(v), &(v)})

tsr_status tsr__cl_write(tsr_context *ctx, int queue, tsr__buf *b, size_t offset, size_t bytes, const void *src,
                         int blocking, cl_event wait, cl_event *ev);
tsr_status tsr__cl_read(tsr_context *ctx, int queue, tsr__buf *b, size_t offset, size_t bytes, void *dst,
                        int blocking, cl_event wait, cl_event *ev);
/* Sets the arguments and enqueues, atomically with respect to other threads
 * using the same kernel. local may be NULL; with a local size the global
 * size is rounded up to a multiple of it. */
tsr_status tsr__cl_launch(tsr_context *ctx, int queue, cl_kernel kernel, int nargs, const tsr__cl_arg *args,
                          int dims, const size_t *global, const size_t *local, cl_event wait, cl_event *ev);
/* A 2-D work-group shape for kernels over image rows: 32 x 4 (rows of 32
 * neighbouring pixels), smaller where the kernel or device allows less. */
void tsr__cl_local_rows(tsr_context *ctx, cl_kernel kernel, size_t local[3]);
/* Waits for an event; a failed command reports its status. */
tsr_status tsr__cl_wait(tsr_context *ctx, cl_event ev);
/* Waits for everything queued on a queue. */
tsr_status tsr__cl_finish(tsr_context *ctx, int queue);
void tsr__cl_event_release(tsr_context *ctx, cl_event *ev);

/* Binary cache (src/runtime/cl_cache.c). The key hashes everything that decides the
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
