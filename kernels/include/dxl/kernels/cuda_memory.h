// Minimal device-memory helpers so that tests and benches can drive the CUDA kernels without
// including CUDA headers. Defined only with DXL_HAVE_CUDA; every failure throws dxl::InternalError
// naming the call and the CUDA error string.
#pragma once

#include <cstddef>

namespace dxl::kernels {

void* cuda_malloc(std::size_t bytes);
void cuda_free(void* ptr) noexcept;
void cuda_copy_to_device(void* dst, const void* src, std::size_t bytes);
void cuda_copy_to_host(void* dst, const void* src, std::size_t bytes);
void cuda_synchronize();  // also surfaces asynchronous kernel errors

}  // namespace dxl::kernels
