// Kernel backends compiled into this build.
#pragma once

namespace dxl::kernels {

// "cpu-reference" or "cpu-reference, cuda (sm_90)".
const char* compiled_backends() noexcept;

}  // namespace dxl::kernels
