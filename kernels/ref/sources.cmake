# Plain C++ references of every kernel (always built; also the CPU fallback). Paths relative to kernels/.
set(DXL_KERNEL_REF_SOURCES ref/backend.cpp ref/mlstm_ref.cpp ref/attention_ref.cpp ref/align_ref.cpp)
