# Finds tessera's dependencies. A missing one stops configure with the name of
# the Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config")
endif()

function(tsr_require_pkg module debpkg)
  pkg_check_modules(_tsr_${module} QUIET ${module})
  if(NOT _tsr_${module}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debpkg}")
  endif()
endfunction()

tsr_require_pkg(libpng libpng-dev)
tsr_require_pkg(libturbojpeg libturbojpeg0-dev)
tsr_require_pkg(libjpeg libjpeg-dev)
tsr_require_pkg(libcjson libcjson-dev)
tsr_require_pkg(libxxhash libxxhash-dev)
tsr_require_pkg(libavformat libavformat-dev)
tsr_require_pkg(libavcodec libavcodec-dev)
tsr_require_pkg(libavutil libavutil-dev)
tsr_require_pkg(libswscale libswscale-dev)
pkg_check_modules(TSR_DEPS REQUIRED IMPORTED_TARGET libpng libturbojpeg libjpeg libcjson libxxhash
  libavformat libavcodec libavutil libswscale)

# OpenCL: only the headers are needed at build time; the ICD loader
# (libOpenCL.so.1) is opened at run time, so the binary also runs without it.
find_path(OpenCL_INCLUDE_DIR CL/cl.h)
if(NOT OpenCL_INCLUDE_DIR)
  message(FATAL_ERROR "OpenCL headers (CL/cl.h) not found: apt-get install opencl-headers ocl-icd-opencl-dev")
endif()

find_package(OpenMP COMPONENTS C)
if(NOT OpenMP_C_FOUND)
  message(FATAL_ERROR "OpenMP not found: apt-get install libgomp1 (gcc) or libomp-dev (clang)")
endif()
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
