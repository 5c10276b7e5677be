// Plain value types shared between the core (which produces them from tensors) and the Qt views
// (which draw them). Torch-, HDF5- and Qt-free (docs/architecture.md#layers): results cross the
// compute-worker ->
// GUI thread boundary by value through queued signals.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace dxl {

// A dense row-major matrix for heatmaps: attention maps (rows = queries, cols = keys), C_t states,
// alignment matrices. NaN marks masked cells (e.g. the causal upper triangle).
struct HeatmapData {
    std::vector<float> values;  // (rows, cols) row-major
    int rows = 0;
    int cols = 0;
    bool causal = false;  // cells with col > row are masked (drawn transparent, tooltip "masked")
    bool signedValues = false;  // values may be negative: use a diverging colormap centred on 0
    std::string quantity;       // what the values are, e.g. "attention probability"

    HeatmapData() = default;
    HeatmapData(int r, int c, float fill = 0.0f)
        : values(static_cast<size_t>(r) * static_cast<size_t>(c), fill), rows(r), cols(c) {}

    bool empty() const noexcept { return rows <= 0 || cols <= 0; }
    bool valid() const noexcept {
        return rows >= 0 && cols >= 0 &&
               values.size() == static_cast<size_t>(rows) * static_cast<size_t>(cols);
    }
    float at(int r, int c) const noexcept {
        return values[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
    }
    float& at(int r, int c) noexcept {
        return values[static_cast<size_t>(r) * static_cast<size_t>(cols) + static_cast<size_t>(c)];
    }
    bool masked(int r, int c) const noexcept { return (causal && c > r) || std::isnan(at(r, c)); }

    // Finite min/max over the unmasked cells ({0, 0} when there are none).
    std::pair<float, float> finiteRange() const noexcept {
        float lo = std::numeric_limits<float>::infinity();
        float hi = -std::numeric_limits<float>::infinity();
        for (int r = 0; r < rows; ++r) {
            const int cEnd = causal ? std::min(cols, r + 1) : cols;
            for (int c = 0; c < cEnd; ++c) {
                const float v = at(r, c);
                if (!std::isfinite(v)) continue;
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
        if (lo > hi) return {0.0f, 0.0f};
        return {lo, hi};
    }
};

// One named line series (x ascending).
struct Series {
    std::string name;
    std::vector<double> keys;    // (N) ascending
    std::vector<double> values;  // (N)
};

// The tokens of one input: ids always, display labels when a tokenizer exists (else the ids).
struct TokenList {
    std::vector<int64_t> ids;         // (T)
    std::vector<std::string> labels;  // (T) display text, e.g. "the" or "37"
    int size() const noexcept { return static_cast<int>(ids.size()); }
    std::string label(int i) const {
        if (i < 0 || i >= size()) return {};
        if (static_cast<size_t>(i) < labels.size() && !labels[static_cast<size_t>(i)].empty()) {
            return labels[static_cast<size_t>(i)];
        }
        return std::to_string(ids[static_cast<size_t>(i)]);
    }
};

// Scalar metrics of one attention head (teacher attention or student implicit attention).
struct HeadMetrics {
    std::string model;  // "teacher" or "student"
    int layer = 0;      // layer (teacher) or block (student)
    int head = 0;
    double entropy = 0.0;        // mean row entropy in nats (over the normalised rows)
    double meanDistance = 0.0;   // mean attention-weighted |i - j| in tokens
    double sinkMass = 0.0;       // mean mass on key 0
    double previousToken = 0.0;  // mean mass on key i - 1
    double induction = 0.0;      // mean mass on j + 1 where token j equals token i (j < i)
    double alignment = std::numeric_limits<double>::quiet_NaN();  // score of its matched head
};

// One next-token prediction.
struct Prediction {
    int64_t id = 0;
    std::string label;
    float probability = 0.0f;
};

}  // namespace dxl
