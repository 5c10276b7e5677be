// Whether c10d's NCCL process group can be used: only a CUDA build of LibTorch whose headers
// include it (pip torch 2.x) and where nccl.h is on the include path. Defines
// DXL_HAVE_NCCL_GROUP (0/1) and, when 1, includes ProcessGroupNCCL.hpp with the define it needs.
#pragma once

#include "dxl/config.h"

#if defined(DXL_TORCH_CUDA) && DXL_TORCH_CUDA && defined(__has_include)
#if __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>) && __has_include(<nccl.h>)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define DXL_HAVE_NCCL_GROUP 1
#endif
#endif
#ifndef DXL_HAVE_NCCL_GROUP
#define DXL_HAVE_NCCL_GROUP 0
#endif
