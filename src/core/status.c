/* Status codes to text. */
#include "tessera/tessera.h"

const char *tsr_strerror(tsr_status status) {
  switch (status) {
  case TSR_OK: return "success";
  case TSR_E_INVALID: return "invalid argument";
  case TSR_E_NOMEM: return "out of host memory";
  case TSR_E_IO: return "input/output error";
  case TSR_E_FORMAT: return "unsupported or mismatched file format";
  case TSR_E_CORRUPT: return "corrupt or truncated data";
  case TSR_E_EMPTY: return "empty file";
  case TSR_E_TOO_LARGE: return "image too large";
  case TSR_E_UNSUPPORTED: return "unsupported bit depth or colour type";
  case TSR_E_DEVICE: return "OpenCL device error";
  case TSR_E_DEVICE_MEMORY: return "out of device memory";
  case TSR_E_BUILD: return "kernel build failed";
  case TSR_E_NO_DEVICE: return "no such device";
  case TSR_E_BUDGET: return "item larger than the memory budget";
  case TSR_E_CANCELLED: return "cancelled";
  case TSR_E_MISMATCH: return "output folder made with other options";
  case TSR_E_BUSY: return "output folder in use by another run";
  }
  return "unknown status";
}
