// DXL_CUDA_CHECK: turn a failed CUDA runtime call into dxl::InternalError with the call, the CUDA
// error string and the source location. Used by every .cu file in kernels/cuda.
#pragma once

#include <cuda_runtime.h>

#include "core/base/error.h"

#define DXL_CUDA_CHECK(call)                                                         \
    do {                                                                             \
        const cudaError_t dxl_cuda_err_ = (call);                                    \
        if (dxl_cuda_err_ != cudaSuccess)                                            \
            throw ::dxl::InternalError(::dxl::detail::str_cat(                       \
                #call, ": CUDA error ", cudaGetErrorName(dxl_cuda_err_), " (",       \
                cudaGetErrorString(dxl_cuda_err_), ") at ", __FILE__, ":", __LINE__, \
                "; check the driver and device with nvidia-smi"));                   \
    } while (0)

// After a kernel launch: surfaces launch-configuration errors immediately.
#define DXL_CUDA_CHECK_LAUNCH() DXL_CUDA_CHECK(cudaGetLastError())
