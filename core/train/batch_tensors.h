// A data::Batch as tensors, and capture paths: shared by the trainer and the evaluations
// (private to core/train; torch translation units only).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/capture/capture_sink.h"
#include "core/data/dataset.h"
#include "core/models/language_model.h"

namespace dxl::train {

struct BatchTensors {
    torch::Tensor input;         // (B, T) int64
    torch::Tensor target;        // (B, T) int64
    torch::Tensor input_valid;   // (B, T) bool
    torch::Tensor target_valid;  // (B, T) bool
    torch::Tensor score;         // (B, T) bool
};

// The batch on `device`: on CUDA through pinned host memory with non-blocking copies, so the
// transfer overlaps the work already queued.
inline BatchTensors to_tensors(const data::Batch& b, const torch::Device& device = torch::kCPU) {
    const bool cuda = device.is_cuda();
    auto move = [&](torch::Tensor t) {
        if (!cuda) return t;
        return t.pin_memory().to(device, /*non_blocking=*/true);
    };
    auto i64 = [&](const std::vector<int64_t>& v) {
        return move(torch::tensor(v, torch::kInt64).view({b.B, b.T}));
    };
    auto mask = [&](const std::vector<uint8_t>& v) {
        return move(torch::from_blob(const_cast<uint8_t*>(v.data()), {b.B, b.T}, torch::kUInt8)
                        .to(torch::kBool));
    };
    return {i64(b.input), i64(b.target), mask(b.input_valid), mask(b.target_valid), mask(b.score)};
}

// Where a model's parameters live (the CPU for a model without parameters).
inline torch::Device model_device(models::LanguageModel& m) {
    for (const auto& p : m.module().parameters())
        return p.device();
    return torch::kCPU;
}

inline std::string layer_path(const char* scope, int l, const char* point) {
    return capture::CaptureKey{scope, l, point}.path();
}

}  // namespace dxl::train
