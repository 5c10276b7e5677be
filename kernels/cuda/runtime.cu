// CUDA runtime glue: device discovery for cuda_available() and the small device-memory helpers
// declared in dxl/kernels/cuda_memory.h (used by tests and benches, which stay free of CUDA
// headers).
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_check.cuh"
#include "dxl/kernels/cuda_memory.h"

namespace dxl::kernels {
namespace detail {

int cuda_device_count() noexcept {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();  // reset the (non-sticky) error so later calls start clean
        return 0;
    }
    return n;
}

}  // namespace detail

void* cuda_malloc(std::size_t bytes) {
    void* p = nullptr;
    DXL_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
}

void cuda_free(void* ptr) noexcept {
    if (ptr) (void)cudaFree(ptr);
}

void cuda_copy_to_device(void* dst, const void* src, std::size_t bytes) {
    DXL_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void cuda_copy_to_host(void* dst, const void* src, std::size_t bytes) {
    DXL_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void cuda_synchronize() {
    DXL_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace dxl::kernels
