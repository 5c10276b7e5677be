// --device / --dtype resolution (see device.h).
#include <torch/torch.h>

#include "core/runtime/device.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/base/error.h"
#include "core/runtime/runtime.h"
#include "dxl/config.h"

#if DXL_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace dxl::runtime {
namespace {

const char* const kCudaRemedy =
    "use --device cpu, or build dxl against a CUDA LibTorch on a machine with an NVIDIA GPU "
    "(see docs/gpu.md)";

}  // namespace

bool torch_has_cuda() noexcept {
    return DXL_TORCH_CUDA != 0;
}

int cuda_device_count() noexcept {
    try {
        return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    } catch (...) {
        return 0;
    }
}

torch::Device resolve_device(const std::string& spec) {
    if (spec.empty() || spec == "auto")
        return cuda_device_count() > 0 ? torch::Device(torch::kCUDA, 0)
                                       : torch::Device(torch::kCPU);
    if (spec == "cpu") return torch::Device(torch::kCPU);
    int index = 0;
    if (spec != "cuda") {
        const std::string prefix = "cuda:";
        DXL_CHECK(spec.rfind(prefix, 0) == 0 && spec.size() > prefix.size() &&
                      spec.find_first_not_of("0123456789", prefix.size()) == std::string::npos &&
                      spec.size() - prefix.size() <= 4,
                  UsageError, "--device: expected auto, cpu, cuda or cuda:N, but got '", spec, "'");
        index = std::atoi(spec.c_str() + prefix.size());
    }
    DXL_CHECK(torch_has_cuda(), UnsupportedError, "--device ", spec,
              ": this dxl build has no CUDA (its LibTorch is CPU-only); ", kCudaRemedy);
    const int n = cuda_device_count();
    DXL_CHECK(n > 0, UnsupportedError, "--device ", spec,
              ": no CUDA device is visible (driver missing or CUDA_VISIBLE_DEVICES empty); ",
              kCudaRemedy);
    DXL_CHECK(index < n, UnsupportedError, "--device ", spec, ": only ", n,
              " CUDA device(s) are visible (cuda:0..cuda:", n - 1, "); pick one of them");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::optional<torch::ScalarType> parse_dtype(const std::string& spec) {
    if (spec.empty() || spec == "auto") return std::nullopt;
    if (spec == "fp32" || spec == "float32") return torch::kFloat32;
    if (spec == "bf16" || spec == "bfloat16") return torch::kBFloat16;
    if (spec == "fp16" || spec == "float16") return torch::kFloat16;
    throw UsageError("--dtype: expected auto, fp32, bf16 or fp16, but got '" + spec + "'");
}

torch::ScalarType resolve_dtype(std::optional<torch::ScalarType> requested,
                                const torch::Device& device, torch::ScalarType checkpoint_dtype) {
    torch::ScalarType t = torch::kFloat32;
    if (requested) {
        t = *requested;
    } else if (device.is_cuda() &&
               (checkpoint_dtype == torch::kBFloat16 || checkpoint_dtype == torch::kFloat16)) {
        t = checkpoint_dtype;
    }
    DXL_CHECK(!(device.is_cpu() && t == torch::kFloat16), UnsupportedError,
              "--dtype fp16: LibTorch has no half-precision matrix products on the CPU; use "
              "--dtype bf16 or fp32 on the CPU, or fp16 with --device cuda");
    return t;
}

std::string dtype_name(torch::ScalarType t) {
    switch (t) {
        case torch::kFloat32:
            return "fp32";
        case torch::kBFloat16:
            return "bf16";
        case torch::kFloat16:
            return "fp16";
        case torch::kFloat64:
            return "fp64";
        default:
            return c10::toString(t);
    }
}

std::vector<std::string> describe_devices() {
    std::vector<std::string> out;
    out.push_back("cpu: " + std::to_string(torch::get_num_threads()) + " intra-op thread(s)");
    const int n = cuda_device_count();
#if DXL_TORCH_CUDA
    for (int i = 0; i < n; ++i) {
        const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
        char line[256];
        std::snprintf(line, sizeof line, "cuda:%d: %s, %.1f GiB, compute capability %d.%d", i,
                      p->name, static_cast<double>(p->totalGlobalMem) / (1 << 30), p->major,
                      p->minor);
        out.emplace_back(line);
    }
#endif
    if (n == 0)
        out.emplace_back(torch_has_cuda() ? "cuda: none visible"
                                          : "cuda: not in this build (CPU-only LibTorch)");
    return out;
}

}  // namespace dxl::runtime
