# tsr_embed_kernels(<out-var> OUTPUT <file.c> KERNELS <.cl...> HEADERS <.h...>)
# Generates a C file holding every kernel and shared header as a byte array,
# looked up by file name at run time (src/cl_program.c resolves the
# #include "..." lines). The custom command depends on every file, so an edit
# to any kernel or shared header regenerates it.
set(_TSR_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/EmbedKernelsRun.cmake)

function(tsr_embed_kernels outvar)
  cmake_parse_arguments(E "" "OUTPUT" "KERNELS;HEADERS" ${ARGN})
  set(files ${E_KERNELS} ${E_HEADERS})
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUT=${E_OUTPUT} "-DFILES=${files_arg}" -P ${_TSR_EMBED_SCRIPT}
    DEPENDS ${files} ${_TSR_EMBED_SCRIPT}
    COMMENT "Embedding OpenCL kernel sources"
    VERBATIM)
  set(${outvar} ${E_OUTPUT} PARENT_SCOPE)
endfunction()
