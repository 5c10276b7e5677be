// Reading the autocast dtype of a device type on LibTorch 1.13 and 2.x (sibling of
// torch_compat.h, for code that must re-enter the autocast state it was called under).
#pragma once

#include <ATen/autocast_mode.h>

#include "core/runtime/torch_compat.h"

namespace dxl::compat {

inline at::ScalarType autocast_dtype(c10::DeviceType device) {
#if DXL_TORCH_AT_LEAST(2, 4)
    return at::autocast::get_autocast_dtype(device);
#else
    return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                           : at::autocast::get_autocast_cpu_dtype();
#endif
}

}  // namespace dxl::compat
