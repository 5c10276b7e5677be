// The device a training or evaluation rank computes on: --device (or the run config's "device")
// resolved at the door by runtime::resolve_device, so `--device cuda` without CUDA exits 5 before
// anything is written; "auto" and "cuda" pick cuda:LOCAL_RANK, one GPU per local rank as torchrun
// and srun expect.
#pragma once

#include <string>

#include "core/base/error.h"
#include "core/runtime/device.h"

namespace dxl::cli {

inline std::string training_device(const std::string& spec, int local_rank) {
    torch::Device d = runtime::resolve_device(spec);
    if (d.is_cuda() && (spec == "auto" || spec == "cuda")) {
        const int n = runtime::cuda_device_count();
        DXL_CHECK(local_rank < n, UnsupportedError, "--device ", spec, ": local rank ", local_rank,
                  " needs cuda:", local_rank, " but only ", n,
                  " CUDA device(s) are visible; start at most that many ranks per machine");
        d = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
    }
    return d.str();
}

}  // namespace dxl::cli
