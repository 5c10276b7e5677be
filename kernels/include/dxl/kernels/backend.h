// Kernel backends compiled into this build, and whether a CUDA device can be used right now.
#pragma once

namespace dxl::kernels {

// "cpu-reference" or "cpu-reference, cuda (sm_90)".
const char* compiled_backends() noexcept;

// True only when this build carries the CUDA kernels AND the runtime reports at least one
// device. Any CUDA runtime error (no driver, no device, driver too old) counts as "no GPU".
bool cuda_available() noexcept;

}  // namespace dxl::kernels
