// A data::Batch as tensors, and capture paths: shared by the trainer and the evaluations
// (private to core/train; torch translation units only).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/capture/capture_sink.h"
#include "core/data/dataset.h"

namespace dxl::train {

struct BatchTensors {
    torch::Tensor input;         // (B, T) int64
    torch::Tensor target;        // (B, T) int64
    torch::Tensor input_valid;   // (B, T) bool
    torch::Tensor target_valid;  // (B, T) bool
    torch::Tensor score;         // (B, T) bool
};

inline BatchTensors to_tensors(const data::Batch& b) {
    auto i64 = [&](const std::vector<int64_t>& v) {
        return torch::tensor(v, torch::kInt64).view({b.B, b.T});
    };
    auto mask = [&](const std::vector<uint8_t>& v) {
        return torch::from_blob(const_cast<uint8_t*>(v.data()), {b.B, b.T}, torch::kUInt8)
            .to(torch::kBool);
    };
    return {i64(b.input), i64(b.target), mask(b.input_valid), mask(b.target_valid), mask(b.score)};
}

inline std::string layer_path(const char* scope, int l, const char* point) {
    return capture::CaptureKey{scope, l, point}.path();
}

}  // namespace dxl::train
