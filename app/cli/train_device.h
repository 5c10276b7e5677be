// The device a training or evaluation rank computes on: --device (or the run config's "device")
// resolved at the door, so `--device cuda` without CUDA exits 5 (UnsupportedError) before
// anything is written; "auto" and "cuda" pick cuda:LOCAL_RANK, one GPU per local rank as torchrun
// and srun expect.
#pragma once

#include <torch/cuda.h>
#include <torch/types.h>

#include <string>

#include "core/base/error.h"

namespace dxl::cli {

inline std::string training_device(const std::string& spec, int local_rank) {
    const bool cuda_there = torch::cuda::is_available();
    const int n = cuda_there ? static_cast<int>(torch::cuda::device_count()) : 0;
    if (spec == "auto" && !cuda_there) return "cpu";
    torch::Device d = torch::kCPU;
    try {
        d = torch::Device(spec == "auto" ? std::string("cuda") : spec);
    } catch (const std::exception&) {
        throw UsageError("--device: expected auto|cpu|cuda|cuda:N, but got '" + spec + "'");
    }
    DXL_CHECK(d.is_cpu() || d.is_cuda(), UsageError,
              "--device: expected auto|cpu|cuda|cuda:N, but got '", spec, "'");
    if (d.is_cpu()) return "cpu";
    DXL_CHECK(cuda_there, UnsupportedError, "--device ", spec,
              ": this dxl has no usable CUDA device (CPU-only LibTorch or no GPU); use --device "
              "cpu, or the GPU build of the README on a machine with an NVIDIA GPU");
    const int index = d.has_index() ? d.index() : local_rank;
    DXL_CHECK(
        index < n, UnsupportedError, "--device ", spec, ": cuda:", index, " is needed but only ", n,
        " CUDA device(s) are visible; ",
        d.has_index() ? "choose a visible device" : "start at most that many ranks per machine");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index)).str();
}

}  // namespace dxl::cli
