// A capture sink that keeps the requested points in memory, keyed by CaptureKey::path().
// Used by `dxl forward` and by tests; the HDF5 capture store has its own streaming sink.
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
        m_values[key.path()] = value.clone();
        return true;
    }

    const std::map<std::string, torch::Tensor>& values() const noexcept { return m_values; }

  private:
    std::set<std::string> m_points;
    std::map<std::string, torch::Tensor> m_values;  // path -> tensor (shape as observed)
};

}  // namespace dxl::capture
