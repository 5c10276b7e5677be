# CUDA versions of the kernels (only with DXL_HAVE_CUDA; sm_90 SASS + PTX). Paths relative to kernels/.
set(DXL_KERNEL_CUDA_SOURCES cuda/runtime.cu cuda/mlstm.cu cuda/mlstm_backward.cu cuda/attention.cu cuda/align.cu)
# nvcc warnings are errors too when DXL_WERROR is on (dxl_set_warnings covers only CXX).
if(DXL_WERROR)
  set_source_files_properties(${DXL_KERNEL_CUDA_SOURCES}
                            PROPERTIES COMPILE_OPTIONS "-Werror=all-warnings;-Xcompiler=-Wall,-Wextra")
endif()
