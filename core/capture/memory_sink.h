// A capture sink that keeps the requested points in memory, keyed by CaptureKey::path().
// Used by `dxl forward`, `dxl align` and tests; the HDF5 capture store has its own streaming
// sink. Values are host copies (float32 for reduced-precision models).
#pragma once

#include <torch/types.h>

#include <map>
#include <set>
#include <string>

#include "core/capture/capture_sink.h"

namespace dxl::capture {

class MemorySink : public CaptureSink {
  public:
    // points: names from capture::point (e.g. "attn_probs"); empty = nothing.
    explicit MemorySink(std::set<std::string> points) : m_points(std::move(points)) {}

    bool wants(const CaptureKey& key) override { return m_points.count(key.point) > 0; }
    bool observe(const CaptureKey& key, const torch::Tensor& value) override {
        // Kept on the host in at least float32 whatever device and dtype the model runs in:
        // readers (analysis, HDF5 writers) take CPU float tensors.
        const bool reduced =
            value.scalar_type() == torch::kBFloat16 || value.scalar_type() == torch::kFloat16;
        m_values[key.path()] =
            value.to(torch::kCPU, reduced ? torch::kFloat32 : value.scalar_type(),
                     /*non_blocking=*/false, /*copy=*/true);
        return true;
    }

    const std::map<std::string, torch::Tensor>& values() const noexcept { return m_values; }

  private:
    std::set<std::string> m_points;
    std::map<std::string, torch::Tensor> m_values;  // path -> tensor (shape as observed)
};

}  // namespace dxl::capture
