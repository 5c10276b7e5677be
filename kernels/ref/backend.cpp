// Which kernel backend this build carries (core reports it in `dxl info`), and whether a CUDA
// device is usable at run time.
#include "dxl/kernels/backend.h"

#include "dxl/config.h"

namespace dxl::kernels {

#if DXL_HAVE_CUDA
namespace detail {
int cuda_device_count() noexcept;  // kernels/cuda/runtime.cu; 0 on any CUDA error
}
#endif

const char* compiled_backends() noexcept {
#if DXL_HAVE_CUDA
    return "cpu-reference, cuda (sm_90)";
#else
    return "cpu-reference";
#endif
}

bool cuda_available() noexcept {
#if DXL_HAVE_CUDA
    return detail::cuda_device_count() > 0;
#else
    return false;
#endif
}

}  // namespace dxl::kernels
