// Which kernel backend this build carries; core reports it in `dxl info`.
#include "dxl/kernels/backend.h"

#include "dxl/config.h"

namespace dxl::kernels {

const char* compiled_backends() noexcept {
#if DXL_HAVE_CUDA
    return "cpu-reference, cuda (sm_90)";
#else
    return "cpu-reference";
#endif
}

}  // namespace dxl::kernels
